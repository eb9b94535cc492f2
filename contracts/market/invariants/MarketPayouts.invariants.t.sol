// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {StandardMerkleTree} from "../../test/StandardMerkleTree.t.sol";
import {Test} from "../../test/Test.t.sol";
import {IDataMarket} from "../../interfaces/IDataMarket.sol";
import {IRewardDistributor} from "../../interfaces/IRewardDistributor.sol";
import {RewardDistributor} from "../../reward/RewardDistributor.sol";
import {RewardKeys} from "../../reward/RewardFixture.t.sol";
import {RewardToken} from "../../reward/RewardToken.sol";
import {DataMarket} from "../DataMarket.sol";
import {SettlementToken} from "../SettlementToken.sol";

// The handler lives in the same file as its invariant suite: Hardhat emits artifacts only for the test files it
// builds as roots, and the invariant runner needs the handler's artifact to call it.

/// @dev Drives the money path end to end: buyers purchase data products (the operator repricing them, the admin
/// changing the fee, the pauser pausing the market), the oracle committee posts roots paying contributors in the
/// reward token and the settlement token (sometimes promising more than the pools hold, or raising a total over its
/// cap), contributors claim one token or both in one multicall, a batch claimer pays everyone (sometimes replaying
/// the same batch), and a stranger tries to claim for a contributor. Each action predicts its outcome: an allowed one
/// must succeed (the campaign fails on any revert) and a forbidden one must revert with the exact error.
contract MarketPayoutsHandler is RewardKeys {
    uint256 internal constant ACCOUNTS = 4;
    uint256 internal constant PRODUCTS = 3;
    uint256 public constant SETTLEMENT_CAP = 5_000 ether;

    DataMarket public immutable market;
    RewardDistributor public immutable distributor;
    RewardToken public immutable token;
    SettlementToken public immutable usd;
    address public immutable treasury;
    uint256[] internal _oracleKeys;
    address[ACCOUNTS] internal _accounts;
    address internal immutable _buyer;
    address internal immutable _stranger;

    // Model.
    uint256 public paidIn;
    uint256 public feesIn;
    uint256 public poolsIn;
    uint256 public purchases;
    uint64 public epoch;
    bytes32[] internal _tree;
    mapping(address account => mapping(address token => uint256)) public entitlement;
    mapping(address account => mapping(address token => uint256)) public paidOut;
    uint256 public replayedBatches;

    constructor(
        DataMarket market_,
        RewardDistributor distributor_,
        RewardToken token_,
        SettlementToken usd_,
        address treasury_,
        uint256[] memory oracleKeys
    ) {
        market = market_;
        distributor = distributor_;
        token = token_;
        usd = usd_;
        treasury = treasury_;
        _oracleKeys = oracleKeys;
        _buyer = makeAddr("buyer");
        _stranger = makeAddr("stranger");
        for (uint256 i = 0; i < ACCOUNTS; ++i) _accounts[i] = vm.addr(0xC0 + i);
    }

    /// @dev Called once by the suite after the handler holds the roles and the buyer's tokens.
    function approveBuyer() external {
        vm.prank(_buyer);
        usd.approve(address(market), type(uint256).max);
    }

    function purchase(uint256 productPick) external {
        uint256 id = 1 + (productPick % PRODUCTS);
        IDataMarket.Product memory p = market.getProduct(id);
        if (market.paused()) {
            vm.expectRevert(Pausable.EnforcedPause.selector);
            vm.prank(_buyer);
            market.purchase(id, p.token, p.price);
            return;
        }
        uint256 fee = (p.price * market.feeBps()) / 10_000;
        vm.prank(_buyer);
        market.purchase(id, p.token, p.price);
        paidIn += p.price;
        feesIn += fee;
        poolsIn += p.price - fee;
        ++purchases;
    }

    function reprice(uint256 productPick, uint256 price) external {
        market.reprice(1 + (productPick % PRODUCTS), bound(price, 1, 1_000 ether));
    }

    function setFee(uint256 feeBps) external {
        market.setFee(uint16(bound(feeBps, 0, market.MAX_FEE_BPS())));
    }

    function togglePause() external {
        if (market.paused()) market.unpause();
        else market.pause();
    }

    /// @dev Posts the next epoch: every entitlement rises by a share of what the pools hold beyond what is already
    /// promised; `overpromise` adds more than the pools hold (or more than the cap), which must be refused.
    function postRoot(uint256 seed, bool overpromise) external {
        uint256 promised = _settlementTotal();
        uint256 room = poolsIn - promised;
        uint256[ACCOUNTS] memory rewardCum;
        uint256[ACCOUNTS] memory usdCum;
        uint256 rewardTotal;
        uint256 usdTotal;
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            address a = _accounts[i];
            rewardCum[i] = entitlement[a][address(token)] + (uint256(keccak256(abi.encode(seed, i))) % 100 ether);
            usdCum[i] = entitlement[a][address(usd)] + ((room / ACCOUNTS) * ((seed >> (8 * i)) % 101)) / 100;
            rewardTotal += rewardCum[i];
            usdTotal += usdCum[i];
        }
        if (overpromise) {
            usdCum[0] += room + 1;
            usdTotal += room + 1;
        }
        bytes32[] memory tree = _buildTree(rewardCum, usdCum);
        IRewardDistributor.OracleMessage memory m = _message(tree[0], rewardTotal, usdTotal);
        bytes[] memory sigs = signSorted(_oracleKeys, oracleDigestAt(block.chainid, address(distributor), m));
        uint256 raise = usdTotal - promised;
        if (raise > SETTLEMENT_CAP) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorTokenEpochCapExceeded.selector,
                    address(usd),
                    raise,
                    SETTLEMENT_CAP
                )
            );
        } else if (usdTotal > poolsIn) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorUnderfunded.selector,
                    address(usd),
                    usdTotal,
                    poolsIn
                )
            );
        }
        distributor.postRoot(m, sigs);
        if (raise > SETTLEMENT_CAP || usdTotal > poolsIn) return;
        epoch = m.epoch;
        _tree = tree;
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            entitlement[_accounts[i]][address(token)] = rewardCum[i];
            entitlement[_accounts[i]][address(usd)] = usdCum[i];
        }
    }

    function claim(uint256 accountPick, bool settlement) external {
        if (epoch == 0) return;
        address account = _accounts[accountPick % ACCOUNTS];
        address t = settlement ? address(usd) : address(token);
        uint256 cum = entitlement[account][t];
        bytes32[] memory proof = StandardMerkleTree.proofOf(_tree, rewardLeafOf(account, t, cum));
        if (cum <= paidOut[account][t]) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorNothingToClaim.selector,
                    account,
                    t,
                    cum,
                    paidOut[account][t]
                )
            );
        }
        vm.prank(account);
        distributor.claim(account, t, cum, proof);
        paidOut[account][t] = cum;
    }

    /// @dev Both tokens in one transaction through multicall, when both have something to pay.
    function claimBoth(uint256 accountPick) external {
        if (epoch == 0) return;
        address account = _accounts[accountPick % ACCOUNTS];
        address[2] memory tokens = [address(token), address(usd)];
        bytes[] memory calls = new bytes[](2);
        for (uint256 k = 0; k < 2; ++k) {
            uint256 cum = entitlement[account][tokens[k]];
            if (cum <= paidOut[account][tokens[k]]) return;
            bytes32[] memory proof = StandardMerkleTree.proofOf(_tree, rewardLeafOf(account, tokens[k], cum));
            calls[k] = abi.encodeCall(IRewardDistributor.claim, (account, tokens[k], cum, proof));
        }
        vm.prank(account);
        distributor.multicall(calls);
        for (uint256 k = 0; k < 2; ++k) paidOut[account][tokens[k]] = entitlement[account][tokens[k]];
    }

    /// @dev Pays every account in one token; with `replay`, sends the same batch again, which must pay nothing.
    function claimBatch(bool settlement, bool replay) external {
        if (epoch == 0) return;
        address t = settlement ? address(usd) : address(token);
        IRewardDistributor.BatchClaim[] memory claims = new IRewardDistributor.BatchClaim[](ACCOUNTS);
        uint256 expected;
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            address a = _accounts[i];
            uint256 cum = entitlement[a][t];
            claims[i] = IRewardDistributor.BatchClaim(a, cum, StandardMerkleTree.proofOf(_tree, rewardLeafOf(a, t, cum)));
            expected += cum - paidOut[a][t];
            paidOut[a][t] = cum;
        }
        require(distributor.claimBatch(t, claims) == expected, "batch pays exactly what is due");
        if (replay) {
            require(distributor.claimBatch(t, claims) == 0, "a replayed batch pays nothing");
            ++replayedBatches;
        }
    }

    /// @dev A stranger claiming a contributor's entitlement is refused, whatever it passes.
    function claimForAnother(uint256 accountPick, bool settlement) external {
        if (epoch == 0) return;
        address account = _accounts[accountPick % ACCOUNTS];
        address t = settlement ? address(usd) : address(token);
        uint256 cum = entitlement[account][t];
        bytes32[] memory proof = StandardMerkleTree.proofOf(_tree, rewardLeafOf(account, t, cum));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnauthorizedClaim.selector, _stranger, account)
        );
        vm.prank(_stranger);
        distributor.claim(account, t, cum, proof);
    }

    function accountAt(uint256 i) external view returns (address) {
        return _accounts[i];
    }

    function accountCount() external pure returns (uint256) {
        return ACCOUNTS;
    }

    function buyer() external view returns (address) {
        return _buyer;
    }

    function _settlementTotal() internal view returns (uint256 total) {
        for (uint256 i = 0; i < ACCOUNTS; ++i) total += entitlement[_accounts[i]][address(usd)];
    }

    function _buildTree(
        uint256[ACCOUNTS] memory rewardCum,
        uint256[ACCOUNTS] memory usdCum
    ) internal view returns (bytes32[] memory) {
        bytes32[] memory leaves = new bytes32[](2 * ACCOUNTS);
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            leaves[2 * i] = rewardLeafOf(_accounts[i], address(token), rewardCum[i]);
            leaves[2 * i + 1] = rewardLeafOf(_accounts[i], address(usd), usdCum[i]);
        }
        return StandardMerkleTree.build(leaves);
    }

    function _message(
        bytes32 root,
        uint256 rewardTotal,
        uint256 usdTotal
    ) internal view returns (IRewardDistributor.OracleMessage memory m) {
        IRewardDistributor.TokenTotal[] memory totals = new IRewardDistributor.TokenTotal[](1);
        totals[0] = IRewardDistributor.TokenTotal(address(usd), usdTotal);
        uint64 next = epoch + 1;
        m = IRewardDistributor.OracleMessage({
            sourceChainId: 31337,
            destinationChainId: block.chainid,
            distributor: address(distributor),
            epoch: next,
            root: root,
            cumulativeTotal: rewardTotal,
            fromBlock: next * 100,
            toBlock: next * 100 + 99,
            rulesVersion: 1,
            oracleSetVersion: 1,
            tokenTotals: totals
        });
    }
}

