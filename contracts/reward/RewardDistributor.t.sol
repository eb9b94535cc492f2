// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {IRewardToken} from "../interfaces/IRewardToken.sol";
import {RewardDistributor} from "./RewardDistributor.sol";
import {RewardToken} from "./RewardToken.sol";
import {MockERC1271Wallet, RewardFixture} from "./RewardFixture.t.sol";

contract RewardDistributorTest is RewardFixture {
    bytes32 internal constant ROOT = keccak256("root");

    address internal alice;
    address internal bob;
    uint256 internal carolKey = 0xCA401;
    address internal carol;

    function setUp() public override {
        super.setUp();
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = vm.addr(carolKey);
        vm.label(carol, "carol");
    }

    // ---------------------------------------------------------------- constructor / views

    function test_constructor_succeeds() public view {
        assertEq(address(distributor.token()), address(token), "token");
        assertEq(token.distributor(), address(distributor), "token bound to the distributor");
        assertEq(distributor.sourceChainId(), SOURCE_CHAIN_ID, "source chain");
        assertEq(distributor.epochCap(), EPOCH_CAP, "cap");
        assertEq(distributor.oracleSetGracePeriod(), GRACE_PERIOD, "grace");
        assertTrue(distributor.hasRole(distributor.DEFAULT_ADMIN_ROLE(), admin), "admin");
        assertTrue(distributor.hasRole(distributor.PAUSER_ROLE(), pauser), "pauser");
        assertEq(distributor.currentRoot(), bytes32(0), "no root");
        assertEq(distributor.lastEpoch(), 0, "no epoch");
        assertEq(distributor.totalPosted(), 0, "posted");
        assertEq(distributor.totalClaimed(), 0, "claimed");
        assertEq(distributor.oracleSetVersion(), 1, "set version");
        IRewardDistributor.OracleSet memory set = distributor.getOracleSet(1);
        assertEq(set.oracles.length, 3, "oracles");
        for (uint256 i = 0; i < 3; ++i) {
            assertEq(set.oracles[i], oracleAddrs[i], "oracle");
            assertTrue(distributor.isOracle(1, oracleAddrs[i]), "isOracle");
        }
        assertEq(set.threshold, 2, "threshold");
        assertEq(set.expiresAt, 0, "current set does not expire");
        assertFalse(distributor.isOracle(1, stranger), "stranger");
        assertEq(distributor.getOracleSet(2).oracles.length, 0, "unknown set is empty");
        assertFalse(distributor.paused(), "not paused");

        (, string memory name, string memory version, uint256 chainId, address verifyingContract, , ) = distributor
            .eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("SensorSeal Rewards"), "domain name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "domain version");
        assertEq(chainId, block.chainid, "domain chain");
        assertEq(verifyingContract, address(distributor), "domain contract");
    }

    function test_constructor_emitsEvents_succeeds() public {
        vm.expectEmit();
        emit IRewardDistributor.OracleSetRotated(1, oracleAddrs, 2);
        vm.expectEmit();
        emit IRewardDistributor.EpochCapUpdated(7);
        new RewardDistributor(token, SOURCE_CHAIN_ID, admin, oracleAddrs, 2, 7, GRACE_PERIOD, 0);
    }

    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(IRewardDistributor.RewardDistributorZeroToken.selector);
        new RewardDistributor(RewardToken(address(0)), SOURCE_CHAIN_ID, admin, oracleAddrs, 2, EPOCH_CAP, 0, 0);
    }

    function test_constructor_emptyOracleSet_reverts() public {
        vm.expectRevert(IRewardDistributor.RewardDistributorEmptyOracleSet.selector);
        new RewardDistributor(token, SOURCE_CHAIN_ID, admin, new address[](0), 1, EPOCH_CAP, 0, 0);
    }

    function test_constructor_zeroThreshold_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidThreshold.selector, 0, uint256(3))
        );
        new RewardDistributor(token, SOURCE_CHAIN_ID, admin, oracleAddrs, 0, EPOCH_CAP, 0, 0);
    }

    function test_constructor_thresholdAboveSize_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidThreshold.selector, 4, uint256(3))
        );
        new RewardDistributor(token, SOURCE_CHAIN_ID, admin, oracleAddrs, 4, EPOCH_CAP, 0, 0);
    }

    function test_constructor_zeroOracle_reverts() public {
        vm.expectRevert(IRewardDistributor.RewardDistributorZeroOracle.selector);
        new RewardDistributor(token, SOURCE_CHAIN_ID, admin, addrs2(oracleAddrs[0], address(0)), 1, EPOCH_CAP, 0, 0);
    }

    function test_constructor_duplicateOracle_reverts() public {
        address o = oracleAddrs[1];
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorDuplicateOracle.selector, o));
        new RewardDistributor(token, SOURCE_CHAIN_ID, admin, addrs3(oracleAddrs[0], o, o), 2, EPOCH_CAP, 0, 0);
    }

    function test_oracleMessageDigest_matchesEip712_succeeds() public view {
        IRewardDistributor.OracleMessage memory m = message(7, ROOT, 12345);
        m.rulesVersion = 3;
        m.oracleSetVersion = 9;
        assertEq(distributor.oracleMessageDigest(m), oracleDigest(m), "digest");
    }

    function test_claimDigest_matchesEip712_succeeds() public view {
        assertEq(
            distributor.claimDigest(alice, address(token), 10, bob, 3, T0 + 1 days),
            claimDigestOf(alice, 10, bob, 3, T0 + 1 days),
            "digest"
        );
    }

    function test_rewardLeaf_matchesStandardMerkleTree_succeeds() public {
        // Leaf hashes and root from @openzeppelin/merkle-tree's
        // StandardMerkleTree.of(values, ["address","address","uint256"]) (test/vectors/reward.json).
        address a = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;
        address b = 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC;
        address c = 0x90F79bf6EB2c4f870365E785982E1f101E93b906;
        address t = 0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512;
        assertEq(distributor.rewardLeaf(a, t, 1 ether), 0xf6cf95a2b56af3bcba1a09f61c06c6cb9c16ff15ec0131a78bd88e511bc74ed9);
        assertEq(distributor.rewardLeaf(b, t, 2500), 0x0811eb6177b284fb7a608fde9fee007c389fa5f5b07fb22acc1d1e6fffb5a7f1);
        assertEq(distributor.rewardLeaf(c, t, 7), 0xb5c554e533ec0d205b0f394bf4d5ca2fb100bfe53f4f95f0ed0c9acf16aae45f);
        leafToken = t;
        bytes32[] memory tree = rewardTree(addrs3(a, b, c), amounts3(1 ether, 2500, 7));
        assertEq(tree[0], 0xe8e3eac1c1fe11bb872bb88dcb6ad39fe7ffcb47bc535926e94f824798ad11a0, "root");
    }

    // ---------------------------------------------------------------- postRoot: accepted

    function test_postRoot_twoOfThree_succeeds() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 500 ether);
        m.rulesVersion = 4;
        bytes[] memory sigs = signByTwo(m);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootPosted(1, ROOT, 500 ether, 100, 199, 4, 1);
        vm.prank(relayer);
        distributor.postRoot(m, sigs);
        assertEq(distributor.currentRoot(), ROOT, "root");
        assertEq(distributor.lastEpoch(), 1, "epoch");
        assertEq(distributor.totalPosted(), 500 ether, "total");
        assertEq(token.totalSupply(), 0, "posting mints nothing");
    }

    function test_postRoot_everyPairOfOracles_succeeds() public {
        for (uint256 i = 0; i < 3; ++i) {
            IRewardDistributor.OracleMessage memory m = message(uint64(i + 1), keccak256(abi.encode(i)), i);
            distributor.postRoot(m, signMessage(m, keys2(oracleKeys[i], oracleKeys[(i + 1) % 3])));
            assertEq(distributor.lastEpoch(), i + 1, "epoch");
        }
    }

    function test_postRoot_allThreeOracles_succeeds() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        vm.prank(stranger); // anyone may post: the signatures are the authorization
        distributor.postRoot(m, signMessage(m, oracleKeys));
        assertEq(distributor.currentRoot(), ROOT, "root");
    }

    function test_postRoot_sameTotal_succeeds() public {
        post(message(1, ROOT, 10));
        post(message(2, keccak256("same total, new root"), 10));
        assertEq(distributor.totalPosted(), 10, "total");
        assertEq(distributor.currentRoot(), keccak256("same total, new root"), "root");
    }

    /// @dev Attack 4: one post of epoch 2^64 - 1 used to make every later root unpostable.
    function test_postRoot_epochGap_reverts() public {
        post(message(1, ROOT, 10));
        IRewardDistributor.OracleMessage memory m = message(2, keccak256("later"), 20);
        m.epoch = type(uint64).max;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorEpochGap.selector, type(uint64).max, uint64(2))
        );
        distributor.postRoot(m, sigs);
        post(message(2, keccak256("next"), 20));
        assertEq(distributor.lastEpoch(), 2, "the next epoch still posts");
    }

    function test_postRoot_firstEpochNotOne_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(2, ROOT, 10);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorEpochGap.selector, uint64(2), uint64(1))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_blockRangeGap_reverts() public {
        post(message(1, ROOT, 10)); // blocks 100..199
        IRewardDistributor.OracleMessage memory m = message(2, keccak256("2"), 20);
        m.fromBlock = 201;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorBlockRangeGap.selector, uint64(201), 200)
        );
        distributor.postRoot(m, sigs);

        m.fromBlock = 150; // overlapping
        sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorBlockRangeGap.selector, uint64(150), 200)
        );
        distributor.postRoot(m, sigs);
        assertEq(distributor.lastToBlock(), 199, "lastToBlock");
    }

    /// @dev A range ending at the largest block number makes the next post impossible without overflowing.
    function test_postRoot_afterMaxToBlock_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 10);
        m.toBlock = type(uint64).max;
        post(m);
        IRewardDistributor.OracleMessage memory next = message(2, keccak256("2"), 20);
        next.fromBlock = type(uint64).max;
        next.toBlock = type(uint64).max;
        bytes[] memory sigs = signByTwo(next);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorBlockRangeGap.selector,
                type(uint64).max,
                uint256(type(uint64).max) + 1
            )
        );
        distributor.postRoot(next, sigs);
    }

    // ---------------------------------------------------------------- challenge period and veto

    function test_postRoot_pendingDuringChallenge_succeeds() public {
        _setChallengePeriod(1 hours);
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        IRewardDistributor.PostedRoot memory pending = distributor.pendingRoot();
        assertEq(pending.root, tree[0], "pending root");
        assertEq(pending.epoch, 1, "pending epoch");
        assertEq(pending.cumulativeTotal, 350, "pending total");
        assertEq(pending.toBlock, 199, "pending toBlock");
        assertEq(pending.validAt, block.timestamp + 1 hours, "validAt");
        assertEq(distributor.currentRoot(), bytes32(0), "not active yet");
        assertEq(distributor.activeTotal(), 0, "active total");
        assertEq(distributor.lastEpoch(), 1, "last posted epoch");
        assertEq(distributor.totalPosted(), 350, "last posted total");

        bytes32[] memory proof = rewardProof(tree, alice, 100);
        vm.expectRevert(IRewardDistributor.RewardDistributorNoRoot.selector);
        claimAs(alice, 100, proof);

        vm.warp(block.timestamp + 1 hours);
        assertEq(distributor.currentRoot(), tree[0], "active once due");
        assertEq(distributor.activeTotal(), 350, "active total once due");
        assertEq(distributor.pendingRoot().root, bytes32(0), "no pending root");
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootActivated(1, tree[0]);
        assertEq(claimAs(alice, 100, proof), 100, "pays after the challenge period");
    }

    function test_postRoot_whilePending_reverts() public {
        _setChallengePeriod(1 hours);
        post(message(1, ROOT, 10));
        IRewardDistributor.OracleMessage memory m = message(2, keccak256("2"), 20);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorRootPending.selector,
                uint64(1),
                uint64(block.timestamp + 1 hours)
            )
        );
        distributor.postRoot(m, sigs);
        vm.warp(block.timestamp + 1 hours);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootActivated(1, ROOT);
        distributor.postRoot(m, sigs);
        assertEq(distributor.currentRoot(), ROOT, "epoch 1 active");
        assertEq(distributor.pendingRoot().root, keccak256("2"), "epoch 2 pending");
    }

    /// @dev Attack 4: a zero-increase root that hands the whole unclaimed backlog to one account used to pay at once.
    /// Now it waits for the challenge period, the guardian vetoes it, and the honest root of the epoch posts after.
    function test_vetoRoot_backlogRedistribution_succeeds() public {
        address guardian = makeAddr("guardian");
        _setChallengePeriod(1 hours);
        bytes32 guardianRole = distributor.GUARDIAN_ROLE();
        vm.prank(admin);
        distributor.grantRole(guardianRole, guardian);
        postTree(1, addrs2(alice, bob), amounts2(500_000 ether, 500_000 ether));
        vm.warp(block.timestamp + 1 hours);

        // A malicious threshold: the same total, all of it to the attacker.
        bytes32[] memory evil = rewardTree(addrs2(stranger, bob), amounts2(1_000_000 ether, 0));
        post(message(2, evil[0], 1_000_000 ether));
        bytes32[] memory evilProof = rewardProof(evil, stranger, 1_000_000 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInvalidProof.selector,
                stranger, address(token),
                1_000_000 ether
            )
        );
        claimAs(stranger, 1_000_000 ether, evilProof);

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootVetoed(2, evil[0], guardian);
        vm.prank(guardian);
        distributor.vetoRoot(2);
        assertEq(distributor.lastEpoch(), 1, "falls back to the active epoch");
        assertEq(distributor.lastToBlock(), 199, "falls back to the active range");
        assertEq(distributor.totalPosted(), 1_000_000 ether, "falls back to the active total");

        vm.warp(block.timestamp + 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInvalidProof.selector,
                stranger, address(token),
                1_000_000 ether
            )
        );
        claimAs(stranger, 1_000_000 ether, evilProof);
        bytes32[] memory honest = postTree(2, addrs2(alice, bob), amounts2(600_000 ether, 500_000 ether));
        vm.warp(block.timestamp + 1 hours);
        assertEq(claimAs(alice, 600_000 ether, rewardProof(honest, alice, 600_000 ether)), 600_000 ether, "honest");
        assertEq(token.balanceOf(stranger), 0, "attacker paid nothing");
    }

    function test_vetoRoot_notGuardian_reverts() public {
        _setChallengePeriod(1 hours);
        post(message(1, ROOT, 10));
        bytes32 role = distributor.GUARDIAN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        distributor.vetoRoot(1);
    }

    function test_vetoRoot_noPendingRoot_reverts() public {
        address guardian = _grantGuardian();
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorNoPendingRoot.selector, uint64(1)));
        vm.prank(guardian);
        distributor.vetoRoot(1);

        _setChallengePeriod(1 hours);
        post(message(1, ROOT, 10));
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorNoPendingRoot.selector, uint64(2)));
        vm.prank(guardian);
        distributor.vetoRoot(2);
    }

    function test_vetoRoot_afterChallenge_reverts() public {
        address guardian = _grantGuardian();
        _setChallengePeriod(1 hours);
        post(message(1, ROOT, 10));
        uint64 validAt = uint64(block.timestamp + 1 hours);
        vm.warp(validAt);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorChallengeOver.selector, uint64(1), validAt)
        );
        vm.prank(guardian);
        distributor.vetoRoot(1);
    }

    /// @dev Once a due root was made active (here by a post of the next epoch), vetoing it answers the same.
    function test_vetoRoot_activated_reverts() public {
        address guardian = _grantGuardian();
        _setChallengePeriod(1 hours);
        post(message(1, ROOT, 10));
        uint64 validAt = uint64(block.timestamp + 1 hours);
        vm.warp(validAt);
        post(message(2, keccak256("2"), 10));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorChallengeOver.selector, uint64(1), validAt)
        );
        vm.prank(guardian);
        distributor.vetoRoot(1);
    }

    function test_vetoRoot_whilePaused_succeeds() public {
        address guardian = _grantGuardian();
        _setChallengePeriod(1 hours);
        post(message(1, ROOT, 10));
        vm.prank(pauser);
        distributor.pause();
        vm.prank(guardian);
        distributor.vetoRoot(1);
        assertEq(distributor.lastEpoch(), 0, "vetoed");
    }

    function test_setChallengePeriod_succeeds() public {
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.ChallengePeriodUpdated(7 days);
        vm.prank(admin);
        distributor.setChallengePeriod(7 days);
        assertEq(distributor.challengePeriod(), 7 days, "period");
    }

    function test_setChallengePeriod_tooLong_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorChallengePeriodTooLong.selector,
                uint64(7 days + 1),
                uint64(7 days)
            )
        );
        vm.prank(admin);
        distributor.setChallengePeriod(7 days + 1);
    }

    function test_setChallengePeriod_notAdmin_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, bytes32(0))
        );
        vm.prank(stranger);
        distributor.setChallengePeriod(1);
    }

    /// @dev Whatever the leaves of roots that are vetoed, nothing is paid against them, and the state falls back.
    /// hardhat-config: fuzz.runs = 256
    function testFuzz_vetoRoot_vetoedRootNeverPays(uint96 amount, uint32 wait) public {
        amount = uint96(bound(amount, 1, EPOCH_CAP));
        address guardian = _grantGuardian();
        _setChallengePeriod(1 hours);
        bytes32[] memory evil = rewardTree(addrs2(stranger, bob), amounts2(amount, 0));
        post(message(1, evil[0], amount));
        vm.warp(block.timestamp + bound(wait, 0, 1 hours - 1));
        vm.prank(guardian);
        distributor.vetoRoot(1);
        vm.warp(block.timestamp + 30 days);
        bytes32[] memory proof = rewardProof(evil, stranger, amount);
        vm.expectRevert(IRewardDistributor.RewardDistributorNoRoot.selector);
        claimAs(stranger, amount, proof);
        assertEq(distributor.lastEpoch(), 0, "epoch");
        assertEq(distributor.totalPosted(), 0, "total");
    }

    function test_postRoot_atEpochCap_succeeds() public {
        post(message(1, ROOT, EPOCH_CAP));
        post(message(2, keccak256("2"), 2 * EPOCH_CAP));
        assertEq(distributor.totalPosted(), 2 * EPOCH_CAP, "total");
    }

    function test_postRoot_singleBlockRange_succeeds() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.fromBlock = 42;
        m.toBlock = 42;
        post(m);
        assertEq(distributor.lastEpoch(), 1, "epoch");
    }

    // ---------------------------------------------------------------- postRoot: rejected message

    function test_postRoot_zeroRoot_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, bytes32(0), 1);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(IRewardDistributor.RewardDistributorZeroRoot.selector);
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_zeroEpoch_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(0, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorStaleEpoch.selector, uint64(0), uint64(0))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_repeatedMessage_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        distributor.postRoot(m, sigs);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorStaleEpoch.selector, uint64(1), uint64(1))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_staleEpoch_reverts() public {
        post(message(1, ROOT, 10));
        post(message(2, keccak256("2"), 10));
        post(message(3, keccak256("3"), 10));
        IRewardDistributor.OracleMessage memory m = message(2, keccak256("older"), 20);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorStaleEpoch.selector, uint64(2), uint64(3))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_decreasingTotal_reverts() public {
        post(message(1, ROOT, 100));
        IRewardDistributor.OracleMessage memory m = message(2, keccak256("2"), 99);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorDecreasingTotal.selector, 99, uint256(100))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_epochCapExceeded_reverts() public {
        post(message(1, ROOT, 100));
        IRewardDistributor.OracleMessage memory m = message(2, keccak256("2"), 100 + EPOCH_CAP + 1);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorEpochCapExceeded.selector,
                EPOCH_CAP + 1,
                EPOCH_CAP
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_epochCapLowered_reverts() public {
        vm.prank(admin);
        distributor.setEpochCap(5);
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 6);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorEpochCapExceeded.selector, 6, uint256(5))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_wrongSourceChain_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.sourceChainId = 1;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorWrongSourceChain.selector,
                1,
                SOURCE_CHAIN_ID
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_wrongDestinationChain_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.destinationChainId = block.chainid + 1;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorWrongDestinationChain.selector,
                block.chainid + 1,
                block.chainid
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_chainForked_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        uint256 signedFor = block.chainid;
        vm.chainId(signedFor + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorWrongDestinationChain.selector,
                signedFor,
                signedFor + 1
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_wrongDistributor_reverts() public {
        RewardDistributor other = new RewardDistributor(token, SOURCE_CHAIN_ID, admin, oracleAddrs, 2, EPOCH_CAP, 0, 0);
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.distributor = address(other);
        bytes32 digest = oracleDigestAt(block.chainid, address(other), m);
        bytes[] memory sigs = signSorted(keys2(oracleKeys[0], oracleKeys[1]), digest);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorWrongDistributor.selector, address(other))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_invalidBlockRange_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.fromBlock = 200;
        m.toBlock = 199;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInvalidBlockRange.selector,
                uint64(200),
                uint64(199)
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_paused_reverts() public {
        vm.prank(pauser);
        distributor.pause();
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        distributor.postRoot(m, sigs);
    }

    // ---------------------------------------------------------------- postRoot: rejected signatures

    function test_postRoot_signedForOtherChain_reverts() public {
        // The message names this chain, but the oracles signed it in another chain's domain.
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes32 digest = oracleDigestAt(block.chainid + 1, address(distributor), m);
        bytes[] memory sigs = signSorted(keys2(oracleKeys[0], oracleKeys[1]), digest);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnknownSigner.selector,
                uint32(1),
                recovered(oracleDigest(m), sigs[0])
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_signedForOtherDistributor_reverts() public {
        // The message names this distributor, but the oracles signed it in another distributor's domain.
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes32 digest = oracleDigestAt(block.chainid, makeAddr("other distributor"), m);
        bytes[] memory sigs = signSorted(keys2(oracleKeys[0], oracleKeys[1]), digest);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnknownSigner.selector,
                uint32(1),
                recovered(oracleDigest(m), sigs[0])
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_tamperedMessage_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        m.cumulativeTotal = 1000; // the relayer raises the total the oracles signed
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnknownSigner.selector,
                uint32(1),
                recovered(oracleDigest(m), sigs[0])
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_insufficientSignatures_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory one = new bytes[](1);
        one[0] = sign(oracleKeys[0], oracleDigest(m));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInsufficientSignatures.selector,
                uint256(1),
                uint256(2)
            )
        );
        distributor.postRoot(m, one);

        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInsufficientSignatures.selector,
                uint256(0),
                uint256(2)
            )
        );
        distributor.postRoot(m, new bytes[](0));
    }

    function test_postRoot_duplicatedSigner_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = new bytes[](2);
        sigs[0] = sign(oracleKeys[0], oracleDigest(m));
        sigs[1] = sigs[0];
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnsortedSigners.selector,
                oracleAddrs[0],
                oracleAddrs[0]
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_duplicatedSignerOtherSignature_reverts() public {
        // The same oracle twice with two different (both valid) encodings: still one signer.
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = new bytes[](2);
        sigs[0] = sign(oracleKeys[0], oracleDigest(m));
        sigs[1] = sign(oracleKeys[0], oracleDigest(m));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnsortedSigners.selector,
                oracleAddrs[0],
                oracleAddrs[0]
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_unsortedSigners_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sorted = signByTwo(m);
        bytes[] memory sigs = new bytes[](2);
        sigs[0] = sorted[1];
        sigs[1] = sorted[0];
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnsortedSigners.selector,
                recovered(oracleDigest(m), sorted[1]),
                recovered(oracleDigest(m), sorted[0])
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_unknownSigner_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        uint256 outsider = 0xBAD;
        bytes[] memory sigs = signMessage(m, keys2(oracleKeys[0], outsider));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnknownSigner.selector,
                uint32(1),
                vm.addr(outsider)
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_highSSignature_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        sigs[1] = highS(sigs[1]);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidSignature.selector, 1));
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_shortSignature_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        bytes memory full = sigs[0];
        bytes memory short = new bytes(64);
        for (uint256 i = 0; i < 64; ++i) short[i] = full[i];
        sigs[0] = short;
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidSignature.selector, 0));
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_invalidExtraSignature_reverts() public {
        // Two valid signatures reach the threshold, but every signature given must be valid.
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory two = signByTwo(m);
        bytes[] memory sigs = new bytes[](3);
        sigs[0] = two[0];
        sigs[1] = two[1];
        sigs[2] = new bytes(65);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidSignature.selector, 2));
        distributor.postRoot(m, sigs);
    }

    // ---------------------------------------------------------------- postRoot: oracle set versions

    function test_postRoot_unknownOracleSet_reverts() public {
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.oracleSetVersion = 2;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnknownOracleSet.selector, uint32(2))
        );
        distributor.postRoot(m, sigs);

        m.oracleSetVersion = 0;
        sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnknownOracleSet.selector, uint32(0))
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_newOracleSet_succeeds() public {
        uint256[] memory newKeys = keys2(0xD4, 0xE5);
        _rotate(addrs2(vm.addr(newKeys[0]), vm.addr(newKeys[1])), 2);
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.oracleSetVersion = 2;
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.RootPosted(1, ROOT, 1, 100, 199, RULES_VERSION, 2);
        distributor.postRoot(m, signMessage(m, newKeys));
    }

    function test_postRoot_oldOracleNamingNewSet_reverts() public {
        uint256[] memory newKeys = keys2(0xD4, 0xE5);
        _rotate(addrs2(vm.addr(newKeys[0]), vm.addr(newKeys[1])), 1);
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.oracleSetVersion = 2;
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorUnknownSigner.selector,
                uint32(2),
                recovered(oracleDigest(m), sigs[0])
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_previousSetWithinGracePeriod_succeeds() public {
        _rotate(addrs2(vm.addr(0xD4), vm.addr(0xE5)), 2);
        vm.warp(block.timestamp + GRACE_PERIOD - 1);
        post(message(1, ROOT, 1)); // still signed by set 1
        assertEq(distributor.currentRoot(), ROOT, "root");
    }

    function test_postRoot_expiredOracleSet_reverts() public {
        _rotate(addrs2(vm.addr(0xD4), vm.addr(0xE5)), 2);
        uint64 expiresAt = uint64(block.timestamp + GRACE_PERIOD);
        vm.warp(expiresAt);
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorOracleSetExpired.selector,
                uint32(1),
                expiresAt
            )
        );
        distributor.postRoot(m, sigs);
    }

    function test_postRoot_olderSetAfterSecondRotation_reverts() public {
        _rotate(addrs2(vm.addr(0xD4), vm.addr(0xE5)), 2);
        vm.warp(block.timestamp + 1 hours); // set 1 is in its grace period…
        _rotate(addrs2(vm.addr(0xF6), vm.addr(0xA7)), 2); // …which a second rotation ends at once
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signByTwo(m);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorOracleSetExpired.selector,
                uint32(1),
                uint64(block.timestamp)
            )
        );
        distributor.postRoot(m, sigs);

        // set 2 is now the one in its grace period
        m.oracleSetVersion = 2;
        distributor.postRoot(m, signMessage(m, keys2(0xD4, 0xE5)));
        assertEq(distributor.lastEpoch(), 1, "posted with set 2");
    }

    function test_postRoot_thresholdOfNamedSet_reverts() public {
        // Set 2 needs 3 of 3: two signatures that satisfy set 1 do not satisfy set 2.
        uint256[] memory newKeys = new uint256[](3);
        newKeys[0] = 0xD4;
        newKeys[1] = 0xE5;
        newKeys[2] = oracleKeys[0];
        _rotate(addrs3(vm.addr(0xD4), vm.addr(0xE5), oracleAddrs[0]), 3);
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        m.oracleSetVersion = 2;
        bytes[] memory sigs = signMessage(m, keys2(0xD4, 0xE5));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInsufficientSignatures.selector,
                uint256(2),
                uint256(3)
            )
        );
        distributor.postRoot(m, sigs);
        distributor.postRoot(m, signMessage(m, newKeys));
    }

    // ---------------------------------------------------------------- rotateOracleSet

    function test_rotateOracleSet_succeeds() public {
        address[] memory next = addrs2(vm.addr(0xD4), vm.addr(0xE5));
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.OracleSetExpirySet(1, uint64(block.timestamp + GRACE_PERIOD));
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.OracleSetRotated(2, next, 1);
        vm.prank(admin);
        assertEq(distributor.rotateOracleSet(next, 1), 2, "version");

        assertEq(distributor.oracleSetVersion(), 2, "current");
        IRewardDistributor.OracleSet memory set = distributor.getOracleSet(2);
        assertEq(set.oracles.length, 2, "size");
        assertEq(set.oracles[0], next[0], "oracle 0");
        assertEq(set.oracles[1], next[1], "oracle 1");
        assertEq(set.threshold, 1, "threshold");
        assertEq(set.expiresAt, 0, "current set does not expire");
        assertEq(distributor.getOracleSet(1).expiresAt, block.timestamp + GRACE_PERIOD, "previous expires");
        assertTrue(distributor.isOracle(2, next[0]), "member");
        assertFalse(distributor.isOracle(2, oracleAddrs[0]), "old member not in the new set");
        assertTrue(distributor.isOracle(1, oracleAddrs[0]), "old set unchanged");
    }

    function test_rotateOracleSet_secondRotationExpiresOlderSet_succeeds() public {
        _rotate(addrs1(vm.addr(0xD4)), 1);
        vm.warp(block.timestamp + 10);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.OracleSetExpirySet(1, uint64(block.timestamp));
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.OracleSetExpirySet(2, uint64(block.timestamp + GRACE_PERIOD));
        _rotate(addrs1(vm.addr(0xE5)), 1);
        assertEq(distributor.getOracleSet(1).expiresAt, block.timestamp, "set 1 ends now");
        assertEq(distributor.getOracleSet(2).expiresAt, block.timestamp + GRACE_PERIOD, "set 2 in grace");
    }

    function test_rotateOracleSet_afterGraceOver_keepsOlderExpiry_succeeds() public {
        _rotate(addrs1(vm.addr(0xD4)), 1);
        uint256 firstExpiry = block.timestamp + GRACE_PERIOD;
        vm.warp(block.timestamp + GRACE_PERIOD + 5);
        _rotate(addrs1(vm.addr(0xE5)), 1);
        assertEq(distributor.getOracleSet(1).expiresAt, firstExpiry, "already expired: unchanged");
    }

    function test_rotateOracleSet_zeroGracePeriod_succeeds() public {
        RewardDistributor d = new RewardDistributor(token, SOURCE_CHAIN_ID, admin, oracleAddrs, 2, EPOCH_CAP, 0, 0);
        vm.prank(admin);
        d.rotateOracleSet(addrs1(vm.addr(0xD4)), 1);
        assertEq(d.getOracleSet(1).expiresAt, block.timestamp, "expires at once");
    }

    function test_rotateOracleSet_hugeGracePeriodSaturates_succeeds() public {
        RewardDistributor d = new RewardDistributor(
            token,
            SOURCE_CHAIN_ID,
            admin,
            oracleAddrs,
            2,
            EPOCH_CAP,
            type(uint64).max
        , 0);
        vm.prank(admin);
        d.rotateOracleSet(addrs1(vm.addr(0xD4)), 1);
        assertEq(d.getOracleSet(1).expiresAt, type(uint64).max, "saturated");
    }

    function test_rotateOracleSet_notAdmin_reverts() public {
        bytes32 role = distributor.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        distributor.rotateOracleSet(addrs1(stranger), 1);
    }

    function test_rotateOracleSet_empty_reverts() public {
        vm.expectRevert(IRewardDistributor.RewardDistributorEmptyOracleSet.selector);
        vm.prank(admin);
        distributor.rotateOracleSet(new address[](0), 0);
    }

    function test_rotateOracleSet_zeroThreshold_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidThreshold.selector, 0, uint256(1))
        );
        vm.prank(admin);
        distributor.rotateOracleSet(addrs1(stranger), 0);
    }

    function test_rotateOracleSet_thresholdAboveSize_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidThreshold.selector, 3, uint256(2))
        );
        vm.prank(admin);
        distributor.rotateOracleSet(addrs2(stranger, relayer), 3);
    }

    function test_rotateOracleSet_zeroOracle_reverts() public {
        vm.expectRevert(IRewardDistributor.RewardDistributorZeroOracle.selector);
        vm.prank(admin);
        distributor.rotateOracleSet(addrs2(stranger, address(0)), 1);
    }

    function test_rotateOracleSet_duplicateOracle_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.RewardDistributorDuplicateOracle.selector, stranger));
        vm.prank(admin);
        distributor.rotateOracleSet(addrs3(relayer, stranger, stranger), 1);
    }

    // ---------------------------------------------------------------- setEpochCap / pause

    function test_setEpochCap_succeeds() public {
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.EpochCapUpdated(123);
        vm.prank(admin);
        distributor.setEpochCap(123);
        assertEq(distributor.epochCap(), 123, "cap");
    }

    function test_setEpochCap_notAdmin_reverts() public {
        bytes32 role = distributor.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, pauser, role));
        vm.prank(pauser);
        distributor.setEpochCap(0);
    }

    function test_pause_succeeds() public {
        vm.expectEmit(address(distributor));
        emit Pausable.Paused(pauser);
        vm.prank(pauser);
        distributor.pause();
        assertTrue(distributor.paused(), "paused");

        vm.expectEmit(address(distributor));
        emit Pausable.Unpaused(pauser);
        vm.prank(pauser);
        distributor.unpause();
        assertFalse(distributor.paused(), "unpaused");
    }

    function test_pause_notPauser_reverts() public {
        bytes32 role = distributor.PAUSER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        distributor.pause();
    }

    function test_unpause_notPauser_reverts() public {
        vm.prank(pauser);
        distributor.pause();
        bytes32 role = distributor.PAUSER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        distributor.unpause();
    }

    function test_unpause_claimWorksAgain_succeeds() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(10, 20));
        vm.prank(pauser);
        distributor.pause();
        bytes32[] memory proof = rewardProof(tree, alice, 10);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        claimAs(alice, 10, proof);
        vm.prank(pauser);
        distributor.unpause();
        claimAs(alice, 10, proof);
        assertEq(token.balanceOf(alice), 10, "paid after unpause");
    }

    // ---------------------------------------------------------------- claim

    function test_claim_succeeds() public {
        bytes32[] memory tree = postTree(1, addrs3(alice, bob, carol), amounts3(100, 250, 7));
        bytes32[] memory proof = rewardProof(tree, bob, 250);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(bob, address(token), bob, 250, 250);
        assertEq(claimAs(bob, 250, proof), 250, "amount");
        assertEq(token.balanceOf(bob), 250, "balance");
        assertEq(distributor.claimed(bob), 250, "claimed");
        assertEq(distributor.totalClaimed(), 250, "total claimed");
        assertEq(token.totalSupply(), 250, "supply");
        assertTrue(MerkleProof.verify(proof, distributor.currentRoot(), distributor.rewardLeaf(bob, address(token), 250)), "OZ");
    }

    /// @dev Attack 10: a plain claim by another account used to front-run a relayed claimWithSignature, paying the
    /// account instead of the recipient it signed for.
    function test_claim_byOtherAccount_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        bytes32[] memory proof = rewardProof(tree, alice, 100);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnauthorizedClaim.selector, stranger, alice)
        );
        vm.prank(stranger);
        distributor.claim(alice, address(token), 100, proof);
    }

    /// @dev Attack 10: the front-runner can only submit the same relayed claim, which pays the signed recipient.
    function test_claimWithSignature_frontRun_paysSignedRecipient_succeeds() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnauthorizedClaim.selector, stranger, carol)
        );
        vm.prank(stranger);
        distributor.claim(carol, address(token), 250, proof);
        vm.prank(stranger);
        distributor.claimWithSignature(carol, address(token), 250, proof, bob, deadline, sig);
        assertEq(token.balanceOf(bob), 250, "signed recipient paid");
        assertEq(token.balanceOf(carol), 0, "account not paid");
    }

    function test_claim_singleLeafTree_succeeds() public {
        postTree(1, addrs1(alice), amounts1(42));
        claimAs(alice, 42, new bytes32[](0));
        assertEq(token.balanceOf(alice), 42, "balance");
    }

    function test_claim_double_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        bytes32[] memory proof = rewardProof(tree, alice, 100);
        claimAs(alice, 100, proof);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorNothingToClaim.selector,
                alice, address(token),
                100,
                uint256(100)
            )
        );
        claimAs(alice, 100, proof);
        assertEq(token.balanceOf(alice), 100, "paid once");
    }

    function test_claim_cumulativeAfterUpdate_succeeds() public {
        bytes32[] memory tree1 = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        claimAs(alice, 100, rewardProof(tree1, alice, 100));
        bytes32[] memory tree2 = postTree(2, addrs2(alice, bob), amounts2(160, 300));

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(alice, address(token), alice, 60, 160);
        assertEq(claimAs(alice, 160, rewardProof(tree2, alice, 160)), 60, "pays the difference");
        assertEq(claimAs(bob, 300, rewardProof(tree2, bob, 300)), 300, "unclaimed epochs add up");
        assertEq(token.balanceOf(alice), 160, "alice");
        assertEq(token.balanceOf(bob), 300, "bob");
        assertEq(distributor.totalClaimed(), 460, "total");
    }

    function test_claim_oldRootAfterUpdate_reverts() public {
        bytes32[] memory tree1 = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        postTree(2, addrs2(alice, bob), amounts2(160, 300));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, alice, address(token), 100)
        );
        claimAs(alice, 100, rewardProof(tree1, alice, 100));
    }

    function test_claim_noRoot_reverts() public {
        vm.expectRevert(IRewardDistributor.RewardDistributorNoRoot.selector);
        claimAs(alice, 1, new bytes32[](0));
    }

    function test_claim_wrongAmount_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        bytes32[] memory proof = rewardProof(tree, alice, 100);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, alice, address(token), 101)
        );
        claimAs(alice, 101, proof);
    }

    function test_claim_anotherAccountsEntitlement_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        bytes32[] memory proof = rewardProof(tree, bob, 250);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, alice, address(token), 250)
        );
        claimAs(alice, 250, proof);
    }

    function test_claim_zeroAccount_reverts() public {
        postTree(1, addrs1(alice), amounts1(1));
        vm.expectRevert(IRewardDistributor.RewardDistributorZeroRecipient.selector);
        claimAs(address(0), 1, new bytes32[](0));
    }

    function test_claim_lowerInNewerRoot_reverts() public {
        bytes32[] memory tree1 = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        claimAs(alice, 100, rewardProof(tree1, alice, 100));
        bytes32[] memory tree2 = postTree(2, addrs2(alice, bob), amounts2(90, 300));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorNothingToClaim.selector,
                alice, address(token),
                90,
                uint256(100)
            )
        );
        claimAs(alice, 90, rewardProof(tree2, alice, 90));
    }

    function test_claim_leavesAboveTotal_reverts() public {
        // A root whose leaves add up to more than the total the oracles signed pays out at most that total.
        bytes32[] memory tree = rewardTree(addrs2(alice, bob), amounts2(100, 250));
        post(message(1, tree[0], 300));
        claimAs(bob, 250, rewardProof(tree, bob, 250));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorExceedsPostedTotal.selector, address(token),
                uint256(350),
                uint256(300)
            )
        );
        claimAs(alice, 100, rewardProof(tree, alice, 100));
    }

    function test_claim_paused_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        bytes32[] memory proof = rewardProof(tree, alice, 100);
        vm.prank(pauser);
        distributor.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        claimAs(alice, 100, proof);
    }

    function test_claim_onlyDistributorMints_succeeds() public {
        // The token's supply only grows through claims: the admin, an oracle or the deployer cannot mint.
        bytes32[] memory tree = postTree(1, addrs2(alice, bob), amounts2(100, 250));
        address[4] memory others = [admin, oracleAddrs[0], address(this), stranger];
        for (uint256 i = 0; i < others.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRewardToken.RewardTokenUnauthorizedMinter.selector, others[i]));
            vm.prank(others[i]);
            token.mint(others[i], 1);
        }
        claimAs(alice, 100, rewardProof(tree, alice, 100));
        assertEq(token.totalSupply(), distributor.totalClaimed(), "supply = claims");
        assertEq(token.totalSupply(), 100, "supply");
    }

    // ---------------------------------------------------------------- claimWithSignature

    function test_claimWithSignature_succeeds() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(carol, address(token), bob, 250, 250);
        vm.prank(relayer);
        uint256 amount = distributor.claimWithSignature(carol, address(token), 250, rewardProof(tree, carol, 250), bob, deadline, sig);
        assertEq(amount, 250, "amount");
        assertEq(token.balanceOf(bob), 250, "recipient paid");
        assertEq(token.balanceOf(carol), 0, "account not paid");
        assertEq(token.balanceOf(relayer), 0, "relayer not paid");
        assertEq(distributor.claimed(carol), 250, "claimed");
        assertEq(distributor.nonces(carol), 1, "nonce used");
    }

    function test_claimWithSignature_atDeadline_succeeds() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 60;
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, carol, 0, deadline));
        vm.warp(deadline);
        distributor.claimWithSignature(carol, address(token), 250, rewardProof(tree, carol, 250), carol, deadline, sig);
        assertEq(token.balanceOf(carol), 250, "paid");
    }

    function test_claimWithSignature_wrongSigner_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(0xBAD, claimDigestOf(carol, 250, stranger, 0, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidClaimSignature.selector, carol)
        );
        distributor.claimWithSignature(carol, address(token), 250, proof, stranger, deadline, sig);
        assertEq(distributor.nonces(carol), 0, "nonce not consumed");
    }

    function test_claimWithSignature_otherRecipient_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidClaimSignature.selector, carol)
        );
        vm.prank(relayer);
        distributor.claimWithSignature(carol, address(token), 250, proof, relayer, deadline, sig); // the relayer redirects the payout
    }

    function test_claimWithSignature_expiredDeadline_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 60;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorExpiredSignature.selector, deadline)
        );
        distributor.claimWithSignature(carol, address(token), 250, proof, bob, deadline, sig);
    }

    function test_claimWithSignature_replayedNonce_reverts() public {
        bytes32[] memory tree1 = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 days;
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        distributor.claimWithSignature(carol, address(token), 250, rewardProof(tree1, carol, 250), bob, deadline, sig);

        // The same signed claim again: its nonce is used, so it no longer matches.
        bytes32[] memory proof = rewardProof(tree1, carol, 250);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidClaimSignature.selector, carol)
        );
        distributor.claimWithSignature(carol, address(token), 250, proof, bob, deadline, sig);
        assertEq(token.balanceOf(bob), 250, "paid once");
    }

    function test_claimWithSignature_nonceBindsEachClaim_succeeds() public {
        bytes32[] memory tree1 = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 days;
        bytes memory sig0 = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        distributor.claimWithSignature(carol, address(token), 250, rewardProof(tree1, carol, 250), bob, deadline, sig0);

        bytes32[] memory tree2 = postTree(2, addrs2(alice, carol), amounts2(100, 400));
        bytes memory sig1 = sign(carolKey, claimDigestOf(carol, 400, bob, 1, deadline));
        assertEq(
            distributor.claimWithSignature(carol, address(token), 400, rewardProof(tree2, carol, 400), bob, deadline, sig1),
            150,
            "second claim pays the difference"
        );
        assertEq(distributor.nonces(carol), 2, "two nonces used");
        assertEq(token.balanceOf(bob), 400, "recipient");
    }

    function test_claimWithSignature_signedForOtherDistributor_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes32 structHash = keccak256(abi.encode(CLAIM_TYPEHASH, carol, uint256(250), bob, uint256(0), deadline));
        bytes memory sig = sign(
            carolKey,
            typedDigest(rewardDomainSeparator(block.chainid, makeAddr("other distributor")), structHash)
        );
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidClaimSignature.selector, carol)
        );
        distributor.claimWithSignature(carol, address(token), 250, proof, bob, deadline, sig);
    }

    function test_claimWithSignature_zeroRecipient_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, address(0), 0, deadline));
        vm.expectRevert(IRewardDistributor.RewardDistributorZeroRecipient.selector);
        distributor.claimWithSignature(carol, address(token), 250, proof, address(0), deadline, sig);
    }

    function test_claimWithSignature_invalidProof_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 251, bob, 0, deadline));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, carol, address(token), 251)
        );
        distributor.claimWithSignature(carol, address(token), 251, proof, bob, deadline, sig);
    }

    function test_claimWithSignature_afterDirectClaim_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        claimAs(carol, 250, proof); // carol claims it herself first
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorNothingToClaim.selector,
                carol, address(token),
                250,
                uint256(250)
            )
        );
        distributor.claimWithSignature(carol, address(token), 250, proof, bob, deadline, sig);
        assertEq(token.balanceOf(carol), 250, "paid to carol once");
    }

    function test_claimWithSignature_paused_reverts() public {
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(carolKey, claimDigestOf(carol, 250, bob, 0, deadline));
        vm.prank(pauser);
        distributor.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        distributor.claimWithSignature(carol, address(token), 250, proof, bob, deadline, sig);
    }

    function test_claimWithSignature_erc1271Wallet_succeeds() public {
        MockERC1271Wallet wallet = new MockERC1271Wallet(carol);
        bytes32[] memory tree = postTree(1, addrs2(alice, address(wallet)), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = sign(carolKey, claimDigestOf(address(wallet), 250, bob, 0, deadline));
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(address(wallet), address(token), bob, 250, 250);
        bytes32[] memory proof = rewardProof(tree, address(wallet), 250);
        distributor.claimWithSignature(address(wallet), address(token), 250, proof, bob, deadline, sig);
        assertEq(token.balanceOf(bob), 250, "recipient paid");
        assertEq(distributor.nonces(address(wallet)), 1, "nonce used");
    }

    function test_claimWithSignature_erc1271WalletRejects_reverts() public {
        MockERC1271Wallet wallet = new MockERC1271Wallet(carol);
        bytes32[] memory tree = postTree(1, addrs2(alice, address(wallet)), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, address(wallet), 250);
        bytes memory sig = sign(carolKey, claimDigestOf(address(wallet), 250, bob, 0, deadline));
        wallet.setRejectAll(true);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRewardDistributor.RewardDistributorInvalidClaimSignature.selector,
                address(wallet)
            )
        );
        distributor.claimWithSignature(address(wallet), address(token), 250, proof, bob, deadline, sig);
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Posts a sequence of roots in which one account's entitlement moves up and down, and claims after each:
    /// every claim pays exactly the rise over the highest amount claimed so far, or reverts with nothing to claim.
    /// hardhat-config: fuzz.runs = 2048
    function testFuzz_claim_paysExactlyTheRise(uint96[6] memory entitlements, bool[6] memory skip) public {
        uint256 claimedSoFar = 0;
        uint256 posted = 0;
        for (uint256 i = 0; i < entitlements.length; ++i) {
            uint256 amount = uint256(entitlements[i]) % (EPOCH_CAP / 2);
            // bob's entitlement grows so that the cumulative total never decreases
            uint256 bobAmount = posted + 1;
            bytes32[] memory tree = postTree(uint64(i + 1), addrs2(alice, bob), amounts2(amount, bobAmount));
            posted = amount + bobAmount;
            if (skip[i]) continue;
            bytes32[] memory proof = rewardProof(tree, alice, amount);
            if (amount <= claimedSoFar) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IRewardDistributor.RewardDistributorNothingToClaim.selector,
                        alice, address(token),
                        amount,
                        claimedSoFar
                    )
                );
                claimAs(alice, amount, proof);
            } else {
                assertEq(claimAs(alice, amount, proof), amount - claimedSoFar, "pays the rise");
                claimedSoFar = amount;
            }
            assertEq(token.balanceOf(alice), claimedSoFar, "balance = highest claimed");
            assertEq(distributor.claimed(alice), claimedSoFar, "claimed");
            assertLe(distributor.totalClaimed(), distributor.totalPosted(), "claimed <= posted");
        }
    }

    /// @dev Any subset of the oracles, in any order, possibly repeated: accepted iff at least two distinct oracles
    /// sign in strictly ascending order, and otherwise rejected with the first failing check's error.
    /// hardhat-config: fuzz.runs = 2048
    function testFuzz_postRoot_signerSelection(uint8[4] memory picks, uint8 count) public {
        count = uint8(bound(count, 0, 4));
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes32 digest = oracleDigest(m);
        bytes[] memory sigs = new bytes[](count);
        address[] memory signers = new address[](count);
        for (uint256 i = 0; i < count; ++i) {
            uint256 key = oracleKeys[picks[i] % 3];
            sigs[i] = sign(key, digest);
            signers[i] = vm.addr(key);
        }
        if (count < 2) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorInsufficientSignatures.selector,
                    uint256(count),
                    uint256(2)
                )
            );
        } else {
            for (uint256 i = 1; i < count; ++i) {
                if (signers[i] <= signers[i - 1]) {
                    vm.expectRevert(
                        abi.encodeWithSelector(
                            IRewardDistributor.RewardDistributorUnsortedSigners.selector,
                            signers[i - 1],
                            signers[i]
                        )
                    );
                    distributor.postRoot(m, sigs);
                    assertEq(distributor.lastEpoch(), 0, "rejected");
                    return;
                }
            }
            distributor.postRoot(m, sigs);
            assertEq(distributor.currentRoot(), ROOT, "accepted");
            return;
        }
        distributor.postRoot(m, sigs);
    }

    /// @dev Any signing key outside the set is rejected, whatever it signs.
    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_postRoot_outsiderSigner_reverts(uint256 outsiderKey) public {
        outsiderKey = bound(outsiderKey, 1, SECP256K1_N - 1);
        address outsider = vm.addr(outsiderKey);
        vm.assume(!distributor.isOracle(1, outsider));
        IRewardDistributor.OracleMessage memory m = message(1, ROOT, 1);
        bytes[] memory sigs = signMessage(m, keys2(oracleKeys[0], outsiderKey));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorUnknownSigner.selector, uint32(1), outsider)
        );
        distributor.postRoot(m, sigs);
    }

    /// @dev Epochs and totals: a message is accepted iff its epoch is the last plus one, its total not below the last
    /// and not above it by more than the cap; the state only moves forward.
    /// hardhat-config: fuzz.runs = 2048
    function testFuzz_postRoot_epochsAndTotals(uint8[6] memory epochSteps, uint256[6] memory totalSteps) public {
        uint64 lastEpoch_ = 0;
        uint256 lastTotal = 0;
        for (uint256 i = 0; i < 6; ++i) {
            uint64 epoch = uint64(epochSteps[i] % 4) + (lastEpoch_ > 0 ? lastEpoch_ - 1 : 0); // sometimes stale
            // a total around the last one: below, equal, within the cap, or above it
            uint256 pick = totalSteps[i] % 4;
            uint256 total = pick == 0
                ? (lastTotal > 0 ? lastTotal - 1 - (totalSteps[i] >> 8) % lastTotal : 0)
                : pick == 1
                    ? lastTotal
                    : pick == 2
                        ? lastTotal + bound(totalSteps[i] >> 8, 1, EPOCH_CAP)
                        : lastTotal + EPOCH_CAP + 1 + ((totalSteps[i] >> 8) % 1000);
            IRewardDistributor.OracleMessage memory m = message(epoch, keccak256(abi.encode(i)), total);
            bytes[] memory sigs = signByTwo(m);
            m.fromBlock = lastEpoch_ * 100 + 100; // contiguous after the last accepted epoch
            m.toBlock = m.fromBlock + 99;
            sigs = signByTwo(m);
            if (epoch <= lastEpoch_) {
                vm.expectRevert(
                    abi.encodeWithSelector(IRewardDistributor.RewardDistributorStaleEpoch.selector, epoch, lastEpoch_)
                );
            } else if (epoch != lastEpoch_ + 1) {
                vm.expectRevert(
                    abi.encodeWithSelector(IRewardDistributor.RewardDistributorEpochGap.selector, epoch, lastEpoch_ + 1)
                );
            } else if (total < lastTotal) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IRewardDistributor.RewardDistributorDecreasingTotal.selector,
                        total,
                        lastTotal
                    )
                );
            } else if (total - lastTotal > EPOCH_CAP) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IRewardDistributor.RewardDistributorEpochCapExceeded.selector,
                        total - lastTotal,
                        EPOCH_CAP
                    )
                );
            } else {
                distributor.postRoot(m, sigs);
                lastEpoch_ = epoch;
                lastTotal = total;
                assertEq(distributor.lastEpoch(), lastEpoch_, "epoch");
                assertEq(distributor.totalPosted(), lastTotal, "total");
                continue;
            }
            distributor.postRoot(m, sigs);
            assertEq(distributor.lastEpoch(), lastEpoch_, "epoch unchanged");
            assertEq(distributor.totalPosted(), lastTotal, "total unchanged");
        }
    }

    /// @dev A relayed claim pays only with the account's own signature over the exact claim.
    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_claimWithSignature_onlyAccountKey(uint256 signerKey, address recipient, uint32 delay) public {
        signerKey = bound(signerKey, 1, SECP256K1_N - 1);
        vm.assume(recipient != address(0));
        bytes32[] memory tree = postTree(1, addrs2(alice, carol), amounts2(100, 250));
        uint256 deadline = block.timestamp + 1 hours;
        bytes32[] memory proof = rewardProof(tree, carol, 250);
        bytes memory sig = sign(signerKey, claimDigestOf(carol, 250, recipient, 0, deadline));
        vm.warp(block.timestamp + delay);
        if (block.timestamp > deadline) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorExpiredSignature.selector, deadline)
            );
        } else if (signerKey != carolKey) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidClaimSignature.selector, carol)
            );
        } else {
            uint256 before = token.balanceOf(recipient);
            distributor.claimWithSignature(carol, address(token), 250, proof, recipient, deadline, sig);
            assertEq(token.balanceOf(recipient), before + 250, "recipient paid");
            return;
        }
        distributor.claimWithSignature(carol, address(token), 250, proof, recipient, deadline, sig);
        assertEq(distributor.claimed(carol), 0, "nothing claimed");
    }

    /// @dev Claims with random proofs never pay.
    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_claim_randomProof_reverts(address account, uint256 cumulative, bytes32[3] memory junk) public {
        vm.assume(account != address(0));
        postTree(1, addrs2(alice, bob), amounts2(100, 250));
        bytes32[] memory proof = new bytes32[](3);
        for (uint256 i = 0; i < 3; ++i) proof[i] = junk[i];
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, account, address(token), cumulative)
        );
        claimAs(account, cumulative, proof);
    }

    // ---------------------------------------------------------------- helpers

    function _rotate(address[] memory oracles, uint32 threshold) internal {
        vm.prank(admin);
        distributor.rotateOracleSet(oracles, threshold);
    }

    function _setChallengePeriod(uint64 period) private {
        vm.prank(admin);
        distributor.setChallengePeriod(period);
    }

    function _grantGuardian() private returns (address guardian) {
        guardian = makeAddr("guardian");
        bytes32 role = distributor.GUARDIAN_ROLE();
        vm.prank(admin);
        distributor.grantRole(role, guardian);
    }
}
