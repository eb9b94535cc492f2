// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {CommonBase, Test} from "../test/Test.t.sol";
import {StandardMerkleTree} from "../test/StandardMerkleTree.t.sol";
import {IRewardDistributor} from "../interfaces/IRewardDistributor.sol";
import {RewardDistributor} from "./RewardDistributor.sol";
import {RewardToken} from "./RewardToken.sol";

/// @dev Signatures, EIP-712 digests, reward leaves and trees for the reward-chain tests and handlers, computed
/// independently of the contracts.
abstract contract RewardKeys is CommonBase {
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ORACLE_MESSAGE_TYPEHASH =
        keccak256(
            "OracleMessage(uint256 sourceChainId,uint256 destinationChainId,address distributor,uint64 epoch,"
            "bytes32 root,uint256 cumulativeTotal,uint64 fromBlock,uint64 toBlock,uint32 rulesVersion,"
            "uint32 oracleSetVersion,TokenTotal[] tokenTotals)TokenTotal(address token,uint256 cumulativeTotal)"
        );
    bytes32 internal constant TOKEN_TOTAL_TYPEHASH = keccak256("TokenTotal(address token,uint256 cumulativeTotal)");
    bytes32 internal constant CLAIM_TYPEHASH =
        keccak256(
            "Claim(address account,address token,uint256 cumulative,address recipient,uint256 nonce,uint256 deadline)"
        );
    string internal constant DOMAIN_NAME = "SensorSeal Rewards";

    /// @dev The token of the two-argument leaf helpers: the reward token under test.
    address internal leafToken;

    function rewardDomainSeparator(uint256 chainId, address distributor_) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    EIP712_DOMAIN_TYPEHASH,
                    keccak256(bytes(DOMAIN_NAME)),
                    keccak256("1"),
                    chainId,
                    distributor_
                )
            );
    }

    function typedDigest(bytes32 separator, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    function oracleMessageStructHash(IRewardDistributor.OracleMessage memory m) internal pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(
                    abi.encode(
                        ORACLE_MESSAGE_TYPEHASH,
                        m.sourceChainId,
                        m.destinationChainId,
                        m.distributor,
                        m.epoch,
                        m.root
                    ),
                    abi.encode(m.cumulativeTotal, m.fromBlock, m.toBlock, m.rulesVersion, m.oracleSetVersion),
                    abi.encode(tokenTotalsHash(m.tokenTotals))
                )
            );
    }

    function tokenTotalsHash(IRewardDistributor.TokenTotal[] memory totals) internal pure returns (bytes32) {
        bytes memory hashes;
        for (uint256 i = 0; i < totals.length; ++i) {
            hashes = bytes.concat(
                hashes,
                keccak256(abi.encode(TOKEN_TOTAL_TYPEHASH, totals[i].token, totals[i].cumulativeTotal))
            );
        }
        return keccak256(hashes);
    }

    /// @dev The digest of a message in the domain of `distributor_` on `chainId`.
    function oracleDigestAt(
        uint256 chainId,
        address distributor_,
        IRewardDistributor.OracleMessage memory m
    ) internal pure returns (bytes32) {
        return typedDigest(rewardDomainSeparator(chainId, distributor_), oracleMessageStructHash(m));
    }

    function claimDigestAt(
        uint256 chainId,
        address distributor_,
        address account,
        uint256 cumulative,
        address recipient,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        return claimDigestAt(chainId, distributor_, account, leafToken, cumulative, recipient, nonce, deadline);
    }

    function claimDigestAt(
        uint256 chainId,
        address distributor_,
        address account,
        address token_,
        uint256 cumulative,
        address recipient,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(CLAIM_TYPEHASH, account, token_, cumulative, recipient, nonce, deadline)
        );
        return typedDigest(rewardDomainSeparator(chainId, distributor_), structHash);
    }

    /// @dev 65 bytes `r ‖ s ‖ v`, low-s (what `vm.sign` makes).
    function sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The signatures of `keys` over `digest`, ordered by ascending signer address.
    function signSorted(uint256[] memory keys, bytes32 digest) internal pure returns (bytes[] memory sigs) {
        uint256[] memory sorted = sortKeysByAddress(keys);
        sigs = new bytes[](sorted.length);
        for (uint256 i = 0; i < sorted.length; ++i) sigs[i] = sign(sorted[i], digest);
    }

    /// @dev A copy of `keys` sorted by ascending address (insertion sort: the sets here are small).
    function sortKeysByAddress(uint256[] memory keys) internal pure returns (uint256[] memory sorted) {
        sorted = new uint256[](keys.length);
        for (uint256 i = 0; i < keys.length; ++i) {
            uint256 key = keys[i];
            address a = vm.addr(key);
            uint256 j = i;
            while (j > 0 && vm.addr(sorted[j - 1]) > a) {
                sorted[j] = sorted[j - 1];
                --j;
            }
            sorted[j] = key;
        }
    }

    /// @dev The malleated twin of a low-s secp256k1 signature, which ecrecover accepts but OZ's ECDSA must not.
    function highS(bytes memory sig) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
        }
        uint8 v = uint8(sig[64]);
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    /// @dev The address a signature recovers for a digest (zero if none), as ecrecover sees it.
    function recovered(bytes32 digest, bytes memory sig) internal pure returns (address signer) {
        (signer, , ) = ECDSA.tryRecover(digest, sig);
    }

    function rewardLeafOf(address account, uint256 cumulative) internal view returns (bytes32) {
        return rewardLeafOf(account, leafToken, cumulative);
    }

    function rewardLeafOf(address account, address token_, uint256 cumulative) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, token_, cumulative))));
    }

    /// @dev The StandardMerkleTree of the entitlements `(accounts[i], leafToken, amounts[i])`.
    function rewardTree(
        address[] memory accounts,
        uint256[] memory amounts
    ) internal view returns (bytes32[] memory tree) {
        require(accounts.length == amounts.length, "RewardKeys: lengths");
        bytes32[] memory leaves = new bytes32[](accounts.length);
        for (uint256 i = 0; i < accounts.length; ++i) leaves[i] = rewardLeafOf(accounts[i], amounts[i]);
        return StandardMerkleTree.build(leaves);
    }

    function rewardProof(
        bytes32[] memory tree,
        address account,
        uint256 cumulative
    ) internal view returns (bytes32[] memory) {
        return StandardMerkleTree.proofOf(tree, rewardLeafOf(account, cumulative));
    }
}

