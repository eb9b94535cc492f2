// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {StandardMerkleTree} from "../test/StandardMerkleTree.t.sol";
import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {SettlementToken} from "../market/SettlementToken.sol";
import {RewardFixture} from "./RewardFixture.t.sol";

/// @dev The distributor with a settlement token beside the reward token: per-token caps and funding, claims of both
/// tokens (one by one, in a multicall, relayed, batched), and hostile cases (claiming for another account, a replayed
/// batch, a cap exceeded, an overpromise, a batch without the role).
contract RewardDistributorTokensTest is RewardFixture {
    uint256 internal constant USD_CAP = 1_000 ether;

    SettlementToken internal usd;
    address internal alice;
    address internal bob;
    uint256 internal carolKey = 0xCA401;
    address internal carol;

    function setUp() public override {
        super.setUp();
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = vm.addr(carolKey);
        usd = new SettlementToken("SensorSeal USD", "sUSD", 1e30);
        vm.prank(admin);
        distributor.setTokenEpochCap(address(usd), USD_CAP);
        usd.transfer(address(distributor), 500 ether); // the contributor pools
    }

    /// @dev Posts `epoch` with reward and sUSD entitlements for alice, bob and carol.
    function postBoth(
        uint64 epoch,
        uint256[3] memory rewards,
        uint256[3] memory shares
    ) internal returns (bytes32[] memory tree) {
        address[3] memory who = [alice, bob, carol];
        bytes32[] memory leaves = new bytes32[](6);
        uint256 rewardTotal;
        uint256 usdTotal;
        for (uint256 i = 0; i < 3; ++i) {
            leaves[2 * i] = rewardLeafOf(who[i], address(token), rewards[i]);
            leaves[2 * i + 1] = rewardLeafOf(who[i], address(usd), shares[i]);
            rewardTotal += rewards[i];
            usdTotal += shares[i];
        }
        tree = StandardMerkleTree.build(leaves);
        post(withUsd(message(epoch, tree[0], rewardTotal), usdTotal));
    }

    function withUsd(
        IRewardDistributor.OracleMessage memory m,
        uint256 usdTotal
    ) internal view returns (IRewardDistributor.OracleMessage memory) {
        m.tokenTotals = new IRewardDistributor.TokenTotal[](1);
        m.tokenTotals[0] = IRewardDistributor.TokenTotal(address(usd), usdTotal);
        return m;
    }

    function proofOf(bytes32[] memory tree, address a, address t, uint256 c) internal pure returns (bytes32[] memory) {
        return StandardMerkleTree.proofOf(tree, rewardLeafOf(a, t, c));
    }

    function claimToken(bytes32[] memory tree, address a, address t, uint256 c) internal returns (uint256) {
        vm.prank(a);
        return distributor.claim(a, t, c, proofOf(tree, a, t, c));
    }

    // ---------------------------------------------------------------- claims of both tokens

    function test_claim_bothTokens_succeeds() public {
        bytes32[] memory tree = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        assertEq(claimToken(tree, alice, address(token), 10), 10, "reward paid");
        assertEq(claimToken(tree, alice, address(usd), 100), 100, "share paid");
        assertEq(token.balanceOf(alice), 10, "reward balance");
        assertEq(usd.balanceOf(alice), 100, "usd balance");
        assertEq(distributor.claimedOf(alice, address(token)), 10, "reward claimed");
        assertEq(distributor.claimed(alice), 10, "reward claimed (one-token view)");
        assertEq(distributor.claimedOf(alice, address(usd)), 100, "usd claimed");
        IRewardDistributor.TokenState memory s = distributor.tokenState(address(usd));
        assertEq(s.totalPosted, 350, "posted");
        assertEq(s.activeTotal, 350, "active");
        assertEq(s.totalClaimed, 100, "claimed");
        assertEq(s.epochCap, USD_CAP, "cap");
        IRewardDistributor.TokenState memory r = distributor.tokenState(address(token));
        assertEq(r.totalPosted, 60, "reward posted");
        assertEq(r.totalClaimed, 10, "reward claimed");
        assertEq(r.epochCap, EPOCH_CAP, "reward cap");
        assertEq(distributor.unallocated(address(usd)), 500 ether - 350, "remainder: the pools less what is promised");
        assertEq(distributor.unallocated(address(token)), 0, "the reward token has no remainder");
    }

    function test_multicall_claimsBothTokensInOneTransaction_succeeds() public {
        bytes32[] memory tree = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        bytes[] memory calls = new bytes[](2);
        calls[0] = abi.encodeCall(IRewardDistributor.claim, (bob, address(token), 20, proofOf(tree, bob, address(token), 20)));
        calls[1] = abi.encodeCall(IRewardDistributor.claim, (bob, address(usd), 200, proofOf(tree, bob, address(usd), 200)));
        vm.prank(bob);
        bytes[] memory results = distributor.multicall(calls);
        assertEq(abi.decode(results[0], (uint256)), 20, "reward amount");
        assertEq(abi.decode(results[1], (uint256)), 200, "usd amount");
        assertEq(token.balanceOf(bob), 20, "reward");
        assertEq(usd.balanceOf(bob), 200, "usd");
    }

    function test_multicall_claimForAnother_reverts() public {
        // multicall keeps msg.sender: a stranger cannot bundle someone else's claims either.
        bytes32[] memory tree = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        bytes[] memory calls = new bytes[](1);
        calls[0] = abi.encodeCall(IRewardDistributor.claim, (bob, address(usd), 200, proofOf(tree, bob, address(usd), 200)));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnauthorizedClaim.selector, stranger, bob)
        );
        vm.prank(stranger);
        distributor.multicall(calls);
    }

    function test_claimWithSignature_settlementToAnotherRecipient_succeeds() public {
        bytes32[] memory tree = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digest = claimDigestAt(block.chainid, address(distributor), carol, address(usd), 50, bob, 0, deadline);
        bytes32[] memory proof = proofOf(tree, carol, address(usd), 50);
        vm.prank(relayer);
        distributor.claimWithSignature(carol, address(usd), 50, proof, bob, deadline, sign(carolKey, digest));
        assertEq(usd.balanceOf(bob), 50, "recipient paid");
        assertEq(usd.balanceOf(carol), 0, "account not paid");
        assertEq(distributor.claimedOf(carol, address(usd)), 50, "claimed by carol");
    }

    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_claim_settlementPaysExactlyTheRise(uint256 first, uint256 second) public {
        first = bound(first, 1, 250 ether);
        second = bound(second, first, 500 ether);
        bytes32[] memory tree = postBoth(1, [uint256(1), 1, 1], [first, 0, 0]);
        assertEq(claimToken(tree, alice, address(usd), first), first, "first");
        tree = postBoth(2, [uint256(1), 1, 1], [second, 0, 0]);
        if (second == first) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorNothingToClaim.selector,
                    alice,
                    address(usd),
                    second,
                    first
                )
            );
            vm.prank(alice);
            distributor.claim(alice, address(usd), second, proofOf(tree, alice, address(usd), second));
        } else {
            assertEq(claimToken(tree, alice, address(usd), second), second - first, "the rise only");
        }
        assertEq(usd.balanceOf(alice), second, "paid in total = newest entitlement");
        assertEq(usd.balanceOf(address(distributor)), 500 ether - second, "the rest stays");
    }

    // ---------------------------------------------------------------- batches

    function test_claimBatch_settlementAndReplay_succeeds() public {
        bytes32[] memory tree = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        vm.startPrank(admin);
        distributor.grantRole(distributor.BATCH_CLAIMER_ROLE(), relayer);
        vm.stopPrank();
        IRewardDistributor.BatchClaim[] memory claims = new IRewardDistributor.BatchClaim[](2);
        claims[0] = IRewardDistributor.BatchClaim(alice, 100, proofOf(tree, alice, address(usd), 100));
        claims[1] = IRewardDistributor.BatchClaim(bob, 200, proofOf(tree, bob, address(usd), 200));
        vm.prank(relayer);
        assertEq(distributor.claimBatch(address(usd), claims), 300, "paid");
        vm.prank(relayer);
        assertEq(distributor.claimBatch(address(usd), claims), 0, "a replayed batch pays nothing");
        assertEq(usd.balanceOf(alice), 100, "alice once");
        assertEq(usd.balanceOf(bob), 200, "bob once");
        assertEq(distributor.tokenState(address(usd)).totalClaimed, 300, "total once");
    }

    function test_claimBatch_badProof_reverts() public {
        bytes32[] memory tree = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        vm.startPrank(admin);
        distributor.grantRole(distributor.BATCH_CLAIMER_ROLE(), relayer);
        vm.stopPrank();
        IRewardDistributor.BatchClaim[] memory claims = new IRewardDistributor.BatchClaim[](1);
        claims[0] = IRewardDistributor.BatchClaim(alice, 101, proofOf(tree, alice, address(usd), 100));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, alice, address(usd), 101)
        );
        vm.prank(relayer);
        distributor.claimBatch(address(usd), claims);
    }

    function test_claimBatch_withoutRole_reverts() public {
        postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        IRewardDistributor.BatchClaim[] memory claims = new IRewardDistributor.BatchClaim[](0);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                stranger,
                distributor.BATCH_CLAIMER_ROLE()
            )
        );
        vm.prank(stranger);
        distributor.claimBatch(address(usd), claims);
    }

    // ---------------------------------------------------------------- per-token caps and funding

    function test_postRoot_tokenCapExceeded_reverts() public {
        usd.transfer(address(distributor), 2_000 ether);
        bytes32 root = keccak256("root");
        IRewardDistributor.OracleMessage memory m = withUsd(message(1, root, 1), USD_CAP + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorTokenEpochCapExceeded.selector,
                address(usd),
                USD_CAP + 1,
                USD_CAP
            )
        );
        post(m);
    }

    function test_postRoot_overpromise_reverts() public {
        IRewardDistributor.OracleMessage memory m = withUsd(message(1, keccak256("root"), 1), 500 ether + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnderfunded.selector,
                address(usd),
                500 ether + 1,
                500 ether
            )
        );
        post(m);
    }

    function test_postRoot_decreasingTokenTotal_reverts() public {
        postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        IRewardDistributor.OracleMessage memory m = withUsd(message(2, keccak256("root"), 60), 349);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorDecreasingTokenTotal.selector,
                address(usd),
                349,
                350
            )
        );
        post(m);
    }

    function test_postRoot_invalidOrUnsortedTokens_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, keccak256("root"), 1);
        m.tokenTotals = new IRewardDistributor.TokenTotal[](1);
        m.tokenTotals[0] = IRewardDistributor.TokenTotal(address(token), 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidToken.selector, address(token))
        );
        post(m);
        m.tokenTotals = new IRewardDistributor.TokenTotal[](2);
        m.tokenTotals[0] = IRewardDistributor.TokenTotal(address(usd), 1);
        m.tokenTotals[1] = IRewardDistributor.TokenTotal(address(usd), 2);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnsortedTokens.selector, address(usd), address(usd))
        );
        post(m);
    }

    function test_setTokenEpochCap_invalidToken_reverts() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidToken.selector, address(0)));
        distributor.setTokenEpochCap(address(0), 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidToken.selector, address(token))
        );
        distributor.setTokenEpochCap(address(token), 1);
        vm.stopPrank();
    }

    function test_claim_settlementOverPostedTotal_reverts() public {
        // A root whose leaves add up to more than its signed sUSD total: claims stop at the total.
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = rewardLeafOf(alice, address(usd), 300);
        leaves[1] = rewardLeafOf(bob, address(usd), 300);
        bytes32[] memory tree = StandardMerkleTree.build(leaves);
        post(withUsd(message(1, tree[0], 0), 400));
        claimToken(tree, alice, address(usd), 300);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorExceedsPostedTotal.selector,
                address(usd),
                600,
                400
            )
        );
        vm.prank(bob);
        distributor.claim(bob, address(usd), 300, proofOf(tree, bob, address(usd), 300));
    }

    function test_claim_vetoedTokenTotal_paysOnlyThePrevious() public {
        bytes32[] memory tree1 = postBoth(1, [uint256(10), 20, 30], [uint256(100), 200, 50]);
        bytes32 guardianRole = distributor.GUARDIAN_ROLE();
        vm.startPrank(admin);
        distributor.grantRole(guardianRole, admin);
        distributor.setChallengePeriod(1 hours);
        vm.stopPrank();
        bytes32[] memory pending = postBoth(2, [uint256(10), 20, 30], [uint256(150), 250, 100]);
        IRewardDistributor.TokenState memory s = distributor.tokenState(address(usd));
        assertEq(s.totalPosted, 500, "pending total posted");
        assertEq(s.activeTotal, 350, "active total unchanged while pending");
        // Claims still pay against the active root (epoch 1) while epoch 2 is pending, counted against its total.
        assertEq(claimToken(tree1, alice, address(usd), 100), 100, "paid from the active root");
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, bob, address(usd), 250)
        );
        vm.prank(bob);
        distributor.claim(bob, address(usd), 250, proofOf(pending, bob, address(usd), 250));
        vm.prank(admin);
        distributor.vetoRoot(2);
        s = distributor.tokenState(address(usd));
        assertEq(s.totalPosted, 350, "vetoed total forgotten");
        assertEq(s.activeTotal, 350, "active total unchanged");
        assertEq(distributor.unallocated(address(usd)), 500 ether - 350, "remainder back");
        // The next post starts from the active total, not the vetoed one.
        vm.prank(admin);
        distributor.setChallengePeriod(0);
        postBoth(2, [uint256(10), 20, 30], [uint256(100), 200, 60]);
        assertEq(distributor.tokenState(address(usd)).activeTotal, 360, "re-posted over the active total");
    }
}
