// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IDataMarket} from "../interfaces/IDataMarket.sol";

/// @title DataMarket
/// @notice Lists SensorSeal data products and sells them: each purchase pays the operator's fee to the treasury and
/// the contributor pool to the RewardDistributor, in the same transaction. See docs/MARKET.md.
/// @dev Trust assumptions:
/// - The operator (OPERATOR_ROLE) is trusted to list scopes it validated off-chain; it cannot change a product's
///   scope, token or access period, nor what a past purchase paid: a buyer passes the token and price it agreed to.
/// - The admin sets the fee (at most {MAX_FEE_BPS}, future purchases only), the treasury and accepted tokens.
/// - Accepted tokens are trusted to be plain ERC-20s (no fee on transfer): the split is computed on the price.
/// - The pauser stops purchases only; claims live in the distributor and never depend on this contract.
/// - The market holds no funds: every purchase moves them straight to the treasury and the distributor.
contract DataMarket is IDataMarket, AccessControl, Pausable {
    /// @inheritdoc IDataMarket
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @inheritdoc IDataMarket
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IDataMarket
    uint16 public constant MAX_FEE_BPS = 5_000;

    uint256 private constant BPS = 10_000;

    address private immutable _distributor;
    address private _treasury;
    uint16 private _feeBps;
    uint256 private _productCount;
    uint256 private _purchaseCount;
    mapping(uint256 productId => Product) private _products;
    mapping(uint256 purchaseId => Purchase) private _purchases;
    mapping(address token => Revenue) private _revenue;
    mapping(address token => bool) private _accepted;

    /// @param admin Granted DEFAULT_ADMIN_ROLE.
    /// @param operator Granted OPERATOR_ROLE and PAUSER_ROLE.
    /// @param distributor_ The RewardDistributor the contributor pools go to.
    /// @param treasury_ Where fees go.
    /// @param feeBps_ The operator's fee, in basis points.
    /// @param token The first accepted settlement token.
    constructor(
        address admin,
        address operator,
        address distributor_,
        address treasury_,
        uint16 feeBps_,
        address token
    ) {
        if (distributor_ == address(0)) revert DataMarketZeroAddress();
        _distributor = distributor_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(PAUSER_ROLE, operator);
        _setTreasury(treasury_);
        _setFee(feeBps_);
        _setTokenAccepted(token, true);
    }

    // ---------------------------------------------------------------- products

    /// @inheritdoc IDataMarket
    function list(
        bytes32 scopeHash,
        address token,
        uint256 price,
        uint64 accessPeriod
    ) external onlyRole(OPERATOR_ROLE) returns (uint256 productId) {
        if (scopeHash == bytes32(0)) revert DataMarketZeroScope();
        if (!_accepted[token]) revert DataMarketTokenNotAccepted(token);
        _checkPrice(price);
        if (accessPeriod == 0) revert DataMarketZeroAccessPeriod();
        productId = ++_productCount;
        _products[productId] = Product({
            scopeHash: scopeHash,
            token: token,
            accessPeriod: accessPeriod,
            status: ProductStatus.Active,
            price: price
        });
        emit ProductListed(productId, scopeHash, token, price, accessPeriod);
    }

    /// @inheritdoc IDataMarket
    function reprice(uint256 productId, uint256 price) external onlyRole(OPERATOR_ROLE) {
        Product storage product = _activeProduct(productId);
        _checkPrice(price);
        uint256 oldPrice = product.price;
        product.price = price;
        emit ProductRepriced(productId, oldPrice, price);
    }

    /// @inheritdoc IDataMarket
    function retire(uint256 productId) external onlyRole(OPERATOR_ROLE) {
        _activeProduct(productId).status = ProductStatus.Retired;
        emit ProductRetired(productId);
    }

    // ---------------------------------------------------------------- purchases

    /// @inheritdoc IDataMarket
    function purchase(uint256 productId, address token, uint256 price) external whenNotPaused returns (uint256) {
        return _purchase(productId, token, price);
    }

    /// @inheritdoc IDataMarket
    function purchaseWithPermit(
        uint256 productId,
        address token,
        uint256 price,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external whenNotPaused returns (uint256) {
        if (block.timestamp > deadline) revert DataMarketPermitExpired(deadline);
        // A permit front-run by someone else fails here but leaves the allowance: the transfer decides.
        try IERC20Permit(token).permit(msg.sender, address(this), price, deadline, v, r, s) {} catch {} // solhint-disable-line no-empty-blocks
        return _purchase(productId, token, price);
    }

    // ---------------------------------------------------------------- administration

    /// @inheritdoc IDataMarket
    function setFee(uint16 feeBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setFee(feeBps_);
    }

    /// @inheritdoc IDataMarket
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    /// @inheritdoc IDataMarket
    function setTokenAccepted(address token, bool accepted) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTokenAccepted(token, accepted);
    }

    /// @inheritdoc IDataMarket
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IDataMarket
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IDataMarket
    function getProduct(uint256 productId) external view returns (Product memory) {
        return _products[productId];
    }

    /// @inheritdoc IDataMarket
    function getPurchase(uint256 purchaseId) external view returns (Purchase memory) {
        return _purchases[purchaseId];
    }

    /// @inheritdoc IDataMarket
    function hasAccess(uint256 purchaseId) external view returns (bool) {
        return block.timestamp < _purchases[purchaseId].expiresAt;
    }

    /// @inheritdoc IDataMarket
    function productCount() external view returns (uint256) {
        return _productCount;
    }

    /// @inheritdoc IDataMarket
    function purchaseCount() external view returns (uint256) {
        return _purchaseCount;
    }

    /// @inheritdoc IDataMarket
    function revenue(address token) external view returns (Revenue memory) {
        return _revenue[token];
    }

    /// @inheritdoc IDataMarket
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @inheritdoc IDataMarket
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IDataMarket
    function distributor() external view returns (address) {
        return _distributor;
    }

    /// @inheritdoc IDataMarket
    function isTokenAccepted(address token) external view returns (bool) {
        return _accepted[token];
    }

    // ---------------------------------------------------------------- internals

    /// @dev Records the purchase, then moves `fee` to the treasury and `price - fee` to the distributor.
    function _purchase(uint256 productId, address token, uint256 price) private returns (uint256 purchaseId) {
        Product storage product = _activeProduct(productId);
        if (token != product.token) revert DataMarketWrongToken(productId, token, product.token);
        if (price != product.price) revert DataMarketPriceChanged(productId, price, product.price);
        // price < 2^128 (checked when listed), so neither product overflows nor the casts truncate.
        uint256 fee = (price * _feeBps) / BPS;
        uint256 pool = price - fee;
        uint64 expiresAt = uint64(block.timestamp) + product.accessPeriod;
        purchaseId = ++_purchaseCount;
        _purchases[purchaseId] = Purchase({
            buyer: msg.sender,
            productId: uint48(productId),
            paidAt: uint48(block.timestamp),
            expiresAt: expiresAt,
            price: uint128(price),
            fee: uint128(fee)
        });
        Revenue storage rev = _revenue[token];
        rev.paid += uint128(price);
        rev.fees += uint128(fee);
        emit Purchased(purchaseId, productId, msg.sender, token, price, fee, pool, product.scopeHash, expiresAt);
        if (fee != 0) SafeERC20.safeTransferFrom(IERC20(token), msg.sender, _treasury, fee);
        if (pool != 0) SafeERC20.safeTransferFrom(IERC20(token), msg.sender, _distributor, pool);
    }

    /// @dev The product, reverting unless it is active.
    function _activeProduct(uint256 productId) private view returns (Product storage product) {
        product = _products[productId];
        if (product.status == ProductStatus.None) revert DataMarketUnknownProduct(productId);
        if (product.status == ProductStatus.Retired) revert DataMarketProductRetired(productId);
    }

    /// @dev Reverts unless the price is from 1 to 2^128 - 1, and the product id fits a purchase record.
    function _checkPrice(uint256 price) private pure {
        if (price == 0 || price > type(uint128).max) revert DataMarketInvalidPrice(price);
    }

    function _setFee(uint16 feeBps_) private {
        if (feeBps_ > MAX_FEE_BPS) revert DataMarketFeeTooHigh(feeBps_, MAX_FEE_BPS);
        _feeBps = feeBps_;
        emit FeeUpdated(feeBps_);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert DataMarketZeroAddress();
        _treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }

    function _setTokenAccepted(address token, bool accepted) private {
        if (token == address(0)) revert DataMarketZeroAddress();
        _accepted[token] = accepted;
        emit TokenAcceptanceUpdated(token, accepted);
    }
}
