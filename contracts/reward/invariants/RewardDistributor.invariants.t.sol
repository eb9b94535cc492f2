// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {Test} from "../../test/Test.t.sol";
import {IRewardDistributor} from "../../interfaces/IRewardDistributor.sol";
import {RewardDistributor} from "../RewardDistributor.sol";
import {RewardToken} from "../RewardToken.sol";
import {RewardKeys} from "../RewardFixture.t.sol";

// The handler lives in the same file as its invariant suite: Hardhat emits artifacts only for the test files it
// builds as roots, and the invariant runner needs the handler's artifact to call it.

/// @dev Drives a RewardDistributor as the oracle committee (posting roots of four accounts' entitlements, sometimes
/// stale, decreasing, over the cap, under-signed, unsorted, overstated or signed by an expired set), as anyone
/// claiming (sometimes with the proof of a superseded root), as relayers of signed claims (sometimes expired,
/// forged or replayed), and as the admin rotating the oracle set. Each action predicts its outcome from a model: an
/// allowed action must succeed (the invariant runs fail on any revert) and a forbidden one must revert with the
/// exact error.
contract RewardDistributorHandler is RewardKeys {
    uint256 internal constant ACCOUNTS = 4;
    uint256 internal constant RECIPIENTS = 6; // the accounts and two outsiders

    RewardDistributor public immutable distributor;
    RewardToken public immutable token;
    uint256 public immutable sourceChainId;
    uint256 public immutable cap;
    uint64 public immutable gracePeriod;

    uint256[ACCOUNTS] internal _accountKeys;
    address[RECIPIENTS] internal _recipients;

    // Oracle sets: the keys of each version and when the model has them expire (0: current).
    mapping(uint32 version => uint256[]) internal _setKeys;
    mapping(uint32 version => uint32) internal _setThreshold;
    mapping(uint32 version => uint64) internal _setExpiresAt;
    uint32 public modelSetVersion;

    // The root in its challenge period, staged until it is due or vetoed.
    uint64 public challengePeriod;
    bool public hasPending;
    bytes32 public pendingRoot;
    uint64 public pendingEpoch;
    uint64 internal _pendingToBlock;
    uint256 public pendingTotal;
    uint64 internal _pendingValidAt;
    uint256[ACCOUNTS] internal _pendingAmounts;
    bytes32[] internal _pendingTree;
    mapping(bytes32 root => bool) public vetoed;
    bytes32[] internal _vetoedRoots;
    uint256 public vetoes;

    // Active state: the root claims are paid against.
    bool public hasRoot;
    uint64 internal _activeValidAt;
    bytes32 public modelRoot;
    uint64 public modelEpoch;
    uint64 public modelLastToBlock;
    uint256 public modelTotalPosted;
    uint256[ACCOUNTS] internal _amounts;
    bytes32[] internal _tree;
    bool internal _hasPrevious;
    uint256[ACCOUNTS] internal _prevAmounts;
    bytes32[] internal _prevTree;
    mapping(address account => uint256) public maxEntitlement;

    // Claims.
    mapping(address account => uint256) public modelClaimed;
    uint256 public modelTotalClaimed;
    mapping(address account => uint256) public modelNonce;

    // Monotonicity, checked after every action against the last observed values.
    mapping(address account => uint256) internal _lastClaimed;
    uint256 public claimedDecreases;
    uint256 public postedDecreases;
    uint64 internal _lastObservedEpoch;
    uint256 internal _lastObservedTotal;

    // Counters, to see what the campaigns exercised.
    uint256 public rootsPosted;
    uint256 public claimsPaid;
    uint256 public rejections;

    constructor(
        RewardDistributor distributor_,
        RewardToken token_,
        uint256[] memory oracleKeys,
        uint32 threshold
    ) {
        distributor = distributor_;
        token = token_;
        leafToken = address(token_);
        sourceChainId = distributor_.sourceChainId();
        cap = distributor_.epochCap();
        gracePeriod = distributor_.oracleSetGracePeriod();
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            _accountKeys[i] = 0x1001 + i;
            _recipients[i] = vm.addr(0x1001 + i);
        }
        _recipients[4] = vm.addr(0x2001);
        _recipients[5] = vm.addr(0x2002);
        modelSetVersion = 1;
        _setKeys[1] = oracleKeys;
        _setThreshold[1] = threshold;
        challengePeriod = distributor_.challengePeriod();
    }

    // ---------------------------------------------------------------- actions

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 12 hours));
        vm.roll(block.number + 1);
        _promoteModel();
    }

    /// @dev Posts the next entitlements of the four accounts. `flags`: bit 0 signs with the previous set (when there
    /// is one); bit 1 makes one account's entitlement drop; bit 2 overstates the leaves (total below their sum);
    /// bit 3 repeats the last epoch; bit 4 exceeds the cap; bit 5 signs below the threshold; bit 6 swaps the first
    /// two signatures.
    function postRoot(uint256 seed, uint8 flags) external {
        _promoteModel();
        uint256[ACCOUNTS] memory next;
        uint256 sum = 0;
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            next[i] = _amounts[i] + ((seed >> (i * 16)) % (cap / 8));
            sum += next[i];
        }
        if (flags & 0x02 != 0) {
            uint256 i = (seed >> 64) % ACCOUNTS;
            uint256 drop = (seed >> 72) % (next[i] + 1);
            next[i] -= drop;
            sum -= drop;
        }
        uint256 total = sum;
        if (flags & 0x04 != 0) {
            uint256 lie = 1 + ((seed >> 128) % (cap / 4));
            total = sum > lie ? sum - lie : 0;
        }
        if (flags & 0x10 != 0) total = modelTotalPosted + cap + 1 + ((seed >> 160) % 1000);

        address[] memory accounts = new address[](ACCOUNTS);
        uint256[] memory amounts = new uint256[](ACCOUNTS);
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            accounts[i] = _recipients[i];
            amounts[i] = next[i];
        }
        bytes32[] memory tree = rewardTree(accounts, amounts);

        uint32 version = (flags & 0x01 != 0 && modelSetVersion > 1) ? modelSetVersion - 1 : modelSetVersion;
        IRewardDistributor.OracleMessage memory m = IRewardDistributor.OracleMessage({
            sourceChainId: sourceChainId,
            destinationChainId: block.chainid,
            distributor: address(distributor),
            epoch: flags & 0x08 != 0 ? modelEpoch : modelEpoch + 1 + ((seed >> 192) % 4 == 0 ? 2 : 0),
            root: tree[0],
            cumulativeTotal: total,
            fromBlock: _fromBlock(seed),
            toBlock: _fromBlock(seed) + 19,
            rulesVersion: 1,
            oracleSetVersion: version,
            tokenTotals: new IRewardDistributor.TokenTotal[](0)
        });
        (bytes[] memory sigs, bool unsorted) = _oracleSignatures(m, flags, seed);

        if (_expectPostRevert(m, sigs, unsorted)) {
            distributor.postRoot(m, sigs);
            ++rejections;
        } else {
            distributor.postRoot(m, sigs);
            if (challengePeriod == 0) {
                _activeValidAt = uint64(block.timestamp);
                _acceptRoot(m.root, m.epoch, m.toBlock, m.cumulativeTotal, tree, next);
            } else {
                hasPending = true;
                pendingRoot = m.root;
                pendingEpoch = m.epoch;
                _pendingToBlock = m.toBlock;
                pendingTotal = m.cumulativeTotal;
                _pendingValidAt = uint64(block.timestamp) + challengePeriod;
                _pendingAmounts = next;
                _pendingTree = tree;
            }
        }
        _afterAction();
    }

    /// @dev Claims an account's entitlement with the current root's proof, or with a superseded root's.
    function claim(uint256 accountPick, bool usePreviousRoot) external {
        _promoteModel();
        uint256 i = accountPick % ACCOUNTS;
        address account = _recipients[i];
        if (!hasRoot) {
            vm.expectRevert(IRewardDistributor.RewardDistributorNoRoot.selector);
            vm.prank(account);
            distributor.claim(account, address(token), 0, new bytes32[](0));
            ++rejections;
            _afterAction();
            return;
        }
        bool old = usePreviousRoot && _hasPrevious;
        uint256 amount = old ? _prevAmounts[i] : _amounts[i];
        bytes32[] memory proof = rewardProof(old ? _prevTree : _tree, account, amount);
        if (_expectClaimRevert(account, amount, proof)) {
            vm.prank(account);
            distributor.claim(account, address(token), amount, proof);
            ++rejections;
        } else {
            vm.prank(account);
            uint256 paid = distributor.claim(account, address(token), amount, proof);
            _acceptClaim(account, amount, paid);
        }
        _afterAction();
    }

    /// @dev Relays an account's signed claim to a recipient. `flags`: bit 0 makes it expired; bit 1 signs with
    /// another key; bit 2 replays the account's last used nonce.
    function claimWithSignature(uint256 accountPick, uint256 recipientPick, uint256 timing, uint8 flags) external {
        _promoteModel();
        if (!hasRoot) return;
        uint256 i = accountPick % ACCOUNTS;
        address account = _recipients[i];
        address recipient = _recipients[recipientPick % RECIPIENTS];
        uint256 amount = _amounts[i];
        bytes32[] memory proof = rewardProof(_tree, account, amount);
        uint256 deadline = flags & 0x01 != 0
            ? block.timestamp - 1 - (timing % 1000)
            : block.timestamp + (timing % 2 hours);
        bool forged = flags & 0x02 != 0;
        bool replayed = flags & 0x04 != 0 && modelNonce[account] > 0;
        uint256 nonce = replayed ? modelNonce[account] - 1 : modelNonce[account];
        bytes memory sig = sign(
            forged ? 0xBAD : _accountKeys[i],
            claimDigestAt(block.chainid, address(distributor), account, amount, recipient, nonce, deadline)
        );

        bool reverts = true;
        if (block.timestamp > deadline) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorExpiredSignature.selector, deadline)
            );
        } else if (forged || replayed) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidClaimSignature.selector, account)
            );
        } else {
            reverts = _expectClaimRevert(account, amount, proof);
        }
        if (reverts) {
            distributor.claimWithSignature(account, address(token), amount, proof, recipient, deadline, sig);
            ++rejections;
        } else {
            uint256 paid = distributor.claimWithSignature(account, address(token), amount, proof, recipient, deadline, sig);
            _acceptClaim(account, amount, paid);
            ++modelNonce[account];
        }
        _afterAction();
    }

    /// @dev Vetoes the pending epoch, or (1 in 4) another one, as the guardian.
    function vetoRoot(uint256 pick) external {
        _promoteModel();
        uint64 epoch = pick % 4 == 0 ? modelEpoch + 2 : (hasPending ? pendingEpoch : modelEpoch);
        if (!hasPending || epoch != pendingEpoch) {
            if (hasRoot && epoch == modelEpoch) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IRewardDistributor.RewardDistributorChallengeOver.selector,
                        epoch,
                        _activeValidAt
                    )
                );
            } else {
                vm.expectRevert(
                    abi.encodeWithSelector(IRewardDistributor.RewardDistributorNoPendingRoot.selector, epoch)
                );
            }
            distributor.vetoRoot(epoch);
            ++rejections;
        } else {
            distributor.vetoRoot(epoch);
            hasPending = false;
            vetoed[pendingRoot] = true;
            _vetoedRoots.push(pendingRoot);
            ++vetoes;
        }
        _afterAction();
    }

    /// @dev Sets the challenge period: zero one time in three, sometimes above the maximum.
    function setChallengePeriod(uint256 pick) external {
        uint64 period = pick % 3 == 0 ? 0 : uint64(bound(pick >> 8, 1, 8 days));
        uint64 max = distributor.MAX_CHALLENGE_PERIOD();
        if (period > max) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorChallengePeriodTooLong.selector,
                    period,
                    max
                )
            );
            distributor.setChallengePeriod(period);
            return;
        }
        distributor.setChallengePeriod(period);
        challengePeriod = period;
    }

    /// @dev Rotation is made rarer than the other actions (1 in 4), so that campaigns keep posting with a set.
    function rotateOracleSet(uint256 seed) external {
        if (seed % 4 != 0) return;
        uint256 size = 1 + ((seed >> 8) % 4);
        uint32 threshold = uint32(1 + ((seed >> 16) % size));
        uint32 version = modelSetVersion + 1;
        uint256[] memory keys = new uint256[](size);
        address[] memory oracles = new address[](size);
        for (uint256 k = 0; k < size; ++k) {
            keys[k] = 1 + (uint256(keccak256(abi.encode("oracle", version, k))) % (SECP256K1_N - 1));
            oracles[k] = vm.addr(keys[k]);
        }
        distributor.rotateOracleSet(oracles, threshold);

        uint64 nowTs = uint64(block.timestamp);
        if (modelSetVersion > 1 && _setExpiresAt[modelSetVersion - 1] > nowTs) {
            _setExpiresAt[modelSetVersion - 1] = nowTs;
        }
        _setExpiresAt[modelSetVersion] = nowTs + gracePeriod;
        modelSetVersion = version;
        _setKeys[version] = keys;
        _setThreshold[version] = threshold;
        _afterAction();
    }

    // ---------------------------------------------------------------- model views

    function accountCount() external pure returns (uint256) {
        return ACCOUNTS;
    }

    function recipientCount() external pure returns (uint256) {
        return RECIPIENTS;
    }

    function recipientAt(uint256 index) external view returns (address) {
        return _recipients[index];
    }

    function setExpiresAt(uint32 version) external view returns (uint64) {
        return _setExpiresAt[version];
    }

    // ---------------------------------------------------------------- internals

    /// @dev The signatures of the named set's keys: the threshold of them (or one fewer, bit 5), sorted by signer
    /// (or with the first two swapped, bit 6).
    function _oracleSignatures(
        IRewardDistributor.OracleMessage memory m,
        uint8 flags,
        uint256 seed
    ) internal view returns (bytes[] memory sigs, bool unsorted) {
        uint256[] storage keys = _setKeys[m.oracleSetVersion];
        uint256 threshold = _setThreshold[m.oracleSetVersion];
        uint256 count = flags & 0x20 != 0
            ? threshold - 1
            : threshold + ((seed >> 224) % (keys.length - threshold + 1));
        uint256[] memory chosen = new uint256[](count);
        for (uint256 k = 0; k < count; ++k) chosen[k] = keys[k];
        sigs = signSorted(chosen, oracleDigestAt(block.chainid, address(distributor), m));
        unsorted = flags & 0x40 != 0 && count >= 2;
        if (unsorted) (sigs[0], sigs[1]) = (sigs[1], sigs[0]);
    }

    /// @dev The first block of a posted epoch: right after the last one, or one further in one post of four.
    function _fromBlock(uint256 seed) internal view returns (uint64) {
        if (modelEpoch == 0) return uint64(block.number);
        return modelLastToBlock + 1 + ((seed >> 200) % 4 == 0 ? 1 : 0);
    }

    /// @dev Sets up the expected revert of a post, if the model rejects it; returns whether it does.
    function _expectPostRevert(
        IRewardDistributor.OracleMessage memory m,
        bytes[] memory sigs,
        bool unsorted
    ) internal returns (bool) {
        uint64 expiresAt = _setExpiresAt[m.oracleSetVersion];
        if (hasPending) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorRootPending.selector,
                    pendingEpoch,
                    _pendingValidAt
                )
            );
        } else if (m.epoch <= modelEpoch) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorStaleEpoch.selector, m.epoch, modelEpoch)
            );
        } else if (m.epoch != modelEpoch + 1) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorEpochGap.selector, m.epoch, modelEpoch + 1)
            );
        } else if (modelEpoch != 0 && m.fromBlock != modelLastToBlock + 1) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorBlockRangeGap.selector,
                    m.fromBlock,
                    uint256(modelLastToBlock) + 1
                )
            );
        } else if (m.cumulativeTotal < modelTotalPosted) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorDecreasingTotal.selector,
                    m.cumulativeTotal,
                    modelTotalPosted
                )
            );
        } else if (m.cumulativeTotal - modelTotalPosted > cap) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorEpochCapExceeded.selector,
                    m.cumulativeTotal - modelTotalPosted,
                    cap
                )
            );
        } else if (expiresAt != 0 && block.timestamp >= expiresAt) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorOracleSetExpired.selector,
                    m.oracleSetVersion,
                    expiresAt
                )
            );
        } else if (sigs.length < _setThreshold[m.oracleSetVersion]) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorInsufficientSignatures.selector,
                    sigs.length,
                    uint256(_setThreshold[m.oracleSetVersion])
                )
            );
        } else if (unsorted) {
            bytes32 digest = oracleDigestAt(block.chainid, address(distributor), m);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorUnsortedSigners.selector,
                    recovered(digest, sigs[0]),
                    recovered(digest, sigs[1])
                )
            );
        } else {
            return false;
        }
        return true;
    }

    /// @dev Sets up the expected revert of a claim against the current root, if the model rejects it; returns
    /// whether it does.
    function _expectClaimRevert(address account, uint256 amount, bytes32[] memory proof) internal returns (bool) {
        uint256 already = modelClaimed[account];
        if (!MerkleProof.verify(proof, modelRoot, rewardLeafOf(account, amount))) {
            vm.expectRevert(
                abi.encodeWithSelector(IRewardDistributor.RewardDistributorInvalidProof.selector, account, address(token), amount)
            );
        } else if (amount <= already) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorNothingToClaim.selector,
                    account, address(token),
                    amount,
                    already
                )
            );
        } else if (modelTotalClaimed + amount - already > modelTotalPosted) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRewardDistributor.RewardDistributorExceedsPostedTotal.selector, address(token),
                    modelTotalClaimed + amount - already,
                    modelTotalPosted
                )
            );
        } else {
            return false;
        }
        return true;
    }

    /// @dev Makes the pending root the active one once its challenge period is over, as the distributor does.
    function _promoteModel() internal {
        if (!hasPending || block.timestamp < _pendingValidAt) return;
        hasPending = false;
        _activeValidAt = _pendingValidAt;
        _acceptRoot(pendingRoot, pendingEpoch, _pendingToBlock, pendingTotal, _pendingTree, _pendingAmounts);
    }

    function vetoedRootCount() external view returns (uint256) {
        return _vetoedRoots.length;
    }

    function vetoedRootAt(uint256 index) external view returns (bytes32) {
        return _vetoedRoots[index];
    }

    function _acceptRoot(
        bytes32 root,
        uint64 epoch,
        uint64 toBlock,
        uint256 total,
        bytes32[] memory tree,
        uint256[ACCOUNTS] memory next
    ) internal {
        if (hasRoot) {
            _prevTree = _tree;
            _prevAmounts = _amounts;
            _hasPrevious = true;
        }
        _tree = tree;
        _amounts = next;
        hasRoot = true;
        modelRoot = root;
        modelEpoch = epoch;
        modelLastToBlock = toBlock;
        modelTotalPosted = total;
        vetoed[root] = false;
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            if (next[i] > maxEntitlement[_recipients[i]]) maxEntitlement[_recipients[i]] = next[i];
        }
        ++rootsPosted;
    }

    function _acceptClaim(address account, uint256 amount, uint256 paid) internal {
        vm.assertEq(paid, amount - modelClaimed[account], "paid the rise over the claimed amount");
        modelTotalClaimed += paid;
        modelClaimed[account] = amount;
        ++claimsPaid;
    }

    /// @dev Compares what the distributor shows now with what it showed after the previous action.
    function _afterAction() internal {
        for (uint256 i = 0; i < ACCOUNTS; ++i) {
            address account = _recipients[i];
            uint256 now_ = distributor.claimed(account);
            if (now_ < _lastClaimed[account]) ++claimedDecreases;
            _lastClaimed[account] = now_;
        }
        // The active epoch and total: a vetoed pending root makes the last posted ones fall back, never these.
        uint64 epoch = distributor.lastEpoch();
        if (distributor.pendingRoot().root != bytes32(0)) --epoch;
        uint256 total = distributor.activeTotal();
        if (epoch < _lastObservedEpoch || total < _lastObservedTotal) ++postedDecreases;
        _lastObservedEpoch = epoch;
        _lastObservedTotal = total;
    }
}