/// @dev A contract wallet that accepts, through ERC-1271, the signatures of its owner key, unless switched off.
contract MockERC1271Wallet is IERC1271 {
    address public immutable owner;
    bool public rejectAll;

    constructor(address owner_) {
        owner = owner_;
    }

    function setRejectAll(bool reject) external {
        rejectAll = reject;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
        if (rejectAll || err != ECDSA.RecoverError.NoError || signer != owner) return 0xffffffff;
        return IERC1271.isValidSignature.selector;
    }
}

/// @dev Deploys a token and a distributor bound to each other, with a 2-of-3 oracle set, at a realistic block time.
abstract contract RewardFixture is Test, RewardKeys {
    uint256 internal constant T0 = 1_750_000_000;
    uint256 internal constant SOURCE_CHAIN_ID = 31337;
    uint256 internal constant EPOCH_CAP = 1_000_000 ether;
    uint64 internal constant GRACE_PERIOD = 1 days;
    uint32 internal constant RULES_VERSION = 1;

    RewardToken internal token;
    RewardDistributor internal distributor;

    address internal admin;
    address internal pauser;
    address internal relayer;
    address internal stranger;

    /// @dev The oracle keys of set version 1, in no particular order of address.
    uint256[] internal oracleKeys;
    address[] internal oracleAddrs;

    function setUp() public virtual {
        vm.warp(T0);
        admin = makeAddr("admin");
        pauser = makeAddr("pauser");
        relayer = makeAddr("relayer");
        stranger = makeAddr("stranger");

        oracleKeys.push(0x0A1);
        oracleKeys.push(0x0B2);
        oracleKeys.push(0x0C3);
        for (uint256 i = 0; i < oracleKeys.length; ++i) oracleAddrs.push(vm.addr(oracleKeys[i]));

        token = new RewardToken("SensorSeal Reward", "SSR");
        leafToken = address(token);
        distributor = new RewardDistributor(token, SOURCE_CHAIN_ID, admin, oracleAddrs, 2, EPOCH_CAP, GRACE_PERIOD, 0);
        token.setDistributor(address(distributor));
        bytes32 pauserRole = distributor.PAUSER_ROLE();
        vm.prank(admin);
        distributor.grantRole(pauserRole, pauser);
    }

    /// @dev A valid message for the next epoch of set version 1, covering blocks 100·epoch … 100·epoch + 99.
    function message(
        uint64 epoch,
        bytes32 root,
        uint256 cumulativeTotal
    ) internal view returns (IRewardDistributor.OracleMessage memory) {
        return
            IRewardDistributor.OracleMessage({
                sourceChainId: SOURCE_CHAIN_ID,
                destinationChainId: block.chainid,
                distributor: address(distributor),
                epoch: epoch,
                root: root,
                cumulativeTotal: cumulativeTotal,
                fromBlock: epoch * 100,
                toBlock: epoch * 100 + 99,
                rulesVersion: RULES_VERSION,
                oracleSetVersion: 1,
                tokenTotals: new IRewardDistributor.TokenTotal[](0)
            });
    }

    function oracleDigest(IRewardDistributor.OracleMessage memory m) internal view returns (bytes32) {
        return oracleDigestAt(block.chainid, address(distributor), m);
    }

    /// @dev The sorted signatures of the given oracle keys over the message.
    function signMessage(
        IRewardDistributor.OracleMessage memory m,
        uint256[] memory keys
    ) internal view returns (bytes[] memory) {
        return signSorted(keys, oracleDigest(m));
    }

    /// @dev The sorted signatures of the first two oracles of version 1.
    function signByTwo(IRewardDistributor.OracleMessage memory m) internal view returns (bytes[] memory) {
        return signMessage(m, keys2(oracleKeys[0], oracleKeys[1]));
    }

    function post(IRewardDistributor.OracleMessage memory m) internal {
        vm.prank(relayer);
        distributor.postRoot(m, signByTwo(m));
    }

    /// @dev Posts the tree of the entitlements as the next epoch, with the tree's sum as the cumulative total.
    function postTree(
        uint64 epoch,
        address[] memory accounts,
        uint256[] memory amounts
    ) internal returns (bytes32[] memory tree) {
        tree = rewardTree(accounts, amounts);
        uint256 total = 0;
        for (uint256 i = 0; i < amounts.length; ++i) total += amounts[i];
        post(message(epoch, tree[0], total));
    }

    /// @dev Claims as the account itself, the only caller `claim` accepts.
    function claimAs(address account, uint256 cumulative, bytes32[] memory proof) internal returns (uint256) {
        vm.prank(account);
        return distributor.claim(account, address(token), cumulative, proof);
    }

    function claimDigestOf(
        address account,
        uint256 cumulative,
        address recipient,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        return claimDigestAt(block.chainid, address(distributor), account, cumulative, recipient, nonce, deadline);
    }

    function keys2(uint256 a, uint256 b) internal pure returns (uint256[] memory keys) {
        keys = new uint256[](2);
        keys[0] = a;
        keys[1] = b;
    }

    function addrs1(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function addrs2(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        list[0] = a;
        list[1] = b;
    }

    function addrs3(address a, address b, address c) internal pure returns (address[] memory list) {
        list = new address[](3);
        list[0] = a;
        list[1] = b;
        list[2] = c;
    }

    function amounts1(uint256 a) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function amounts2(uint256 a, uint256 b) internal pure returns (uint256[] memory list) {
        list = new uint256[](2);
        list[0] = a;
        list[1] = b;
    }

    function amounts3(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory list) {
        list = new uint256[](3);
        list[0] = a;
        list[1] = b;
        list[2] = c;
    }
}
