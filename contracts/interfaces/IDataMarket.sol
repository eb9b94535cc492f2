// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDataMarket
/// @notice Sells SensorSeal data products on the reward (financial) chain. A product is a scope of authenticated
/// readings, described off-chain as canonical JSON whose hash is on-chain, sold for a price in a settlement ERC-20
/// for an access period. A purchase pays the operator's fee to the treasury and the contributor pool to the
/// RewardDistributor, which pays contributors their shares once the oracle committee posts them. No event or
/// storage carries data: only hashes, addresses and amounts. See docs/MARKET.md.
/// @dev Roles: DEFAULT_ADMIN_ROLE (fee, treasury, accepted tokens, roles), OPERATOR_ROLE (list, reprice, retire),
/// PAUSER_ROLE (pause purchases). The market never holds funds.
interface IDataMarket {
    /// @notice A product's lifecycle: listed products are Active until retired, for good.
    enum ProductStatus {
        None,
        Active,
        Retired
    }

    /// @notice A data product.
    /// @param scopeHash `keccak256` of the product's canonical JSON scope (RFC 8785); never changes.
    /// @param token The settlement ERC-20; never changes.
    /// @param price The price of future purchases, in the token's smallest unit.
    /// @param accessPeriod How long, in seconds, a purchase grants access; never changes.
    /// @param status Active or Retired.
    struct Product {
        bytes32 scopeHash;
        address token;
        uint64 accessPeriod;
        ProductStatus status;
        uint256 price;
    }

    /// @notice A purchase, as paid; never changes.
    /// @param buyer Who paid, and who is granted access.
    /// @param productId The product bought.
    /// @param paidAt The block time of the purchase.
    /// @param expiresAt When access ends: `paidAt + accessPeriod`.
    /// @param price What was paid: `fee + contributor pool`.
    /// @param fee The operator's fee, paid to the treasury.
    struct Purchase {
        address buyer;
        uint48 productId;
        uint48 paidAt;
        uint64 expiresAt;
        uint128 price;
        uint128 fee;
    }

    /// @notice Totals paid in one settlement token.
    /// @param paid Everything buyers paid.
    /// @param fees The operator's fees; `paid - fees` went to the distributor as contributor pools.
    struct Revenue {
        uint128 paid;
        uint128 fees;
    }

    /// @notice Thrown when naming a product that was never listed.
    /// @param productId The product.
    error DataMarketUnknownProduct(uint256 productId);

    /// @notice Thrown when buying, repricing or retiring a retired product.
    /// @param productId The product.
    error DataMarketProductRetired(uint256 productId);

    /// @notice Thrown when a purchase names another token than the product's.
    /// @param productId The product.
    /// @param token The token given.
    /// @param expected The product's token.
    error DataMarketWrongToken(uint256 productId, address token, address expected);

    /// @notice Thrown when a purchase names another price than the product's current one (it was repriced).
    /// @param productId The product.
    /// @param price The price given.
    /// @param current The current price.
    error DataMarketPriceChanged(uint256 productId, uint256 price, uint256 current);

    /// @notice Thrown when a permit's deadline is past.
    /// @param deadline The deadline.
    error DataMarketPermitExpired(uint256 deadline);

    /// @notice Thrown when listing with a token the admin has not accepted.
    /// @param token The token.
    error DataMarketTokenNotAccepted(address token);

    /// @notice Thrown when listing with a zero scope hash.
    error DataMarketZeroScope();

    /// @notice Thrown when listing or repricing at zero, or above what a purchase can record (2^128 - 1).
    /// @param price The price.
    error DataMarketInvalidPrice(uint256 price);

    /// @notice Thrown when listing with a zero access period.
    error DataMarketZeroAccessPeriod();

    /// @notice Thrown when setting a fee above {MAX_FEE_BPS}.
    /// @param feeBps The fee given.
    /// @param max The maximum.
    error DataMarketFeeTooHigh(uint16 feeBps, uint16 max);

    /// @notice Thrown when an address that must be set is zero (treasury, distributor, token).
    error DataMarketZeroAddress();

    /// @notice Emitted when a product is listed.
    /// @param productId The new product.
    /// @param scopeHash Its scope hash.
    /// @param token Its settlement token.
    /// @param price Its price.
    /// @param accessPeriod Its access period, in seconds.
    event ProductListed(
        uint256 indexed productId,
        bytes32 indexed scopeHash,
        address indexed token,
        uint256 price,
        uint64 accessPeriod
    );

    /// @notice Emitted when a product's price for future purchases changes.
    /// @param productId The product.
    /// @param oldPrice The previous price.
    /// @param newPrice The new price.
    event ProductRepriced(uint256 indexed productId, uint256 oldPrice, uint256 newPrice);

    /// @notice Emitted when a product is retired, for good.
    /// @param productId The product.
    event ProductRetired(uint256 indexed productId);

    /// @notice Emitted when a product is bought. Access is granted from this event after K confirmations.
    /// @param purchaseId The purchase.
    /// @param productId The product.
    /// @param buyer Who paid and is granted access.
    /// @param token The settlement token.
    /// @param price What was paid.
    /// @param fee The operator's fee, sent to the treasury.
    /// @param contributorPool `price - fee`, sent to the distributor.
    /// @param scopeHash The product's scope hash.
    /// @param expiresAt When access ends.
    event Purchased(
        uint256 indexed purchaseId,
        uint256 indexed productId,
        address indexed buyer,
        address token,
        uint256 price,
        uint256 fee,
        uint256 contributorPool,
        bytes32 scopeHash,
        uint64 expiresAt
    );