/// @dev Invariant campaigns over DataMarket + RewardDistributor (reward token and settlement token) driven by
/// MarketPayoutsHandler. See contracts/reward/invariants/PROPERTIES.md.
contract MarketPayoutsInvariants is Test {
    DataMarket internal market;
    RewardDistributor internal distributor;
    RewardToken internal token;
    SettlementToken internal usd;
    MarketPayoutsHandler internal handler;
    address internal treasury = address(0x7E);

    function setUp() public {
        vm.warp(1_750_000_000);
        uint256[] memory keys = new uint256[](2);
        keys[0] = 0xA1;
        keys[1] = 0xB2;
        address[] memory oracles = new address[](2);
        for (uint256 i = 0; i < 2; ++i) oracles[i] = vm.addr(keys[i]);
        token = new RewardToken("SensorSeal Reward", "SSR");
        distributor = new RewardDistributor(token, 31337, address(this), oracles, 2, 1_000_000 ether, 1 days, 0);
        token.setDistributor(address(distributor));
        usd = new SettlementToken("SensorSeal USD", "sUSD", 1e30);
        market = new DataMarket(address(this), address(this), address(distributor), treasury, 1_000, address(usd));
        handler = new MarketPayoutsHandler(market, distributor, token, usd, treasury, keys);
        distributor.setTokenEpochCap(address(usd), handler.SETTLEMENT_CAP());
        distributor.grantRole(distributor.BATCH_CLAIMER_ROLE(), address(handler));
        market.grantRole(market.OPERATOR_ROLE(), address(handler));
        market.grantRole(market.PAUSER_ROLE(), address(handler));
        market.grantRole(market.DEFAULT_ADMIN_ROLE(), address(handler));
        for (uint256 i = 0; i < 3; ++i) market.list(keccak256(abi.encode("scope", i)), address(usd), (i + 1) * 100 ether, 1 days);
        usd.transfer(handler.buyer(), 1e27);
        handler.approveBuyer();

        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = MarketPayoutsHandler.purchase.selector;
        selectors[1] = MarketPayoutsHandler.reprice.selector;
        selectors[2] = MarketPayoutsHandler.setFee.selector;
        selectors[3] = MarketPayoutsHandler.togglePause.selector;
        selectors[4] = MarketPayoutsHandler.postRoot.selector;
        selectors[5] = MarketPayoutsHandler.claim.selector;
        selectors[6] = MarketPayoutsHandler.claimBoth.selector;
        selectors[7] = MarketPayoutsHandler.claimBatch.selector;
        selectors[8] = MarketPayoutsHandler.claimForAnother.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @custom:invariant Value is conserved in the market: everything buyers paid is exactly the operator's fees
    /// (in the treasury) plus the contributor pools (sent to the distributor); the market itself holds nothing.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_marketValueConserved() public view {
        IDataMarket.Revenue memory rev = market.revenue(address(usd));
        assertEq(rev.paid, handler.paidIn(), "revenue.paid = what buyers paid");
        assertEq(rev.fees, handler.feesIn(), "revenue.fees = the fees");
        assertEq(usd.balanceOf(treasury), rev.fees, "treasury holds the fees");
        assertEq(uint256(rev.paid) - rev.fees, handler.poolsIn(), "pools = paid - fees");
        assertEq(usd.balanceOf(address(market)), 0, "market holds nothing");
        assertEq(market.purchaseCount(), handler.purchases(), "purchases counted");
    }

    /// @custom:invariant The settlement token paid into the distributor is exactly what contributors claimed plus
    /// what it still holds, and it holds exactly the unclaimed promised shares plus the unallocated remainder: payouts
    /// never exceed the pools, and the remainder is never lost.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_payoutsNeverExceedPools() public view {
        IRewardDistributor.TokenState memory s = distributor.tokenState(address(usd));
        uint256 held = usd.balanceOf(address(distributor));
        assertEq(held + s.totalClaimed, handler.poolsIn(), "held + claimed = pools");
        assertLe(s.totalClaimed, s.activeTotal, "claimed <= promised");
        assertLe(s.activeTotal, handler.poolsIn(), "promised <= pools");
        assertEq(distributor.unallocated(address(usd)), handler.poolsIn() - s.activeTotal, "remainder");
    }

    /// @custom:invariant No entitlement is paid twice, across roots and tokens, directly, in multicalls or in
    /// (replayed) batches: each account's claimed amount per token equals what the model paid it, never exceeds its
    /// newest entitlement, and equals its balance (contributors do not transfer here); per token the claims add up to
    /// the total claimed, and the reward token's supply is exactly its claims.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_noPayoutTwice() public view {
        uint256 rewardSum;
        uint256 usdSum;
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address a = handler.accountAt(i);
            uint256 r = distributor.claimedOf(a, address(token));
            uint256 u = distributor.claimedOf(a, address(usd));
            assertEq(r, handler.paidOut(a, address(token)), "reward claimed = model");
            assertEq(u, handler.paidOut(a, address(usd)), "usd claimed = model");
            assertLe(r, handler.entitlement(a, address(token)), "reward <= entitlement");
            assertLe(u, handler.entitlement(a, address(usd)), "usd <= entitlement");
            assertEq(token.balanceOf(a), r, "reward balance = claims");
            assertEq(usd.balanceOf(a), u, "usd balance = claims");
            rewardSum += r;
            usdSum += u;
        }
        assertEq(rewardSum, distributor.totalClaimed(), "reward claims add up");
        assertEq(token.totalSupply(), rewardSum, "reward supply = claims");
        assertEq(usdSum, distributor.tokenState(address(usd)).totalClaimed, "usd claims add up");
    }
}
