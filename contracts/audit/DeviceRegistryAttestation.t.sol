// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {DeviceStatus, IDeviceRegistry, KeyScheme} from "../interfaces/IDeviceRegistry.sol";
import {AuditFixture, DeviceKey} from "./AuditFixture.t.sol";
import {MockERC1271Wallet} from "../reward/RewardFixture.t.sol";

/// @dev Operator-attested provisioning: issuers, attestations and proofs of possession (docs/PROVISIONING.md).
contract DeviceRegistryAttestationTest is AuditFixture {
    uint256 internal issuerKey = 0x155E;
    address internal issuer;
    DeviceKey internal secp;
    DeviceKey internal p256;

    function setUp() public override {
        super.setUp();
        issuer = vm.addr(issuerKey);
        secp = secpKey(0xA11CE);
        p256 = p256Key(0xB0B);
        vm.prank(admin);
        registry.addIssuer(issuer);
    }

    function attestationFor(
        DeviceKey memory key,
        string memory esimId
    ) internal view returns (IDeviceRegistry.DeviceAttestation memory a) {
        a = IDeviceRegistry.DeviceAttestation({
            issuer: issuer,
            scheme: key.scheme,
            publicKey: key.publicKey,
            esimHash: esimHashOf(bytes(esimId)),
            beneficiary: beneficiary,
            metadataHash: keccak256("metadata"),
            validAfter: uint64(block.timestamp),
            validUntil: uint64(block.timestamp + 1 days)
        });
    }

    function structHash(IDeviceRegistry.DeviceAttestation memory a) internal pure returns (bytes32) {
        return attestationStructHash(a);
    }

    function separator() internal view returns (bytes32) {
        return domainSeparator("SensorSeal Registry", block.chainid, address(registry));
    }

    function issuerSign(uint256 key, IDeviceRegistry.DeviceAttestation memory a) internal view returns (bytes memory) {
        return signAttestationAt(address(registry), key, a);
    }

    function pop(DeviceKey memory key, IDeviceRegistry.DeviceAttestation memory a) internal view returns (bytes memory) {
        return proveAt(address(registry), key, a);
    }

    function registerAttested(DeviceKey memory key, string memory esimId) internal returns (address) {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, esimId);
        vm.prank(stranger);
        return registry.registerWithAttestation(a, issuerSign(issuerKey, a), pop(key, a));
    }

    // ---------------------------------------------------------------- issuers

    function test_addIssuer_succeeds() public {
        address other = makeAddr("other issuer");
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.IssuerAdded(other);
        vm.prank(admin);
        registry.addIssuer(other);
        assertEq(registry.getIssuer(other).addedAt, T0, "addedAt");
        assertEq(registry.getIssuer(other).revokedAt, 0, "revokedAt");
    }

    function test_addIssuer_twiceOrZero_reverts() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidIssuer.selector, issuer));
        registry.addIssuer(issuer);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidIssuer.selector, address(0)));
        registry.addIssuer(address(0));
        registry.revokeIssuer(issuer);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidIssuer.selector, issuer));
        registry.addIssuer(issuer);
        vm.stopPrank();
    }

    function test_addIssuer_notAdmin_reverts() public {
        bytes32 role = registry.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, registrar, role));
        vm.prank(registrar);
        registry.addIssuer(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, registrar, role));
        vm.prank(registrar);
        registry.revokeIssuer(issuer);
    }

    function test_revokeIssuer_unknownOrRevoked_reverts() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownIssuer.selector, stranger));
        registry.revokeIssuer(stranger);
        registry.revokeIssuer(issuer);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryIssuerRevoked.selector, issuer, T0));
        registry.revokeIssuer(issuer);
        vm.stopPrank();
    }

    function test_revokeIssuer_revokesItsDevicesFromThatTime_succeeds() public {
        address device = registerAttested(secp, "8944-1");
        address other = register(p256); // registered by the registrar: not the issuer's
        vm.warp(T0 + 100);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.IssuerRevoked(issuer, uint64(T0 + 100));
        vm.prank(admin);
        registry.revokeIssuer(issuer);

        assertEq(uint256(registry.statusOf(device)), uint256(DeviceStatus.Revoked), "statusOf");
        assertEq(uint256(registry.getDevice(device).status), uint256(DeviceStatus.Revoked), "getDevice");
        assertTrue(registry.isActiveAt(device, uint64(T0 + 99)), "active before the revocation");
        assertFalse(registry.isActiveAt(device, uint64(T0 + 100)), "revoked from the revocation");
        assertTrue(registry.isActiveAt(other, uint64(T0 + 100)), "other devices untouched");
        assertEq(uint256(registry.statusAt(stranger, uint64(T0 + 100))), uint256(DeviceStatus.Unknown), "unknown");

        // Its devices can no longer act.
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotActive.selector, device, uint64(T0 + 100))
        );
        registry.updateMetadata(device, bytes32(0), block.timestamp, "");
    }

    /// @dev Revoked is final ({DeviceStatus}): once the issuer is revoked, the registrar's status changes see the
    /// device as `Revoked` too, so none of them succeeds (nor emits DeviceSuspended/DeviceResumed for a device whose
    /// status stays `Revoked`).
    function test_statusChanges_issuerRevoked_reverts() public {
        address device = registerAttested(secp, "8944-1");
        address suspended = registerAttested(p256, "8944-2");
        vm.prank(registrar);
        registry.suspendDevice(suspended);
        vm.prank(admin);
        registry.revokeIssuer(issuer);

        vm.startPrank(registrar);
        bytes memory revoked = abi.encodeWithSelector(
            IDeviceRegistry.DeviceRegistryInvalidStatus.selector,
            device,
            DeviceStatus.Revoked
        );
        vm.expectRevert(revoked);
        registry.suspendDevice(device);
        vm.expectRevert(revoked);
        registry.revokeDevice(device);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryInvalidStatus.selector,
                suspended,
                DeviceStatus.Revoked
            )
        );
        registry.resumeDevice(suspended);
        // A compromise may still be declared: it moves the history back, which the issuer's revocation does not.
        registry.revokeDeviceCompromised(device, uint64(T0));
        vm.stopPrank();
        assertEq(registry.compromisedSince(device), T0, "compromise recorded");
        assertEq(uint256(registry.statusOf(suspended)), uint256(DeviceStatus.Revoked), "still revoked");
    }

    function test_revokeIssuer_rotatedKeyKeepsIssuer_succeeds() public {
        address device = registerAttested(secp, "8944-1");
        bytes memory sig = signDigest(secp, rotateDigest(device, p256, registry.nonces(device), block.timestamp));
        address newDevice = registry.rotateKey(device, KeyScheme.P256, p256.publicKey, block.timestamp, sig);
        assertEq(registry.issuerOf(newDevice), issuer, "issuer carried over");
        vm.prank(admin);
        registry.revokeIssuer(issuer);
        assertEq(uint256(registry.statusOf(newDevice)), uint256(DeviceStatus.Revoked), "rotated key revoked too");
    }

    // ---------------------------------------------------------------- registerWithAttestation

    function test_registerWithAttestation_bothSchemes_succeeds() public {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(p256, "8944-2");
        assertEq(registry.attestationDigest(a), typedDigest(separator(), structHash(a)), "attestation digest");
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(p256.id, KeyScheme.P256, beneficiary, a.metadataHash, p256.publicKey);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceAttested(p256.id, issuer, a.esimHash);
        vm.prank(stranger);
        address device = registry.registerWithAttestation(a, issuerSign(issuerKey, a), pop(p256, a));
        assertEq(device, p256.id, "p256 id");
        assertEq(registerAttested(secp, "8944-3"), secp.id, "secp256k1 id");
        assertEq(registry.issuerOf(device), issuer, "issuerOf");
        assertTrue(registry.isEsimUsed(a.esimHash), "eSIM used");
        assertEq(uint256(registry.statusOf(device)), uint256(DeviceStatus.Active), "active");
    }

    function test_registerWithAttestation_forgedAttestation_reverts() public {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory forged = issuerSign(0xBAD, a);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidAttestationSignature.selector, issuer)
        );
        registry.registerWithAttestation(a, forged, pop(secp, a));

        // A field changed after signing.
        bytes memory sig = issuerSign(issuerKey, a);
        a.beneficiary = stranger;
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidAttestationSignature.selector, issuer)
        );
        registry.registerWithAttestation(a, sig, pop(secp, a));
    }

    function test_registerWithAttestation_outsideWindow_reverts() public {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(secp, a);
        vm.warp(a.validUntil + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryAttestationNotValid.selector,
                a.validAfter,
                a.validUntil
            )
        );
        registry.registerWithAttestation(a, sig, proof);
        vm.warp(a.validAfter - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryAttestationNotValid.selector,
                a.validAfter,
                a.validUntil
            )
        );
        registry.registerWithAttestation(a, sig, proof);
        vm.warp(a.validUntil);
        registry.registerWithAttestation(a, sig, proof);
    }

    function test_registerWithAttestation_attestationForAnotherKey_reverts() public {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory wrongProof = pop(secpKey(0xCAFE), a);
        bytes memory sig = issuerSign(issuerKey, a);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, secp.id)
        );
        registry.registerWithAttestation(a, sig, wrongProof);
        // P-256: a proof over another attestation.
        IDeviceRegistry.DeviceAttestation memory b = attestationFor(p256, "8944-2");
        IDeviceRegistry.DeviceAttestation memory c = attestationFor(p256, "8944-9");
        bytes memory sigB = issuerSign(issuerKey, b);
        bytes memory proofC = pop(p256, c);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, p256.id)
        );
        registry.registerWithAttestation(b, sigB, proofC);
    }

    function test_registerWithAttestation_replayedProof_reverts() public {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(secp, a);
        registry.registerWithAttestation(a, sig, proof);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryEsimAlreadyUsed.selector, a.esimHash));
        registry.registerWithAttestation(a, sig, proof);
    }

    function test_registerWithAttestation_esimReusedForAnotherKey_reverts() public {
        registerAttested(secp, "8944-1");
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(p256, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(p256, a);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryEsimAlreadyUsed.selector, a.esimHash));
        registry.registerWithAttestation(a, sig, proof);
    }

    function test_registerWithAttestation_keyAlreadyRegistered_reverts() public {
        register(secp);
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(secp, a);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, secp.id));
        registry.registerWithAttestation(a, sig, proof);
    }

    function test_registerWithAttestation_revokedOrUnknownIssuer_reverts() public {
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(secp, a);
        vm.prank(admin);
        registry.revokeIssuer(issuer);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryIssuerRevoked.selector, issuer, T0));
        registry.registerWithAttestation(a, sig, proof);

        a.issuer = stranger;
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownIssuer.selector, stranger));
        registry.registerWithAttestation(a, sig, proof);
    }

    function testFuzz_registerWithAttestation_anyKeyOnce(uint256 privateKey, string calldata esimId) public {
        privateKey = bound(privateKey, 1, P256_N - 1);
        DeviceKey memory key = privateKey % 2 == 0 ? p256Key(privateKey) : secpKey(bound(privateKey, 1, SECP256K1_N - 1));
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, esimId);
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(key, a);
        assertEq(registry.registerWithAttestation(a, sig, proof), key.id, "device id");
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryEsimAlreadyUsed.selector, a.esimHash));
        registry.registerWithAttestation(a, sig, proof);
    }

    function testFuzz_registerWithAttestation_tamperedField_reverts(uint8 field, bytes32 noise) public {
        vm.assume(noise != bytes32(0));
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        field = field % 3;
        if (field == 0) a.esimHash ^= noise;
        else if (field == 1) a.metadataHash ^= noise;
        else a.beneficiary = address(uint160(uint256(noise)) | 1);
        vm.assume(a.beneficiary != beneficiary || field != 2);
        bytes memory proof = pop(secp, a);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidAttestationSignature.selector, issuer)
        );
        registry.registerWithAttestation(a, sig, proof);
    }

    // ---------------------------------------------------------------- fuzzed paths

    /// @dev A key of either scheme from a fuzzed private key.
    function anyKey(uint256 privateKey, bool isP256) internal view returns (DeviceKey memory) {
        return isP256 ? p256Key(bound(privateKey, 1, P256_N - 1)) : secpKey(bound(privateKey, 1, SECP256K1_N - 1));
    }

    /// @dev The window is inclusive at both ends: accepted exactly when validAfter <= now <= validUntil, for either
    /// scheme, including empty windows (validAfter > validUntil), which are never accepted.
    function testFuzz_registerWithAttestation_validityWindow(
        uint32 afterOffset,
        uint32 untilOffset,
        uint32 submitOffset,
        bool isP256
    ) public {
        DeviceKey memory key = isP256 ? p256 : secp;
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, "8944-1");
        // Window ends and submission time all fuzzed from T0 on, so that they fall on both sides of each other.
        uint64 base = uint64(T0);
        a.validAfter = base + afterOffset;
        a.validUntil = base + untilOffset;
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(key, a);
        uint64 at = base + submitOffset;
        vm.warp(at);
        if (at < a.validAfter || at > a.validUntil) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryAttestationNotValid.selector,
                    a.validAfter,
                    a.validUntil
                )
            );
            registry.registerWithAttestation(a, sig, proof);
            assertFalse(registry.isEsimUsed(a.esimHash), "nothing used");
            return;
        }
        assertEq(registry.registerWithAttestation(a, sig, proof), key.id, "registered");
        assertEq(registry.getDevice(key.id).registeredAt, at, "at the submission time");
    }

    /// @dev The exact edges of the window, for both schemes: one second outside either end is refused, the ends
    /// themselves are accepted.
    function testFuzz_registerWithAttestation_windowEdges(uint32 start, uint32 length, bool atEnd, bool isP256) public {
        DeviceKey memory key = isP256 ? p256 : secp;
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, "8944-1");
        a.validAfter = uint64(T0) + 1 + start;
        a.validUntil = a.validAfter + length;
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(key, a);
        bytes memory notValid = abi.encodeWithSelector(
            IDeviceRegistry.DeviceRegistryAttestationNotValid.selector,
            a.validAfter,
            a.validUntil
        );
        vm.warp(atEnd ? a.validUntil + 1 : a.validAfter - 1);
        vm.expectRevert(notValid);
        registry.registerWithAttestation(a, sig, proof);
        vm.warp(atEnd ? a.validUntil : a.validAfter);
        assertEq(registry.registerWithAttestation(a, sig, proof), key.id, "accepted at the edge");
    }

    /// @dev An issuer signature made by any other key, or any bytes at all, is refused, and nothing is used.
    function testFuzz_registerWithAttestation_forgedIssuerSignature_reverts(
        uint256 forgerKey,
        bytes calldata junk,
        bool useJunk
    ) public {
        forgerKey = bound(forgerKey, 1, SECP256K1_N - 1);
        vm.assume(forgerKey != issuerKey);
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(p256, "8944-1");
        bytes memory forged = useJunk ? junk : issuerSign(forgerKey, a);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidAttestationSignature.selector, issuer)
        );
        registry.registerWithAttestation(a, forged, pop(p256, a));
        assertFalse(registry.isEsimUsed(a.esimHash), "nothing used");
    }

    /// @dev A proof of possession by any other key, of either scheme, or any bytes, is refused for a key of either
    /// scheme: an attestation for a key is useless to whoever does not hold that key.
    function testFuzz_registerWithAttestation_proofByOtherKey_reverts(
        uint256 attestedKey,
        bool attestedP256,
        uint256 otherKey,
        bool otherP256,
        bytes calldata junk,
        bool useJunk
    ) public {
        DeviceKey memory key = anyKey(attestedKey, attestedP256);
        DeviceKey memory other = anyKey(otherKey, otherP256);
        vm.assume(other.id != key.id);
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, "8944-1");
        bytes memory proof = useJunk ? junk : pop(other, a);
        bytes memory sig = issuerSign(issuerKey, a);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, key.id)
        );
        registry.registerWithAttestation(a, sig, proof);
        assertEq(uint256(registry.statusOf(key.id)), uint256(DeviceStatus.Unknown), "not registered");
    }

    /// @dev A key attested under the other scheme than its own is refused as an invalid key (a P-256 point is not on
    /// secp256k1 and the other way round), and a proof in the other scheme's format is refused for a right scheme.
    function testFuzz_registerWithAttestation_wrongScheme_reverts(uint256 privateKey, bool isP256) public {
        DeviceKey memory key = anyKey(privateKey, isP256);
        KeyScheme wrong = isP256 ? KeyScheme.Secp256k1 : KeyScheme.P256;
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, "8944-1");
        a.scheme = wrong;
        bytes memory sig = issuerSign(issuerKey, a);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidPublicKey.selector, wrong));
        registry.registerWithAttestation(a, sig, pop(key, a));

        // Right scheme, proof made by the same private key on the other curve (the other scheme's format).
        a.scheme = key.scheme;
        sig = issuerSign(issuerKey, a);
        DeviceKey memory twin = isP256
            ? secpKey(key.privateKey % (SECP256K1_N - 1) + 1)
            : p256Key(bound(key.privateKey, 1, P256_N - 1));
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, key.id)
        );
        registry.registerWithAttestation(a, sig, pop(twin, a));
    }

    /// @dev A valid proof malleated to high s is refused for both schemes, so a proof has one valid encoding.
    function testFuzz_registerWithAttestation_malleatedProof_reverts(uint256 privateKey, bool isP256) public {
        DeviceKey memory key = anyKey(privateKey, isP256);
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes memory proof = pop(key, a);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, key.id)
        );
        registry.registerWithAttestation(a, sig, highS(key, proof));
        assertEq(registry.registerWithAttestation(a, sig, proof), key.id, "the low-s proof works");
    }

    /// @dev A proof of possession made on another registry (another verifying contract) or another chain is refused.
    function testFuzz_registerWithAttestation_proofForOtherDomain_reverts(address otherRegistry, uint64 chainId) public {
        vm.assume(otherRegistry != address(registry));
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(secp, "8944-1");
        bytes memory sig = issuerSign(issuerKey, a);
        bytes32 popStruct = keccak256(abi.encode(PROOF_OF_POSSESSION_TYPEHASH, structHash(a)));
        bytes memory foreign = signDigest(
            secp,
            typedDigest(domainSeparator("SensorSeal Registry", block.chainid, otherRegistry), popStruct)
        );
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, secp.id)
        );
        registry.registerWithAttestation(a, sig, foreign);
        vm.assume(chainId != block.chainid);
        bytes memory otherChain = signDigest(
            secp,
            typedDigest(domainSeparator("SensorSeal Registry", chainId, address(registry)), popStruct)
        );
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, secp.id)
        );
        registry.registerWithAttestation(a, sig, otherChain);
    }

    /// @dev A device of an issuer revoked at any time after its registration is active exactly from its registration
    /// until just before the revocation, at every probed time; and a registrar's device is untouched.
    function testFuzz_revokeIssuer_devicesNotActiveFromRevocation(
        uint32 registerDelay,
        uint32 revokeDelay,
        uint64 probe,
        bool isP256
    ) public {
        DeviceKey memory key = isP256 ? p256 : secp;
        DeviceKey memory other = isP256 ? secp : p256;
        uint64 registeredAt = uint64(T0) + registerDelay;
        vm.warp(registeredAt);
        IDeviceRegistry.DeviceAttestation memory a = attestationFor(key, "8944-1");
        vm.prank(stranger);
        registry.registerWithAttestation(a, issuerSign(issuerKey, a), pop(key, a));
        register(other);
        uint64 revokedAt = registeredAt + revokeDelay;
        vm.warp(revokedAt);
        vm.prank(admin);
        registry.revokeIssuer(issuer);

        bool expected = probe >= registeredAt && probe < revokedAt;
        assertEq(registry.isActiveAt(key.id, probe), expected, "active exactly before the revocation");
        assertEq(registry.isActiveAt(other.id, probe), probe >= registeredAt, "registrar's device untouched");
        // The revocation cannot be undone: the issuer cannot be added again.
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidIssuer.selector, issuer));
        vm.prank(admin);
        registry.addIssuer(issuer);
    }

    /// @dev A contract issuer (ERC-1271) attests through its owner's signatures; its other signatures, and every one
    /// once it is switched off, are refused.
    function testFuzz_registerWithAttestation_contractIssuer(uint256 ownerKey, uint256 strangerKey) public {
        ownerKey = bound(ownerKey, 1, SECP256K1_N - 1);
        strangerKey = bound(strangerKey, 1, SECP256K1_N - 1);
        vm.assume(ownerKey != strangerKey);
        MockERC1271Wallet wallet = new MockERC1271Wallet(vm.addr(ownerKey));
        vm.prank(admin);
        registry.addIssuer(address(wallet));

        IDeviceRegistry.DeviceAttestation memory a = attestationFor(p256, "8944-1");
        a.issuer = address(wallet);
        bytes memory proof = pop(p256, a);
        bytes memory invalid = abi.encodeWithSelector(
            IDeviceRegistry.DeviceRegistryInvalidAttestationSignature.selector,
            address(wallet)
        );
        vm.expectRevert(invalid);
        registry.registerWithAttestation(a, issuerSign(strangerKey, a), proof);
        wallet.setRejectAll(true);
        vm.expectRevert(invalid);
        registry.registerWithAttestation(a, issuerSign(ownerKey, a), proof);
        wallet.setRejectAll(false);
        assertEq(registry.registerWithAttestation(a, issuerSign(ownerKey, a), proof), p256.id, "registered");
        assertEq(registry.issuerOf(p256.id), address(wallet), "issuerOf");
    }
}
