// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {StandardMerkleTree} from "../test/StandardMerkleTree.t.sol";
import {IReadingAnchor} from "../interfaces/IReadingAnchor.sol";
import {ReadingAnchor} from "./ReadingAnchor.sol";
import {AuditFixture, DeviceKey} from "./AuditFixture.t.sol";

contract ReadingAnchorTest is AuditFixture {
    bytes32 internal constant MANIFEST = keccak256("manifest");

    DeviceKey internal secp;
    DeviceKey internal p256;

    function setUp() public override {
        super.setUp();
        secp = secpKey(0xA11CE);
        p256 = p256Key(0xB0B);
        register(secp);
        register(p256);
        vm.warp(T0 + 1 hours);
    }

    // ---------------------------------------------------------------- constructor / views

    function test_constructor_succeeds() public view {
        assertEq(address(anchor.registry()), address(registry), "registry");
        assertTrue(anchor.hasRole(anchor.DEFAULT_ADMIN_ROLE(), admin), "admin");
        assertTrue(anchor.hasRole(anchor.RELAYER_ROLE(), relayer), "relayer");
        assertEq(anchor.MAX_CLOCK_SKEW(), 300, "skew");
        assertEq(anchor.batchCount(), 0, "no batch");
        (, string memory name, string memory version, uint256 chainId, address verifyingContract, , ) = anchor
            .eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("SensorSeal"), "domain name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "domain version");
        assertEq(chainId, block.chainid, "domain chain");
        assertEq(verifyingContract, address(anchor), "domain contract");
    }

    function test_readingDigest_matchesEip712_succeeds() public view {
        IReadingAnchor.Reading memory r = makeReading(secp, 7, T0);
        assertEq(anchor.readingDigest(r), readingDigestOf(r), "digest");
    }

    function test_readingLeaf_matchesStandardMerkleTree_succeeds() public view {
        // Leaf hash from @openzeppelin/merkle-tree for (device of key 0xA11CE, 1, T0 + 60, keccak256("payload 1")).
        IReadingAnchor.Reading memory r = _vectorReading(1);
        assertEq(anchor.readingLeaf(r), 0x7d2192e777310c1cf33e06588de0ff14102048c221650583b5c9f2e199969749, "leaf");
        assertEq(anchor.readingLeaf(r), readingLeafOf(r), "leaf helper");
    }

    function test_getBatch_unknown_succeeds() public view {
        IReadingAnchor.Batch memory b = anchor.getBatch(1);
        assertEq(b.root, bytes32(0), "root");
        assertEq(b.manifestHash, bytes32(0), "manifest");
        assertEq(b.leafCount, 0, "leafCount");
        assertEq(b.anchoredAt, 0, "anchoredAt");
        assertEq(b.blockNumber, 0, "blockNumber");
        assertEq(anchor.batchIdOfRoot(keccak256("root")), 0, "batchIdOfRoot");
    }

    // ---------------------------------------------------------------- anchorBatch

    function test_anchorBatch_first_succeeds() public {
        bytes32 root = keccak256("root 1");
        vm.roll(1234);
        vm.expectEmit(address(anchor));
        emit IReadingAnchor.BatchAnchored(1, root, 42, MANIFEST, relayer);
        vm.prank(relayer);
        uint256 batchId = anchor.anchorBatch(root, 42, MANIFEST);

        assertEq(batchId, 1, "first id");
        assertEq(anchor.batchCount(), 1, "count");
        assertEq(anchor.batchIdOfRoot(root), 1, "batchIdOfRoot");
        IReadingAnchor.Batch memory b = anchor.getBatch(1);
        assertEq(b.root, root, "root");
        assertEq(b.manifestHash, MANIFEST, "manifest");
        assertEq(b.leafCount, 42, "leafCount");
        assertEq(b.anchoredAt, block.timestamp, "anchoredAt");
        assertEq(b.blockNumber, 1234, "blockNumber");
    }

    function test_anchorBatch_sequentialIds_succeeds() public {
        for (uint256 i = 1; i <= 5; ++i) {
            vm.warp(block.timestamp + 10);
            vm.expectEmit(address(anchor));
            emit IReadingAnchor.BatchAnchored(i, keccak256(abi.encode(i)), uint32(i), MANIFEST, relayer);
            vm.prank(relayer);
            assertEq(anchor.anchorBatch(keccak256(abi.encode(i)), uint32(i), MANIFEST), i, "id");
        }
        assertEq(anchor.batchCount(), 5, "count");
        for (uint256 i = 1; i <= 5; ++i) {
            assertEq(anchor.getBatch(i).root, keccak256(abi.encode(i)), "root by id");
            assertEq(anchor.batchIdOfRoot(keccak256(abi.encode(i))), i, "id by root");
        }
    }

    function test_anchorBatch_zeroRoot_reverts() public {
        vm.expectRevert(IReadingAnchor.ReadingAnchorZeroRoot.selector);
        vm.prank(relayer);
        anchor.anchorBatch(bytes32(0), 1, MANIFEST);
    }

    function test_anchorBatch_repeatedRoot_reverts() public {
        bytes32 root = keccak256("root");
        vm.startPrank(relayer);
        anchor.anchorBatch(root, 1, MANIFEST);
        anchor.anchorBatch(keccak256("other"), 1, MANIFEST);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorRootAlreadyAnchored.selector, root, uint256(1))
        );
        anchor.anchorBatch(root, 7, keccak256("another manifest"));
        vm.stopPrank();
    }

    function test_anchorBatch_emptyBatch_reverts() public {
        vm.expectRevert(IReadingAnchor.ReadingAnchorEmptyBatch.selector);
        vm.prank(relayer);
        anchor.anchorBatch(keccak256("root"), 0, MANIFEST);
    }

    function test_anchorBatch_notRelayer_reverts() public {
        bytes32 role = anchor.RELAYER_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, role)
        );
        vm.prank(stranger);
        anchor.anchorBatch(keccak256("root"), 1, MANIFEST);

        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        anchor.anchorBatch(keccak256("root"), 1, MANIFEST);
    }

    function test_anchorBatch_revokedRelayer_reverts() public {
        bytes32 role = anchor.RELAYER_ROLE();
        vm.prank(admin);
        anchor.revokeRole(role, relayer);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, relayer, role));
        vm.prank(relayer);
        anchor.anchorBatch(keccak256("root"), 1, MANIFEST);
    }

    // ---------------------------------------------------------------- submitReading

    function test_submitReading_secp256k1_succeeds() public {
        _assertSubmitSucceeds(secp);
    }

    function test_submitReading_p256_succeeds() public {
        _assertSubmitSucceeds(p256);
    }

    function test_submitReading_highSSecp256k1_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = highS(secp, signReading(secp, r));
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, secp.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_highSP256_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(p256, 1, block.timestamp);
        bytes memory sig = highS(p256, signReading(p256, r));
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, p256.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_wrongChainId_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes32 digest = typedDigest(
            domainSeparator("SensorSeal", block.chainid + 1, address(anchor)),
            readingStructHash(r)
        );
        bytes memory sig = signDigest(secp, digest);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, secp.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_chainForked_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(p256, 1, block.timestamp);
        bytes memory sig = signReading(p256, r);
        vm.chainId(block.chainid + 1); // the domain follows the chain id, so the old signature no longer matches
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, p256.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_wrongContract_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(p256, 1, block.timestamp);
        ReadingAnchor otherAnchor = new ReadingAnchor(registry, admin, MAX_ANCHOR_DELAY, AVAILABILITY_BLOCKS);
        bytes32 digest = typedDigest(
            domainSeparator("SensorSeal", block.chainid, address(otherAnchor)),
            readingStructHash(r)
        );
        bytes memory sig = signDigest(p256, digest);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, p256.id));
        anchor.submitReading(r, sig);
        otherAnchor.submitReading(r, sig); // where it was meant to go
    }

    function test_submitReading_registryDomain_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes32 digest = typedDigest(
            domainSeparator("SensorSeal Registry", block.chainid, address(anchor)),
            readingStructHash(r)
        );
        bytes memory sig = signDigest(secp, digest);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, secp.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_otherDevicesSignature_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(p256, r);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, secp.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_tampered_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(secp, r);
        r.dataHash = keccak256("tampered");
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, secp.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_unknownDevice_reverts() public {
        DeviceKey memory unknown = secpKey(0xDEAD);
        IReadingAnchor.Reading memory r = makeReading(unknown, 1, block.timestamp);
        bytes memory sig = signReading(unknown, r);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, unknown.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_revokedDevice_reverts() public {
        // Made while active, submitted after the revocation.
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(secp, r);
        vm.warp(block.timestamp + 10);
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorDeviceNotActive.selector,
                secp.id,
                uint64(block.timestamp)
            )
        );
        anchor.submitReading(r, sig);
    }

    function test_submitReading_timestampAfterRevocation_reverts() public {
        vm.prank(registrar);
        registry.revokeDevice(p256.id);
        uint256 ts = block.timestamp + 1;
        vm.warp(ts + 5);
        IReadingAnchor.Reading memory r = makeReading(p256, 1, ts);
        bytes memory sig = signReading(p256, r);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, p256.id, uint64(ts))
        );
        anchor.submitReading(r, sig);
    }

    function test_submitReading_whileSuspended_reverts() public {
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(secp, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorDeviceNotActive.selector,
                secp.id,
                uint64(block.timestamp)
            )
        );
        anchor.submitReading(r, sig);
    }

    function test_submitReading_madeBeforeSuspension_succeeds() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(secp, r);
        vm.warp(block.timestamp + 1);
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        anchor.submitReading(r, sig);
        assertTrue(anchor.isSubmitted(secp.id, 1), "accepted");
    }

    function test_submitReading_beforeRegistration_reverts() public {
        DeviceKey memory late = p256Key(0x1A7E);
        register(late); // at T0 + 1 hour
        IReadingAnchor.Reading memory r = makeReading(late, 1, block.timestamp - 1);
        bytes memory sig = signReading(late, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorDeviceNotActive.selector,
                late.id,
                uint64(block.timestamp - 1)
            )
        );
        anchor.submitReading(r, sig);
    }

    function test_submitReading_rotatedKey_reverts() public {
        DeviceKey memory next = p256Key(0x2E7);
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory rotateSig = signDigest(secp, rotateDigest(secp.id, next, 0, deadline));
        registry.rotateKey(secp.id, next.scheme, next.publicKey, deadline, rotateSig);

        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(secp, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorDeviceNotActive.selector,
                secp.id,
                uint64(block.timestamp)
            )
        );
        anchor.submitReading(r, sig);

        IReadingAnchor.Reading memory fromNewKey = makeReading(next, 1, block.timestamp);
        anchor.submitReading(fromNewKey, signReading(next, fromNewKey));
    }

    function test_submitReading_futureTimestamp_reverts() public {
        uint256 ts = block.timestamp + anchor.MAX_CLOCK_SKEW() + 1;
        IReadingAnchor.Reading memory r = makeReading(secp, 1, ts);
        bytes memory sig = signReading(secp, r);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorFutureTimestamp.selector,
                uint64(ts),
                uint64(block.timestamp)
            )
        );
        anchor.submitReading(r, sig);
    }

    function test_submitReading_maxClockSkew_succeeds() public {
        IReadingAnchor.Reading memory r = makeReading(p256, 1, block.timestamp + anchor.MAX_CLOCK_SKEW());
        anchor.submitReading(r, signReading(p256, r));
    }

    function test_submitReading_replayed_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 1, block.timestamp);
        bytes memory sig = signReading(secp, r);
        anchor.submitReading(r, sig);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorAlreadySubmitted.selector, secp.id, uint64(1))
        );
        anchor.submitReading(r, sig);
    }

    /// @dev Attack 5: replaying a device's public signed reading of a high seq used to block its lower seqs.
    function test_submitReading_lowerSequenceAfterReplayedHigher_succeeds() public {
        IReadingAnchor.Reading memory r5 = makeReading(p256, 5, block.timestamp);
        vm.prank(stranger);
        anchor.submitReading(r5, signReading(p256, r5));
        IReadingAnchor.Reading memory r3 = makeReading(p256, 3, block.timestamp);
        anchor.submitReading(r3, signReading(p256, r3));
        assertTrue(anchor.isSubmitted(p256.id, 3), "lower seq still accepted");
        assertTrue(anchor.isSubmitted(p256.id, 5), "higher seq");
        assertFalse(anchor.isSubmitted(p256.id, 4), "gap");
    }

    function test_submitReading_zeroSequence_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(secp, 0, block.timestamp);
        bytes memory sig = signReading(secp, r);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorZeroSequence.selector, secp.id));
        anchor.submitReading(r, sig);
    }

    function test_submitReading_sequenceGap_succeeds() public {
        IReadingAnchor.Reading memory r1 = makeReading(secp, 1, block.timestamp);
        anchor.submitReading(r1, signReading(secp, r1));
        IReadingAnchor.Reading memory r4 = makeReading(secp, 4, block.timestamp);
        anchor.submitReading(r4, signReading(secp, r4));
        assertTrue(anchor.isSubmitted(secp.id, 4), "gap allowed");
        assertFalse(anchor.isSubmitted(p256.id, 4), "per device");
    }

    function test_submitReading_wrongSignatureLength_reverts() public {
        IReadingAnchor.Reading memory r = makeReading(p256, 1, block.timestamp);
        bytes memory sig = abi.encodePacked(signReading(p256, r), uint8(27));
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, p256.id));
        anchor.submitReading(r, sig);
    }

    // ---------------------------------------------------------------- verifyReading

    function test_verifyReading_validProof_succeeds() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(6);
        uint256 batchId = _anchor(tree, rs.length);
        vm.warp(block.timestamp + 30 days);
        for (uint256 i = 0; i < rs.length; ++i) {
            bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[i]));
            assertTrue(anchor.verifyReading(batchId, rs[i], sigs[i], proof), "verifies");
        }
    }

    function test_verifyReading_openZeppelinMerkleTreeVector_succeeds() public {
        // Root and proofs made by @openzeppelin/merkle-tree StandardMerkleTree.of over the 5 readings of
        // _vectorReading, with ["address","uint64","uint64","bytes32"].
        bytes32 root = 0x2fdea1b52b21ef34ea1fd3c0bd8bc6f9df58ad004d337d0304a19a447d5b3013;
        bytes32[] memory leaves = new bytes32[](5);
        for (uint256 i = 0; i < 5; ++i) leaves[i] = anchor.readingLeaf(_vectorReading(uint64(i + 1)));
        bytes32[] memory tree = StandardMerkleTree.build(leaves);
        assertEq(tree[0], root, "the Solidity test tree matches @openzeppelin/merkle-tree");

        vm.prank(relayer);
        uint256 batchId = anchor.anchorBatch(root, 5, MANIFEST);
        bytes32[] memory proof = new bytes32[](3);
        proof[0] = 0x5e5851d3ca5c353f6ac6a170fd07bc759c882f44d35d01e59aed25a077356b63;
        proof[1] = 0xacbdcd6b83aa9fac5cb03d9b641cc2f8166d4e4f7351825b62e9e53e72aed53e;
        proof[2] = 0x9a99341dd1311161f3838a9bcb3a7e6b2332e44597bdcfa5c2c6df027e177e6c;
        IReadingAnchor.Reading memory r3 = _vectorReading(3);
        assertEq(abi.encode(StandardMerkleTree.proofOf(tree, anchor.readingLeaf(r3))), abi.encode(proof), "proof");
        assertTrue(anchor.verifyReading(batchId, r3, signReading(secp, r3), proof), "verifies");
    }

    function test_verifyReading_singleLeaf_succeeds() public {
        IReadingAnchor.Reading memory r = makeReading(p256, 1, block.timestamp);
        vm.prank(relayer);
        uint256 batchId = anchor.anchorBatch(readingLeafOf(r), 1, MANIFEST);
        assertTrue(anchor.verifyReading(batchId, r, signReading(p256, r), new bytes32[](0)), "root is the leaf");
    }

    function test_verifyReading_wrongProof_reverts() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(4);
        uint256 batchId = _anchor(tree, rs.length);
        bytes32 leaf = readingLeafOf(rs[0]);
        bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[1])); // another leaf's proof
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidProof.selector, batchId, leaf));
        anchor.verifyReading(batchId, rs[0], sigs[0], proof);

        proof = StandardMerkleTree.proofOf(tree, leaf);
        proof[proof.length - 1] = bytes32(uint256(proof[proof.length - 1]) ^ 1);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidProof.selector, batchId, leaf));
        anchor.verifyReading(batchId, rs[0], sigs[0], proof);

        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidProof.selector, batchId, leaf));
        anchor.verifyReading(batchId, rs[0], sigs[0], new bytes32[](0));
    }

    function test_verifyReading_tamperedReading_reverts() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(4);
        uint256 batchId = _anchor(tree, rs.length);
        bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[2]));
        IReadingAnchor.Reading memory tampered = rs[2];
        tampered.dataHash = keccak256("tampered");
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorInvalidProof.selector,
                batchId,
                readingLeafOf(tampered)
            )
        );
        anchor.verifyReading(batchId, tampered, sigs[2], proof);
    }

    function test_verifyReading_otherBatch_reverts() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(4);
        uint256 batchId = _anchor(tree, rs.length);
        vm.prank(relayer);
        uint256 otherId = anchor.anchorBatch(keccak256("other root"), 4, MANIFEST);
        bytes32 leaf = readingLeafOf(rs[0]);
        bytes32[] memory proof = StandardMerkleTree.proofOf(tree, leaf);
        assertTrue(anchor.verifyReading(batchId, rs[0], sigs[0], proof), "in its batch");
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidProof.selector, otherId, leaf));
        anchor.verifyReading(otherId, rs[0], sigs[0], proof);
    }

    function test_verifyReading_unknownBatch_reverts() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(2);
        uint256 batchId = _anchor(tree, rs.length);
        bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]));
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorUnknownBatch.selector, batchId + 1));
        anchor.verifyReading(batchId + 1, rs[0], sigs[0], proof);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorUnknownBatch.selector, uint256(0)));
        anchor.verifyReading(0, rs[0], sigs[0], proof);
    }

    function test_verifyReading_badSignature_reverts() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(4);
        uint256 batchId = _anchor(tree, rs.length);
        // rs[0] is a secp256k1 reading, rs[1] a P-256 one (see _mixedBatch).
        bytes32[] memory proof0 = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]));
        bytes32[] memory proof1 = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[1]));
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, rs[0].device));
        anchor.verifyReading(batchId, rs[0], sigs[2], proof0); // another reading's signature
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, rs[0].device));
        anchor.verifyReading(batchId, rs[0], highS(secp, sigs[0]), proof0);
        vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidSignature.selector, rs[1].device));
        anchor.verifyReading(batchId, rs[1], highS(p256, sigs[1]), proof1);
    }

    function test_verifyReading_signedAfterRevocation_reverts() public {
        uint256 revokedAt = block.timestamp;
        vm.prank(registrar);
        registry.revokeDevice(secp.id);
        vm.warp(revokedAt + 60);
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(secp, 1, revokedAt); // at the revocation second: already revoked
        rs[1] = makeReading(p256, 1, revokedAt);
        bytes32[] memory tree = _treeOf(rs);
        // The batch is anchored at the revocation second, so the reading-time check is what fails.
        vm.warp(revokedAt);
        uint256 batchId = _anchor(tree, 2);
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, secp.id, uint64(revokedAt))
        );
        anchor.verifyReading(
            batchId,
            rs[0],
            signReading(secp, rs[0]),
            StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]))
        );
        assertTrue(
            anchor.verifyReading(
                batchId,
                rs[1],
                signReading(p256, rs[1]),
                StandardMerkleTree.proofOf(tree, readingLeafOf(rs[1]))
            ),
            "the other device is unaffected"
        );
    }

    function test_verifyReading_anchoredAfterRevocation_reverts() public {
        // Made while the device was active (a back-dated reading of a stolen key looks the same), anchored after.
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(p256, 1, block.timestamp - 10);
        rs[1] = makeReading(secp, 1, block.timestamp - 10);
        bytes32[] memory tree = _treeOf(rs);
        vm.prank(registrar);
        registry.revokeDevice(p256.id);
        vm.warp(block.timestamp + 5);
        uint256 batchId = _anchor(tree, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorDeviceNotActive.selector,
                p256.id,
                uint64(block.timestamp)
            )
        );
        anchor.verifyReading(
            batchId,
            rs[0],
            signReading(p256, rs[0]),
            StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]))
        );
    }

    function test_verifyReading_revokedAfterAnchoring_succeeds() public {
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(4);
        uint256 batchId = _anchor(tree, rs.length);
        vm.warp(block.timestamp + 1);
        vm.startPrank(registrar);
        registry.revokeDevice(secp.id);
        registry.revokeDevice(p256.id);
        vm.stopPrank();
        for (uint256 i = 0; i < rs.length; ++i) {
            bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[i]));
            assertTrue(anchor.verifyReading(batchId, rs[i], sigs[i], proof), "made and anchored before revocation");
        }
    }

    function test_verifyReading_suspendedAtReadingTime_reverts() public {
        vm.prank(registrar);
        registry.suspendDevice(secp.id);
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(secp, 1, block.timestamp);
        rs[1] = makeReading(p256, 1, block.timestamp);
        bytes32[] memory tree = _treeOf(rs);
        uint256 batchId = _anchor(tree, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReadingAnchor.ReadingAnchorDeviceNotActive.selector,
                secp.id,
                uint64(block.timestamp)
            )
        );
        anchor.verifyReading(
            batchId,
            rs[0],
            signReading(secp, rs[0]),
            StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]))
        );
    }

    function test_verifyReading_rotatedBeforeAnchoring_succeeds() public {
        // A reading made before a key rotation still verifies in a batch anchored after it.
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(secp, 1, block.timestamp - 1);
        rs[1] = makeReading(p256, 1, block.timestamp - 1);
        bytes32[] memory tree = _treeOf(rs);
        DeviceKey memory next = p256Key(0x2E7);
        uint256 deadline = block.timestamp + 1 hours;
        registry.rotateKey(
            secp.id,
            next.scheme,
            next.publicKey,
            deadline,
            signDigest(secp, rotateDigest(secp.id, next, 0, deadline))
        );
        uint256 batchId = _anchor(tree, 2);
        assertTrue(
            anchor.verifyReading(
                batchId,
                rs[0],
                signReading(secp, rs[0]),
                StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]))
            ),
            "verifies"
        );
    }

    function test_verifyReading_futureTimestamp_reverts() public {
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        uint256 ts = block.timestamp + anchor.MAX_CLOCK_SKEW() + 1;
        rs[0] = makeReading(secp, 1, ts);
        rs[1] = makeReading(p256, 1, block.timestamp);
        bytes32[] memory tree = _treeOf(rs);
        uint256 batchId = _anchor(tree, 2);
        uint64 anchoredAt = uint64(block.timestamp);
        vm.warp(ts + 1 days); // later, the reading's own time has passed; it still claims to postdate its batch
        vm.expectRevert(
            abi.encodeWithSelector(IReadingAnchor.ReadingAnchorFutureTimestamp.selector, uint64(ts), anchoredAt)
        );
        anchor.verifyReading(
            batchId,
            rs[0],
            signReading(secp, rs[0]),
            StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]))
        );
    }

    // ---------------------------------------------------------------- fuzz

    /// hardhat-config: fuzz.runs = 2048
    function testFuzz_submitReading_eachSequenceOnce(uint64[8] memory seqs, bool useP256) public {
        DeviceKey memory key = useP256 ? p256 : secp;
        bool[17] memory seen;
        for (uint256 i = 0; i < seqs.length; ++i) {
            uint64 seq = (seqs[i] % 16) + 1; // small values so that repeats and decreases happen
            IReadingAnchor.Reading memory r = makeReading(key, seq, block.timestamp);
            bytes memory sig = signReading(key, r);
            if (seen[seq]) {
                vm.expectRevert(
                    abi.encodeWithSelector(IReadingAnchor.ReadingAnchorAlreadySubmitted.selector, key.id, seq)
                );
                anchor.submitReading(r, sig);
            } else {
                anchor.submitReading(r, sig);
                seen[seq] = true;
            }
            assertTrue(anchor.isSubmitted(key.id, seq), "submitted once, in any order");
        }
    }

    /// hardhat-config: fuzz.runs = 2048
    function testFuzz_anchorBatch_noZeroOrDuplicateRoot(uint8[10] memory picks, uint32 leafCount) public {
        leafCount = uint32(bound(leafCount, 1, anchor.MAX_LEAF_COUNT()));
        bytes32[] memory anchored = new bytes32[](picks.length);
        uint256 count = 0;
        vm.startPrank(relayer);
        for (uint256 i = 0; i < picks.length; ++i) {
            // 0 is the zero root; other picks repeat often
            bytes32 root = picks[i] % 5 == 0 ? bytes32(0) : keccak256(abi.encode(picks[i] % 5));
            uint256 existing = 0;
            for (uint256 j = 0; j < count; ++j) if (anchored[j] == root) existing = j + 1;
            if (root == bytes32(0)) {
                vm.expectRevert(IReadingAnchor.ReadingAnchorZeroRoot.selector);
                anchor.anchorBatch(root, leafCount, MANIFEST);
            } else if (existing != 0) {
                vm.expectRevert(
                    abi.encodeWithSelector(IReadingAnchor.ReadingAnchorRootAlreadyAnchored.selector, root, existing)
                );
                anchor.anchorBatch(root, leafCount, MANIFEST);
            } else {
                anchored[count++] = root;
                assertEq(anchor.anchorBatch(root, leafCount, MANIFEST), count, "sequential id");
            }
        }
        vm.stopPrank();
        assertEq(anchor.batchCount(), count, "count");
        for (uint256 j = 0; j < count; ++j) {
            assertEq(anchor.getBatch(j + 1).root, anchored[j], "root by id");
            assertEq(anchor.batchIdOfRoot(anchored[j]), j + 1, "id by root");
        }
    }

    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_verifyReading_validProof(uint8 size, uint256 pick) public {
        size = uint8(bound(size, 2, 24));
        (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(size);
        uint256 batchId = _anchor(tree, rs.length);
        uint256 i = pick % rs.length;
        bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[i]));
        assertTrue(anchor.verifyReading(batchId, rs[i], sigs[i], proof), "verifies");
        assertTrue(MerkleProof.verify(proof, tree[0], anchor.readingLeaf(rs[i])), "OZ MerkleProof agrees");
    }

    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_verifyReading_revokedKeyNeverVerifiesAfterRevocation(
        uint32 revokeDelay,
        uint32 readingAfterRevocation,
        uint32 anchorDelay,
        bool useP256
    ) public {
        DeviceKey memory key = useP256 ? p256 : secp;
        DeviceKey memory other = useP256 ? secp : p256;
        uint256 revokedAt = block.timestamp + revokeDelay;
        vm.warp(revokedAt);
        vm.prank(registrar);
        registry.revokeDevice(key.id);

        uint256 ts = revokedAt + readingAfterRevocation;
        IReadingAnchor.Reading[] memory rs = new IReadingAnchor.Reading[](2);
        rs[0] = makeReading(key, 1, ts);
        rs[1] = makeReading(other, 1, revokedAt);
        bytes memory sig = signReading(key, rs[0]);
        bytes32[] memory tree = _treeOf(rs);

        // Anchored at any time from the revocation on (even before the reading's claimed time).
        uint256 anchoredAt = revokedAt + anchorDelay;
        vm.warp(anchoredAt);
        uint256 batchId = _anchor(tree, 2);
        bytes32[] memory proof = StandardMerkleTree.proofOf(tree, readingLeafOf(rs[0]));
        vm.expectRevert(_expectedRevert(key.id, ts, anchoredAt));
        anchor.verifyReading(batchId, rs[0], sig, proof);

        // Nor can it be submitted directly, at any time from its claimed time on.
        vm.warp(anchoredAt + readingAfterRevocation);
        vm.expectRevert(_expectedRevert(key.id, ts, block.timestamp));
        anchor.submitReading(rs[0], sig);
    }

    /// @dev The internal-node-as-leaf (second preimage) attack: an internal node of the tree with its sub-proof
    /// reaches the root, but no reading hashes to an internal node, since leaves are double-hashed.
    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_verifyReading_internalNodeAsLeaf_reverts(uint8 size, uint256 nodePick, uint64 seq) public {
        size = uint8(bound(size, 2, 16));
        (, bytes[] memory sigs, bytes32[] memory tree) = _mixedBatch(size);
        uint256 batchId = _anchor(tree, size);
        // Indices [0, size - 1) are the internal nodes; the root's sub-proof is empty.
        uint256 index = nodePick % (tree.length - size);
        bytes32 node = tree[index];
        bytes32[] memory subProof = StandardMerkleTree.proof(tree, index);
        assertTrue(MerkleProof.verify(subProof, tree[0], node), "the sub-proof reaches the root from the node");

        // Readings built from the node's bytes in every way that fits the leaf encoding.
        IReadingAnchor.Reading[3] memory forged = [
            IReadingAnchor.Reading({device: address(uint160(uint256(node))), seq: seq, timestamp: 0, dataHash: node}),
            IReadingAnchor.Reading({
                device: address(bytes20(node)),
                seq: uint64(bytes8(node)),
                timestamp: uint64(uint256(node)),
                dataHash: node
            }),
            IReadingAnchor.Reading({device: secp.id, seq: seq, timestamp: uint64(block.timestamp), dataHash: node})
        ];
        for (uint256 k = 0; k < forged.length; ++k) {
            bytes32 leaf = readingLeafOf(forged[k]);
            assertNotEq(leaf, node, "no reading hashes to the node");
            vm.expectRevert(abi.encodeWithSelector(IReadingAnchor.ReadingAnchorInvalidProof.selector, batchId, leaf));
            anchor.verifyReading(batchId, forged[k], sigs[0], subProof);
        }
    }

    /// hardhat-config: fuzz.runs = 1024
    function testFuzz_submitReading_clockSkew(uint32 ahead) public {
        uint256 ts = block.timestamp + ahead;
        IReadingAnchor.Reading memory r = makeReading(secp, 1, ts);
        bytes memory sig = signReading(secp, r);
        if (ahead > anchor.MAX_CLOCK_SKEW()) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IReadingAnchor.ReadingAnchorFutureTimestamp.selector,
                    uint64(ts),
                    uint64(block.timestamp)
                )
            );
        }
        anchor.submitReading(r, sig);
    }

    // ---------------------------------------------------------------- helpers

    function _assertSubmitSucceeds(DeviceKey memory key) internal {
        IReadingAnchor.Reading memory r = makeReading(key, 1, block.timestamp - 30);
        bytes memory sig = signReading(key, r);
        vm.expectEmit(address(anchor));
        emit IReadingAnchor.ReadingSubmitted(key.id, 1, r.timestamp, r.dataHash);
        vm.prank(stranger); // anyone relays
        anchor.submitReading(r, sig);
        assertTrue(anchor.isSubmitted(key.id, 1), "submitted 1");

        IReadingAnchor.Reading memory r2 = makeReading(key, 2, block.timestamp);
        anchor.submitReading(r2, signReading(key, r2));
        assertTrue(anchor.isSubmitted(key.id, 2), "submitted 2");
    }

    /// @dev The readings of the @openzeppelin/merkle-tree vector: device of key 0xA11CE, seq 1..5.
    function _vectorReading(uint64 seq) internal view returns (IReadingAnchor.Reading memory) {
        return
            IReadingAnchor.Reading({
                device: secp.id,
                seq: seq,
                timestamp: uint64(T0 + 60 * seq),
                dataHash: keccak256(bytes(string.concat("payload ", Strings.toString(seq))))
            });
    }

    /// @dev `n` signed readings alternating between the secp256k1 (even index) and the P-256 (odd index) device,
    /// and their tree.
    function _mixedBatch(
        uint256 n
    ) internal view returns (IReadingAnchor.Reading[] memory rs, bytes[] memory sigs, bytes32[] memory tree) {
        rs = new IReadingAnchor.Reading[](n);
        sigs = new bytes[](n);
        for (uint256 i = 0; i < n; ++i) {
            DeviceKey memory key = i % 2 == 0 ? secp : p256;
            rs[i] = makeReading(key, uint64(i / 2 + 1), block.timestamp - 60 * (n - i));
            sigs[i] = signReading(key, rs[i]);
        }
        tree = _treeOf(rs);
    }

    function _treeOf(IReadingAnchor.Reading[] memory rs) internal pure returns (bytes32[] memory) {
        bytes32[] memory leaves = new bytes32[](rs.length);
        for (uint256 i = 0; i < rs.length; ++i) leaves[i] = readingLeafOf(rs[i]);
        return StandardMerkleTree.build(leaves);
    }

    function _anchor(bytes32[] memory tree, uint256 leafCount) internal returns (uint256 batchId) {
        vm.prank(relayer);
        batchId = anchor.anchorBatch(tree[0], uint32(leafCount), MANIFEST);
    }

    /// @dev The revert of a revoked key's reading dated `ts` and anchored at `anchoredAt`: the timestamp rule first.
    function _expectedRevert(address device, uint256 ts, uint256 anchoredAt) private view returns (bytes memory) {
        if (ts > anchoredAt + anchor.MAX_CLOCK_SKEW()) {
            return
                abi.encodeWithSelector(
                    IReadingAnchor.ReadingAnchorFutureTimestamp.selector,
                    uint64(ts),
                    uint64(anchoredAt)
                );
        }
        if (anchoredAt > ts && anchoredAt - ts > MAX_ANCHOR_DELAY) {
            return
                abi.encodeWithSelector(
                    IReadingAnchor.ReadingAnchorAnchoredTooLate.selector,
                    uint64(ts),
                    uint64(anchoredAt),
                    MAX_ANCHOR_DELAY
                );
        }
        return abi.encodeWithSelector(IReadingAnchor.ReadingAnchorDeviceNotActive.selector, device, uint64(ts));
    }
}
