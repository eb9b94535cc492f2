// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {Test} from "../test/Test.t.sol";
import {IDataMarket} from "../interfaces/IDataMarket.sol";
import {DataMarket} from "./DataMarket.sol";
import {SettlementToken} from "./SettlementToken.sol";

contract DataMarketTest is Test {
    bytes32 internal constant SCOPE = keccak256("{\"devices\":[\"0x01\"],\"fields\":[\"pm2_5_ugm3\"]}");
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    SettlementToken internal usd;
    DataMarket internal market;
    address internal admin = address(0xA0);
    address internal operator = address(0xA1);
    address internal distributor = address(0xD1);
    address internal treasury = address(0x7E);
    uint256 internal buyerKey = 0xB0B;
    address internal buyer;

    function setUp() public {
        vm.warp(1_750_000_000);
        buyer = vm.addr(buyerKey);
        usd = new SettlementToken("SensorSeal USD", "sUSD", 1e30);
        market = new DataMarket(admin, operator, distributor, treasury, 1_000, address(usd));
        usd.transfer(buyer, 1e24);
    }

    function listed(uint256 price) internal returns (uint256 id) {
        vm.prank(operator);
        id = market.list(SCOPE, address(usd), price, 30 days);
    }

    function buy(uint256 id, uint256 price) internal returns (uint256) {
        vm.prank(buyer);
        usd.approve(address(market), price);
        vm.prank(buyer);
        return market.purchase(id, address(usd), price);
    }

    function test_purchase_splitsFeeAndPool_succeeds() public {
        uint256 id = listed(1000e6);
        uint256 purchaseId = buy(id, 1000e6);
        assertEq(purchaseId, 1, "id");
        assertEq(usd.balanceOf(treasury), 100e6, "fee 10%");
        assertEq(usd.balanceOf(distributor), 900e6, "pool");
        assertEq(usd.balanceOf(address(market)), 0, "market holds nothing");
        IDataMarket.Purchase memory p = market.getPurchase(1);
        assertEq(p.buyer, buyer, "buyer");
        assertEq(p.price, 1000e6, "price");
        assertEq(p.expiresAt, block.timestamp + 30 days, "expiry");
        assertTrue(market.hasAccess(1), "access");
        vm.warp(block.timestamp + 30 days);
        assertFalse(market.hasAccess(1), "expired");
    }

    function testFuzz_purchase_conservesValue(uint128 price, uint16 feeBps) public {
        vm.assume(price > 0 && price <= 1e24);
        feeBps = uint16(bound(feeBps, 0, 5_000));
        vm.prank(admin);
        market.setFee(feeBps);
        uint256 id = listed(price);
        uint256 before = usd.balanceOf(buyer);
        buy(id, price);
        uint256 paid = before - usd.balanceOf(buyer);
        assertEq(paid, price, "paid");
        assertEq(usd.balanceOf(treasury) + usd.balanceOf(distributor), paid, "fee + pool = paid");
        IDataMarket.Revenue memory r = market.revenue(address(usd));
        assertEq(r.paid, price, "revenue paid");
        assertEq(usd.balanceOf(distributor), r.paid - r.fees, "pool = paid - fees");
    }

    function test_reprice_keepsPastPurchase_succeeds() public {
        uint256 id = listed(100);
        buy(id, 100);
        vm.prank(operator);
        market.reprice(id, 250);
        assertEq(market.getPurchase(1).price, 100, "past price kept");
        assertEq(market.getProduct(id).scopeHash, SCOPE, "scope kept");
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketPriceChanged.selector, id, 100, 250));
        vm.prank(buyer);
        market.purchase(id, address(usd), 100);
    }

    function test_list_notOperator_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                buyer,
                market.OPERATOR_ROLE()
            )
        );
        vm.prank(buyer);
        market.list(SCOPE, address(usd), 1, 1);
    }

    function test_purchase_unknownProduct_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketUnknownProduct.selector, 7));
        vm.prank(buyer);
        market.purchase(7, address(usd), 1);
    }

    function test_purchase_retiredProduct_reverts() public {
        uint256 id = listed(100);
        vm.prank(operator);
        market.retire(id);
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketProductRetired.selector, id));
        vm.prank(buyer);
        market.purchase(id, address(usd), 100);
    }

    function test_purchase_wrongToken_reverts() public {
        uint256 id = listed(100);
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketWrongToken.selector, id, address(0xBAD), address(usd)));
        vm.prank(buyer);
        market.purchase(id, address(0xBAD), 100);
    }

    function test_purchase_insufficientAllowance_reverts() public {
        uint256 id = listed(1000);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(market), 0, 100)
        );
        vm.prank(buyer);
        market.purchase(id, address(usd), 1000);
    }

    function test_purchase_paused_reverts() public {
        uint256 id = listed(100);
        vm.prank(operator);
        market.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(buyer);
        market.purchase(id, address(usd), 100);
    }

    function permit(uint256 value, uint256 deadline) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        bytes32 structHash = keccak256(
            abi.encode(PERMIT_TYPEHASH, buyer, address(market), value, usd.nonces(buyer), deadline)
        );
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", usd.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(buyerKey, digest);
    }

    function test_purchaseWithPermit_succeeds() public {
        uint256 id = listed(500);
        (uint8 v, bytes32 r, bytes32 s) = permit(500, block.timestamp + 1 hours);
        vm.prank(buyer);
        market.purchaseWithPermit(id, address(usd), 500, block.timestamp + 1 hours, v, r, s);
        assertEq(usd.balanceOf(distributor), 450, "pool");
    }

    function test_purchaseWithPermit_expired_reverts() public {
        uint256 id = listed(500);
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = permit(500, deadline);
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketPermitExpired.selector, deadline));
        vm.prank(buyer);
        market.purchaseWithPermit(id, address(usd), 500, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- listing and administration: bad input

    function test_constructor_zeroDistributor_reverts() public {
        vm.expectRevert(IDataMarket.DataMarketZeroAddress.selector);
        new DataMarket(admin, operator, address(0), treasury, 1_000, address(usd));
    }

    function test_list_badInput_reverts() public {
        vm.startPrank(operator);
        vm.expectRevert(IDataMarket.DataMarketZeroScope.selector);
        market.list(bytes32(0), address(usd), 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketTokenNotAccepted.selector, address(0xBAD)));
        market.list(SCOPE, address(0xBAD), 1, 1);
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketInvalidPrice.selector, 0));
        market.list(SCOPE, address(usd), 0, 1);
        uint256 tooHigh = uint256(type(uint128).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketInvalidPrice.selector, tooHigh));
        market.list(SCOPE, address(usd), tooHigh, 1);
        vm.expectRevert(IDataMarket.DataMarketZeroAccessPeriod.selector);
        market.list(SCOPE, address(usd), 1, 0);
        vm.stopPrank();
        assertEq(market.productCount(), 0, "nothing listed");
    }

    function test_adminSetters_succeedAndCheckInput() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketFeeTooHigh.selector, 5_001, 5_000));
        market.setFee(5_001);
        vm.expectRevert(IDataMarket.DataMarketZeroAddress.selector);
        market.setTreasury(address(0));
        vm.expectRevert(IDataMarket.DataMarketZeroAddress.selector);
        market.setTokenAccepted(address(0), true);
        vm.expectEmit(address(market));
        emit IDataMarket.TreasuryUpdated(address(0x7F));
        market.setTreasury(address(0x7F));
        vm.expectEmit(address(market));
        emit IDataMarket.TokenAcceptanceUpdated(address(usd), false);
        market.setTokenAccepted(address(usd), false);
        vm.stopPrank();
        assertEq(market.treasury(), address(0x7F), "treasury");
        assertEq(market.distributor(), distributor, "distributor");
        assertFalse(market.isTokenAccepted(address(usd)), "no longer accepted");
        assertEq(market.feeBps(), 1_000, "fee unchanged by the refused update");
        vm.expectRevert(abi.encodeWithSelector(IDataMarket.DataMarketTokenNotAccepted.selector, address(usd)));
        vm.prank(operator);
        market.list(SCOPE, address(usd), 1, 1);
    }

    function test_setFee_notAdmin_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                operator,
                market.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(operator);
        market.setFee(0);
    }
}