    /// @notice Emitted when the operator's fee changes (future purchases only).
    /// @param feeBps The new fee, in basis points.
    event FeeUpdated(uint16 feeBps);

    /// @notice Emitted when the treasury changes.
    /// @param treasury The new treasury.
    event TreasuryUpdated(address indexed treasury);

    /// @notice Emitted when a settlement token is accepted or no longer accepted for new listings.
    /// @param token The token.
    /// @param accepted Whether new products may be listed in it.
    event TokenAcceptanceUpdated(address indexed token, bool accepted);

    /// @notice The role allowed to list, reprice and retire products.
    function OPERATOR_ROLE() external view returns (bytes32);

    /// @notice The role allowed to pause and unpause purchases.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice The highest fee, in basis points.
    function MAX_FEE_BPS() external view returns (uint16);

    /// @notice Lists a product.
    /// @dev Only the operator. The scope must have been validated off-chain (canonical JSON, known devices).
    /// @param scopeHash The scope hash; not zero.
    /// @param token The settlement token; accepted by the admin.
    /// @param price The price; from 1 to 2^128 - 1.
    /// @param accessPeriod The access period, in seconds; not zero.
    /// @return productId The new product.
    function list(
        bytes32 scopeHash,
        address token,
        uint256 price,
        uint64 accessPeriod
    ) external returns (uint256 productId);

    /// @notice Sets the price of future purchases of an active product; past purchases keep theirs.
    /// @dev Only the operator.
    /// @param productId The product.
    /// @param price The new price; from 1 to 2^128 - 1.
    function reprice(uint256 productId, uint256 price) external;

    /// @notice Retires an active product, for good: it can no longer be bought; past purchases keep their access.
    /// @dev Only the operator.
    /// @param productId The product.
    function retire(uint256 productId) external;

    /// @notice Buys a product with an allowance already given to this market.
    /// @dev Reverts when paused. Moves `fee` from the caller to the treasury and `price - fee` to the distributor.
    /// @param productId An active product.
    /// @param token The product's token (the buyer's agreement).
    /// @param price The product's current price (the buyer's agreement).
    /// @return purchaseId The new purchase.
    function purchase(uint256 productId, address token, uint256 price) external returns (uint256 purchaseId);

    /// @notice Buys a product with an ERC-2612 permit for `price`, in one transaction.
    /// @dev A permit that fails (e.g. already used by a front-runner) is ignored when the allowance is there.
    /// @param productId An active product.
    /// @param token The product's token.
    /// @param price The product's current price, also the permit's value.
    /// @param deadline The permit's deadline; not past.
    /// @param v The permit signature's v.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    /// @return purchaseId The new purchase.
    function purchaseWithPermit(
        uint256 productId,
        address token,
        uint256 price,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 purchaseId);

    /// @notice Sets the operator's fee for future purchases.
    /// @dev Only the admin. At most {MAX_FEE_BPS}.
    /// @param feeBps The fee, in basis points.
    function setFee(uint16 feeBps) external;

    /// @notice Sets the treasury the fees go to.
    /// @dev Only the admin.
    /// @param treasury_ The treasury; not zero.
    function setTreasury(address treasury_) external;

    /// @notice Accepts, or stops accepting, a settlement token for new listings (existing products keep theirs).
    /// @dev Only the admin. Never accept the reward token: the distributor mints it and would not pay pools in it.
    /// @param token The token; not zero.
    /// @param accepted Whether it is accepted.
    function setTokenAccepted(address token, bool accepted) external;

    /// @notice Stops purchases. Never stops claims, which the distributor pays.
    /// @dev Only the pauser.
    function pause() external;

    /// @notice Resumes purchases.
    /// @dev Only the pauser.
    function unpause() external;

    /// @notice Returns a product; all zero (status None) for an unknown id.
    /// @param productId The product.
    function getProduct(uint256 productId) external view returns (Product memory);

    /// @notice Returns a purchase; all zero for an unknown id.
    /// @param purchaseId The purchase.
    function getPurchase(uint256 purchaseId) external view returns (Purchase memory);

    /// @notice Whether a purchase's access is still running at the current block time.
    /// @param purchaseId The purchase.
    function hasAccess(uint256 purchaseId) external view returns (bool);

    /// @notice The number of products listed so far (the last product id).
    function productCount() external view returns (uint256);

    /// @notice The number of purchases so far (the last purchase id).
    function purchaseCount() external view returns (uint256);

    /// @notice Totals paid in a settlement token.
    /// @param token The token.
    function revenue(address token) external view returns (Revenue memory);

    /// @notice The operator's fee, in basis points.
    function feeBps() external view returns (uint16);

    /// @notice Where fees go.
    function treasury() external view returns (address);

    /// @notice Where contributor pools go: the RewardDistributor.
    function distributor() external view returns (address);

    /// @notice Whether new products may be listed in a token.
    /// @param token The token.
    function isTokenAccepted(address token) external view returns (bool);
}