/// @dev Invariant campaigns over a RewardDistributor driven by RewardDistributorHandler. See PROPERTIES.md.
contract RewardDistributorInvariants is Test {
    RewardToken internal token;
    RewardDistributor internal distributor;
    RewardDistributorHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        uint256[] memory keys = new uint256[](3);
        keys[0] = 0xA1;
        keys[1] = 0xB2;
        keys[2] = 0xC3;
        address[] memory oracles = new address[](3);
        for (uint256 i = 0; i < 3; ++i) oracles[i] = vm.addr(keys[i]);

        token = new RewardToken("SensorSeal Reward", "SSR");
        distributor = new RewardDistributor(token, 31337, address(this), oracles, 2, 1_000_000 ether, 1 days, 0);
        token.setDistributor(address(distributor));
        handler = new RewardDistributorHandler(distributor, token, keys, 2);
        distributor.grantRole(distributor.DEFAULT_ADMIN_ROLE(), address(handler));
        distributor.grantRole(distributor.GUARDIAN_ROLE(), address(handler));

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = RewardDistributorHandler.warp.selector;
        selectors[1] = RewardDistributorHandler.postRoot.selector;
        selectors[2] = RewardDistributorHandler.claim.selector;
        selectors[3] = RewardDistributorHandler.claimWithSignature.selector;
        selectors[4] = RewardDistributorHandler.rotateOracleSet.selector;
        selectors[5] = RewardDistributorHandler.vetoRoot.selector;
        selectors[6] = RewardDistributorHandler.setChallengePeriod.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @custom:invariant The total claimed never exceeds the total posted by the oracles, nor the active total, even
    /// when a root's leaves add up to more than its signed cumulative total.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_totalClaimedNeverExceedsTotalPosted() public view {
        assertLe(distributor.totalClaimed(), distributor.totalPosted(), "claimed <= posted");
        assertLe(distributor.totalClaimed(), distributor.activeTotal(), "claimed <= active");
        assertEq(distributor.totalClaimed(), handler.modelTotalClaimed(), "totalClaimed matches the model");
    }

    /// @custom:invariant The amount claimed by each account never decreases, equals the highest cumulative amount it
    /// was paid up to, and never exceeds the highest entitlement ever posted for it.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_claimedPerAccountNeverDecreases() public view {
        assertEq(handler.claimedDecreases(), 0, "an account's claimed amount decreased");
        for (uint256 i = 0; i < handler.accountCount(); ++i) {
            address account = handler.recipientAt(i);
            assertEq(distributor.claimed(account), handler.modelClaimed(account), "claimed matches the model");
            assertLe(distributor.claimed(account), handler.maxEntitlement(account), "claimed <= entitlement");
        }
    }

    /// @custom:invariant The token's supply is exactly what claims paid, and it sits with the accounts and the
    /// recipients they named: only the distributor mints, and only on a claim.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_supplyEqualsClaims() public view {
        assertEq(token.totalSupply(), distributor.totalClaimed(), "supply = total claimed");
        uint256 held = 0;
        for (uint256 i = 0; i < handler.recipientCount(); ++i) held += token.balanceOf(handler.recipientAt(i));
        assertEq(held, token.totalSupply(), "every token is with an account or a named recipient");
    }

    /// @custom:invariant The active epoch and cumulative total only move forward, the current root and active total
    /// are those of the last root the model activated, and the last posted epoch and total are the pending root's,
    /// if any, else the active ones.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_postedStateOnlyMovesForward() public view {
        assertEq(handler.postedDecreases(), 0, "epoch or total went back");
        bool pending = handler.hasPending();
        assertEq(distributor.lastEpoch(), pending ? handler.pendingEpoch() : handler.modelEpoch(), "epoch");
        assertEq(distributor.totalPosted(), pending ? handler.pendingTotal() : handler.modelTotalPosted(), "total");
        assertEq(distributor.activeTotal(), handler.modelTotalPosted(), "active total");
        assertEq(distributor.currentRoot(), handler.modelRoot(), "root");
        assertEq(distributor.pendingRoot().root, pending ? handler.pendingRoot() : bytes32(0), "pending root");
    }

    /// @custom:invariant A root pays nothing before its challenge period is over, and a vetoed root never pays: the
    /// current root is never a pending or vetoed one, so what a malicious root can pay is zero if it is vetoed in time.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_pendingAndVetoedRootsNeverPay() public view {
        bytes32 current = distributor.currentRoot();
        if (handler.hasPending()) assertNotEq(current, handler.pendingRoot(), "a pending root pays");
        for (uint256 i = 0; i < handler.vetoedRootCount(); ++i) {
            bytes32 root = handler.vetoedRootAt(i);
            if (handler.vetoed(root)) assertNotEq(current, root, "a vetoed root pays");
        }
    }

    /// @custom:invariant At most two oracle sets are accepted at any time: the current one, and the previous one
    /// until its grace period ends; every set's expiry is the one the model predicts.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_atMostTwoOracleSetsAccepted() public view {
        uint32 current = distributor.oracleSetVersion();
        assertEq(current, handler.modelSetVersion(), "set version");
        assertEq(distributor.getOracleSet(current).expiresAt, 0, "current set has no expiry");
        for (uint32 v = 1; v < current; ++v) {
            uint64 expiresAt = distributor.getOracleSet(v).expiresAt;
            assertEq(expiresAt, handler.setExpiresAt(v), "expiry matches the model");
            if (v + 1 < current) assertLe(expiresAt, block.timestamp, "older sets are expired");
        }
    }
}
