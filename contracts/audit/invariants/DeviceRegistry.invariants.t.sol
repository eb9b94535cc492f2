// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test, Vm} from "../../test/Test.t.sol";
import {DeviceStatus, IDeviceRegistry, KeyScheme} from "../../interfaces/IDeviceRegistry.sol";
import {DeviceRegistry} from "../DeviceRegistry.sol";
import {AuditKeys, DeviceKey} from "../AuditFixture.t.sol";

// The handler lives in the same file as its invariant suite: Hardhat emits artifacts only for the test files it
// builds as roots, and the invariant runner needs the handler's artifact to call it.

/// @dev Drives a DeviceRegistry as its admin (issuers), its registrar, its devices (8 keys, both schemes) and anyone
/// relaying an issuer's attestation (3 issuers and one never added, 12 eSIM ids), keeping a model of every device's
/// status history, of the issuers and of the attestations used. Each action predicts its outcome from the model: an
/// allowed action must succeed (the invariant runs fail on any revert) and a forbidden one must revert with the exact
/// error.
contract DeviceRegistryHandler is AuditKeys {
    /// @dev How an attestation attempt is made: honestly, or by one of the attacks the registry must refuse.
    enum Attempt {
        Honest,
        ForgedBySigner, // signed by another issuer's key
        ProofByOtherKey, // proof of possession made by another key (of either scheme)
        ProofForOtherAttestation, // the key's proof over an attestation for another eSIM
        MalleatedProof // the key's proof with s replaced by n - s
    }

    /// @dev What the model keeps of an attestation that registered a device.
    struct AttestationRecord {
        address issuer;
        bytes32 esimHash;
        uint64 validAfter;
        uint64 validUntil;
        uint64 registeredAt;
    }

    uint256 internal constant ISSUER_COUNT = 3;
    uint256 internal constant ESIM_COUNT = 12;

    DeviceRegistry public immutable registry;
    address public immutable beneficiary;

    DeviceKey[] internal _keys;
    mapping(address device => uint256 indexPlusOne) internal _keyIndex;

    /// @dev Registered devices, in registration order.
    address[] internal _devices;

    /// @dev The modelled status history: one entry per second in which the status changed (the last change wins).
    mapping(address device => uint64[]) internal _changeTimes;
    mapping(address device => DeviceStatus[]) internal _changeStatuses;

    mapping(address device => uint256) public signedActions;
    mapping(address device => address) public modelRotatedTo;

    /// @dev Issuer keys: the first ISSUER_COUNT may be added; the last one never is (an unknown issuer).
    uint256[] internal _issuerKeys;
    mapping(address issuer => uint64) public modelIssuerAddedAt;
    mapping(address issuer => uint64) public modelIssuerRevokedAt;
    /// @dev The issuer of each device: set by an attested registration, carried over by a rotation.
    mapping(address device => address) public modelIssuerOf;

    /// @dev Devices registered by attestation, in registration order, and their attestations.
    address[] internal _attested;
    mapping(address device => AttestationRecord) internal _attestationOf;
    mapping(bytes32 esimHash => address device) public esimDevice;

    /// @dev Refused attestation attempts, by kind, so a campaign's reach can be read.
    uint256 public refusedAttempts;

    constructor(DeviceRegistry registry_, address beneficiary_) {
        registry = registry_;
        beneficiary = beneficiary_;
        for (uint256 i = 0; i < 4; ++i) _addKey(secpKey(0x5EC0 + i));
        for (uint256 i = 0; i < 4; ++i) _addKey(p256Key(0x9256 + i));
        for (uint256 i = 0; i <= ISSUER_COUNT; ++i) _issuerKeys.push(0x155E0 + i);
    }

    // ---------------------------------------------------------------- actions

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 3 days));
        vm.roll(block.number + 1);
    }

    function registerDevice(uint256 keyPick) external {
        DeviceKey memory key = _keys[keyPick % _keys.length];
        bytes32 metadataHash = keccak256(abi.encode("metadata", key.id));
        if (currentStatus(key.id) != DeviceStatus.Unknown) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, key.id));
            registry.registerDevice(key.scheme, key.publicKey, beneficiary, metadataHash);
            return;
        }
        registry.registerDevice(key.scheme, key.publicKey, beneficiary, metadataHash);
        _devices.push(key.id);
        _record(key.id, DeviceStatus.Active);
    }

    function suspendDevice(uint256 devicePick) external {
        if (_devices.length == 0) return;
        address device = _devices[devicePick % _devices.length];
        DeviceStatus status = currentStatus(device);
        if (status != DeviceStatus.Active) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, device, status));
            registry.suspendDevice(device);
            return;
        }
        registry.suspendDevice(device);
        _record(device, DeviceStatus.Suspended);
    }

    function resumeDevice(uint256 devicePick) external {
        if (_devices.length == 0) return;
        address device = _devices[devicePick % _devices.length];
        DeviceStatus status = currentStatus(device);
        if (status != DeviceStatus.Suspended) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, device, status));
            registry.resumeDevice(device);
            return;
        }
        registry.resumeDevice(device);
        _record(device, DeviceStatus.Active);
    }

    /// @dev Revocation is made rarer than the other actions (1 in 4), so that campaigns keep live devices.
    function revokeDevice(uint256 devicePick) external {
        if (_devices.length == 0 || devicePick % 4 != 0) return;
        address device = _devices[(devicePick / 4) % _devices.length];
        DeviceStatus status = currentStatus(device);
        if (status == DeviceStatus.Revoked) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidStatus.selector, device, status));
            registry.revokeDevice(device);
            return;
        }
        registry.revokeDevice(device);
        _record(device, DeviceStatus.Revoked);
    }

    function rotateKey(uint256 devicePick, uint256 keyPick) external {
        if (_devices.length == 0) return;
        address device = _devices[devicePick % _devices.length];
        DeviceKey memory newKey = _keys[keyPick % _keys.length];
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signDigest(
            _keyOf(device),
            rotateDigestAt(address(registry), device, newKey, signedActions[device], deadline)
        );

        if (currentStatus(device) != DeviceStatus.Active) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryNotActive.selector,
                    device,
                    uint64(block.timestamp)
                )
            );
        } else if (currentStatus(newKey.id) != DeviceStatus.Unknown) {
            vm.expectRevert(
                abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, newKey.id)
            );
        } else {
            registry.rotateKey(device, newKey.scheme, newKey.publicKey, deadline, sig);
            ++signedActions[device];
            modelRotatedTo[device] = newKey.id;
            modelIssuerOf[newKey.id] = modelIssuerOf[device];
            _devices.push(newKey.id);
            _record(newKey.id, DeviceStatus.Active);
            _record(device, DeviceStatus.Rotated);
            return;
        }
        registry.rotateKey(device, newKey.scheme, newKey.publicKey, deadline, sig);
    }

    /// @dev Updates the metadata, then replays the same signed message, which must fail.
    function updateMetadata(uint256 devicePick, bytes32 metadataHash) external {
        if (_devices.length == 0) return;
        address device = _devices[devicePick % _devices.length];
        uint256 deadline = block.timestamp + 1 hours;
        bytes memory sig = signDigest(
            _keyOf(device),
            metadataDigestAt(address(registry), device, metadataHash, signedActions[device], deadline)
        );
        if (currentStatus(device) != DeviceStatus.Active) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryNotActive.selector,
                    device,
                    uint64(block.timestamp)
                )
            );
            registry.updateMetadata(device, metadataHash, deadline, sig);
            return;
        }
        registry.updateMetadata(device, metadataHash, deadline, sig);
        ++signedActions[device];

        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidSignature.selector, device));
        registry.updateMetadata(device, metadataHash, deadline, sig);
    }

    /// @dev Adds one of the issuers, or tries to add the zero address; adding an issuer twice (even once revoked)
    /// must fail.
    function addIssuer(uint256 issuerPick) external {
        uint256 pick = issuerPick % (ISSUER_COUNT + 1);
        address issuer = pick == ISSUER_COUNT ? address(0) : issuerAt(pick);
        if (issuer == address(0) || modelIssuerAddedAt[issuer] != 0) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidIssuer.selector, issuer));
            registry.addIssuer(issuer);
            return;
        }
        registry.addIssuer(issuer);
        modelIssuerAddedAt[issuer] = uint64(block.timestamp);
    }

    /// @dev Revokes one of the issuers or the never-added one. Rarer than the other actions (1 in 3 calls), so that
    /// campaigns keep issuers in force.
    function revokeIssuer(uint256 issuerPick) external {
        if (issuerPick % 3 != 0) return;
        address issuer = issuerAt((issuerPick / 3) % (ISSUER_COUNT + 1));
        if (modelIssuerAddedAt[issuer] == 0) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownIssuer.selector, issuer));
        } else if (modelIssuerRevokedAt[issuer] != 0) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryIssuerRevoked.selector,
                    issuer,
                    modelIssuerRevokedAt[issuer]
                )
            );
        } else {
            registry.revokeIssuer(issuer);
            modelIssuerRevokedAt[issuer] = uint64(block.timestamp);
            return;
        }
        registry.revokeIssuer(issuer);
    }

    /// @dev Relays an attestation of one of the keys by one of the issuers (or the unknown one) for one of the eSIMs,
    /// with a window that has passed, has not begun, or contains now (often exactly at an edge), made honestly or by
    /// one of the attacks of {Attempt}. A successful registration is replayed as is, which must fail.
    function registerWithAttestation(
        uint256 keyPick,
        uint256 issuerPick,
        uint256 esimPick,
        uint256 windowSeed,
        uint256 attemptPick
    ) external {
        uint256 keyIndex = keyPick % _keys.length;
        DeviceKey memory key = _keys[keyIndex];
        uint256 issuerIndex = issuerPick % (ISSUER_COUNT + 1);
        Attempt attempt = attemptPick % 8 < 4 ? Attempt.Honest : Attempt(attemptPick % 8 - 3);
        IDeviceRegistry.DeviceAttestation memory a = _attestation(key, issuerIndex, esimPick, windowSeed);

        // A known issuer signing in another's name: the key one further in the list.
        uint256 signerKey = _issuerKeys[attempt == Attempt.ForgedBySigner ? (issuerIndex + 1) % _issuerKeys.length : issuerIndex];
        bytes memory issuerSignature = signAttestationAt(address(registry), signerKey, a);
        bytes memory proof = _proof(key, keyIndex, a, attempt);

        bytes memory refusal = _expectedRefusal(key, a, attempt);
        if (refusal.length != 0) {
            vm.expectRevert(refusal);
            registry.registerWithAttestation(a, issuerSignature, proof);
            ++refusedAttempts;
            return;
        }

        vm.record();
        vm.recordLogs();
        registry.registerWithAttestation(a, issuerSignature, proof);
        _assertEsimIdOnlyAsHash(esimPick % ESIM_COUNT);

        _devices.push(key.id);
        _record(key.id, DeviceStatus.Active);
        modelIssuerOf[key.id] = a.issuer;
        esimDevice[a.esimHash] = key.id;
        _attested.push(key.id);
        _attestationOf[key.id] = AttestationRecord({
            issuer: a.issuer,
            esimHash: a.esimHash,
            validAfter: a.validAfter,
            validUntil: a.validUntil,
            registeredAt: uint64(block.timestamp)
        });

        // The same attestation and proof, replayed.
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryEsimAlreadyUsed.selector, a.esimHash));
        registry.registerWithAttestation(a, issuerSignature, proof);
    }

    // ---------------------------------------------------------------- model views

    function deviceCount() external view returns (uint256) {
        return _devices.length;
    }

    function deviceAt(uint256 index) external view returns (address) {
        return _devices[index];
    }

    function keyOf(address device) external view returns (KeyScheme scheme, bytes memory publicKey) {
        DeviceKey memory key = _keyOf(device);
        return (key.scheme, key.publicKey);
    }

    function changeCount(address device) external view returns (uint256) {
        return _changeTimes[device].length;
    }

    function changeAt(address device, uint256 index) external view returns (uint64 time, DeviceStatus status) {
        return (_changeTimes[device][index], _changeStatuses[device][index]);
    }

    /// @dev The current status: `Revoked` once the device's issuer is revoked, else the last status set.
    function currentStatus(address device) public view returns (DeviceStatus) {
        return modelStatusAt(device, uint64(block.timestamp));
    }

    /// @dev The status at `time`: `Revoked` from the revocation of the device's issuer on, else the last status set
    /// at or before `time` (Unknown before the registration).
    function modelStatusAt(address device, uint64 time) public view returns (DeviceStatus) {
        uint64[] storage times = _changeTimes[device];
        if (times.length == 0) return DeviceStatus.Unknown;
        uint64 issuerRevokedAt = issuerRevokedAtOf(device);
        if (issuerRevokedAt != 0 && time >= issuerRevokedAt) return DeviceStatus.Revoked;
        DeviceStatus status = DeviceStatus.Unknown;
        for (uint256 i = 0; i < times.length && times[i] <= time; ++i) status = _changeStatuses[device][i];
        return status;
    }

    /// @dev The revocation time of the device's issuer, or zero.
    function issuerRevokedAtOf(address device) public view returns (uint64) {
        address issuer = modelIssuerOf[device];
        return issuer == address(0) ? 0 : modelIssuerRevokedAt[issuer];
    }

    function wasEverRevoked(address device) external view returns (bool) {
        if (issuerRevokedAtOf(device) != 0) return true;
        DeviceStatus[] storage statuses = _changeStatuses[device];
        for (uint256 i = 0; i < statuses.length; ++i) if (statuses[i] == DeviceStatus.Revoked) return true;
        return false;
    }

    /// @dev Issuer `index`; the last index is the issuer that is never added.
    function issuerAt(uint256 index) public view returns (address) {
        return vm.addr(_issuerKeys[index]);
    }

    function issuerSlots() external pure returns (uint256) {
        return ISSUER_COUNT + 1;
    }

    function attestedCount() external view returns (uint256) {
        return _attested.length;
    }

    function attestedAt(uint256 index) external view returns (address device, AttestationRecord memory record) {
        device = _attested[index];
        record = _attestationOf[device];
    }

    function esimCount() external pure returns (uint256) {
        return ESIM_COUNT;
    }

    /// @dev eSIM id `index`: an ICCID-like string of 19 digits.
    function esimIdAt(uint256 index) public pure returns (bytes memory) {
        return abi.encodePacked("89440000000000000", bytes1(uint8(0x30 + index / 10)), bytes1(uint8(0x30 + (index % 10))));
    }

    // ---------------------------------------------------------------- internals

    function _addKey(DeviceKey memory key) internal {
        _keys.push(key);
        _keyIndex[key.id] = _keys.length;
    }

    function _keyOf(address device) internal view returns (DeviceKey memory) {
        return _keys[_keyIndex[device] - 1];
    }

    function _attestation(
        DeviceKey memory key,
        uint256 issuerIndex,
        uint256 esimPick,
        uint256 windowSeed
    ) internal view returns (IDeviceRegistry.DeviceAttestation memory a) {
        (uint64 validAfter, uint64 validUntil) = _window(windowSeed);
        a = IDeviceRegistry.DeviceAttestation({
            issuer: issuerAt(issuerIndex),
            scheme: key.scheme,
            publicKey: key.publicKey,
            esimHash: esimHashOf(esimIdAt(esimPick % ESIM_COUNT)),
            beneficiary: beneficiary,
            metadataHash: keccak256(abi.encode("metadata", key.id)),
            validAfter: validAfter,
            validUntil: validUntil
        });
    }

    /// @dev A validity window around now: 1 in 4 passed, 1 in 4 not begun, otherwise containing now, each edge at
    /// now in 1 case of 3.
    function _window(uint256 seed) internal view returns (uint64 validAfter, uint64 validUntil) {
        uint64 nowTs = uint64(block.timestamp);
        uint64 early = uint64((seed >> 8) % 1 days);
        uint64 late = uint64((seed >> 72) % 1 days);
        if (seed % 4 == 0) return (nowTs - early - 1 hours, nowTs - 1 - (late % 1 hours)); // passed
        if (seed % 4 == 1) return (nowTs + 1 + (early % 1 hours), nowTs + 1 hours + late); // not begun
        validAfter = (seed >> 136) % 3 == 0 ? nowTs : nowTs - early;
        validUntil = (seed >> 144) % 3 == 0 ? nowTs : nowTs + late;
    }

    function _proof(
        DeviceKey memory key,
        uint256 keyIndex,
        IDeviceRegistry.DeviceAttestation memory a,
        Attempt attempt
    ) internal view returns (bytes memory) {
        if (attempt == Attempt.ProofByOtherKey) return proveAt(address(registry), _keys[(keyIndex + 1 + (a.validUntil % 7)) % _keys.length], a);
        if (attempt == Attempt.MalleatedProof) return highS(key, proveAt(address(registry), key, a));
        if (attempt == Attempt.ProofForOtherAttestation) {
            // A copy (memory structs alias): the attestation relayed stays the one the issuer signed.
            IDeviceRegistry.DeviceAttestation memory other = abi.decode(
                abi.encode(a),
                (IDeviceRegistry.DeviceAttestation)
            );
            other.esimHash = keccak256(abi.encode(a.esimHash));
            return proveAt(address(registry), key, other);
        }
        return proveAt(address(registry), key, a);
    }

    /// @dev The error the registry must answer an attempt with, in the order of its checks; empty if it must succeed.
    function _expectedRefusal(
        DeviceKey memory key,
        IDeviceRegistry.DeviceAttestation memory a,
        Attempt attempt
    ) internal view returns (bytes memory) {
        if (modelIssuerAddedAt[a.issuer] == 0) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownIssuer.selector, a.issuer);
        }
        if (modelIssuerRevokedAt[a.issuer] != 0) {
            return
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryIssuerRevoked.selector,
                    a.issuer,
                    modelIssuerRevokedAt[a.issuer]
                );
        }
        if (block.timestamp < a.validAfter || block.timestamp > a.validUntil) {
            return
                abi.encodeWithSelector(
                    IDeviceRegistry.DeviceRegistryAttestationNotValid.selector,
                    a.validAfter,
                    a.validUntil
                );
        }
        if (attempt == Attempt.ForgedBySigner) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidAttestationSignature.selector, a.issuer);
        }
        if (esimDevice[a.esimHash] != address(0)) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryEsimAlreadyUsed.selector, a.esimHash);
        }
        if (_changeTimes[key.id].length != 0) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryAlreadyRegistered.selector, key.id);
        }
        if (attempt != Attempt.Honest) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidProofOfPossession.selector, key.id);
        }
        return "";
    }

    /// @dev After a registration recorded with vm.record and vm.recordLogs: no storage word it wrote and no log it
    /// emitted holds eSIM id `index` in clear, while the DeviceAttested log carries its hash.
    function _assertEsimIdOnlyAsHash(uint256 index) internal {
        bytes memory id = esimIdAt(index);
        bytes32 idWord = bytes32(id);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        for (uint256 i = 0; i < writes.length; ++i) {
            vm.assertNotEq(vm.load(address(registry), writes[i]), idWord, "eSIM id stored in clear");
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool hashEmitted;
        for (uint256 i = 0; i < logs.length; ++i) {
            vm.assertFalse(_contains(logs[i].data, id), "eSIM id logged in clear");
            for (uint256 t = 0; t < logs[i].topics.length; ++t) {
                vm.assertNotEq(logs[i].topics[t], idWord, "eSIM id logged in clear");
            }
            if (logs[i].topics[0] == IDeviceRegistry.DeviceAttested.selector) {
                hashEmitted = abi.decode(logs[i].data, (bytes32)) == esimHashOf(id);
            }
        }
        vm.assertTrue(hashEmitted, "DeviceAttested carries the eSIM hash");
    }

    function _contains(bytes memory haystack, bytes memory needle) internal pure returns (bool) {
        if (needle.length > haystack.length) return false;
        for (uint256 i = 0; i + needle.length <= haystack.length; ++i) {
            uint256 j = 0;
            while (j < needle.length && haystack[i + j] == needle[j]) ++j;
            if (j == needle.length) return true;
        }
        return false;
    }

    function _record(address device, DeviceStatus status) internal {
        uint64 t = uint64(block.timestamp);
        uint256 n = _changeTimes[device].length;
        if (n != 0 && _changeTimes[device][n - 1] == t) {
            _changeStatuses[device][n - 1] = status;
        } else {
            _changeTimes[device].push(t);
            _changeStatuses[device].push(status);
        }
    }
}

/// @dev Invariant campaigns over a DeviceRegistry driven by DeviceRegistryHandler. See PROPERTIES.md.
contract DeviceRegistryInvariants is Test, AuditKeys {
    DeviceRegistry internal registry;
    DeviceRegistryHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        registry = new DeviceRegistry(address(this));
        handler = new DeviceRegistryHandler(registry, makeAddr("beneficiary"));
        registry.grantRole(registry.REGISTRAR_ROLE(), address(handler));
        registry.grantRole(registry.DEFAULT_ADMIN_ROLE(), address(handler));
        handler.addIssuer(0); // one issuer in force from the start, so attestations succeed early in a run

        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = DeviceRegistryHandler.warp.selector;
        selectors[1] = DeviceRegistryHandler.registerDevice.selector;
        selectors[2] = DeviceRegistryHandler.suspendDevice.selector;
        selectors[3] = DeviceRegistryHandler.resumeDevice.selector;
        selectors[4] = DeviceRegistryHandler.revokeDevice.selector;
        selectors[5] = DeviceRegistryHandler.rotateKey.selector;
        selectors[6] = DeviceRegistryHandler.updateMetadata.selector;
        selectors[7] = DeviceRegistryHandler.addIssuer.selector;
        selectors[8] = DeviceRegistryHandler.revokeIssuer.selector;
        selectors[9] = DeviceRegistryHandler.registerWithAttestation.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @custom:invariant A revoked device stays revoked: no action brings it back (nor any registrar action a device
    /// of a revoked issuer).
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_revocationIsFinal() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            if (!handler.wasEverRevoked(device)) continue;
            assertEq(uint256(registry.statusOf(device)), uint256(DeviceStatus.Revoked), "statusOf");
            assertEq(
                uint256(registry.statusAt(device, uint64(block.timestamp))),
                uint256(DeviceStatus.Revoked),
                "statusAt(now)"
            );
            assertFalse(registry.isActiveAt(device, type(uint64).max), "never active again");
        }
    }

    /// @custom:invariant statusAt(device, t) is, for every past t, Revoked from the revocation of the device's issuer
    /// on and otherwise the status set last at or before t (Unknown before the registration), and statusAt(device,
    /// now) is statusOf(device): the history is never rewritten.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_statusHistoryIsExact() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            uint256 changes = handler.changeCount(device);
            for (uint256 c = 0; c < changes; ++c) {
                (uint64 time, ) = handler.changeAt(device, c);
                _assertStatusAt(device, time - 1, "status just before a change");
                _assertStatusAt(device, time, "status from a change");
            }
            uint64 issuerRevokedAt = handler.issuerRevokedAtOf(device);
            if (issuerRevokedAt != 0) {
                _assertStatusAt(device, issuerRevokedAt - 1, "status just before the issuer's revocation");
                _assertStatusAt(device, issuerRevokedAt, "status from the issuer's revocation");
            }
            DeviceStatus current = handler.currentStatus(device);
            assertEq(uint256(registry.statusOf(device)), uint256(current), "statusOf");
            assertEq(uint256(registry.statusAt(device, uint64(block.timestamp))), uint256(current), "statusAt(now)");
        }
    }

    /// @custom:invariant Rotation links are symmetric: if A.rotatedTo is B then B.rotatedFrom is A, A is Rotated or
    /// Revoked, and B has A's beneficiary.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_rotationLinksAreSymmetric() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            IDeviceRegistry.Device memory d = registry.getDevice(device);
            assertEq(d.rotatedTo, handler.modelRotatedTo(device), "rotatedTo follows the rotations made");
            if (d.rotatedTo != address(0)) {
                IDeviceRegistry.Device memory next = registry.getDevice(d.rotatedTo);
                assertEq(next.rotatedFrom, device, "back link");
                assertEq(next.beneficiary, d.beneficiary, "beneficiary carried over");
                assertTrue(
                    d.status == DeviceStatus.Rotated || d.status == DeviceStatus.Revoked,
                    "a replaced key is Rotated or Revoked"
                );
            }
            if (d.rotatedFrom != address(0)) {
                assertEq(registry.getDevice(d.rotatedFrom).rotatedTo, device, "forward link");
            }
        }
    }

    /// @custom:invariant Every registered device id is the last 20 bytes of keccak256 of its stored key, and the key
    /// and scheme are the ones it was registered with.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_deviceIdIsKeyHash() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            IDeviceRegistry.Device memory d = registry.getDevice(device);
            (KeyScheme scheme, bytes memory publicKey) = handler.keyOf(device);
            assertEq(address(uint160(uint256(keccak256(abi.encodePacked(d.keyX, d.keyY))))), device, "id");
            assertEq(abi.encodePacked(d.keyX, d.keyY), publicKey, "key");
            assertEq(uint256(d.scheme), uint256(scheme), "scheme");
        }
    }

    /// @custom:invariant A device's nonce equals the number of its signed messages that took effect, so every signed
    /// message works at most once.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_nonceCountsSignedActions() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            assertEq(registry.nonces(device), handler.signedActions(device), "nonce");
        }
    }

    /// @custom:invariant Every device registered by attestation has the attestation's issuer, which was added at or
    /// before the registration and not revoked before it, and was registered within the attestation's window; every
    /// device's issuer is the one it was attested by, carried over by rotations (zero for the registrar's devices).
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_attestedDevicesHadIssuerInForceAndValidAttestation() public view {
        for (uint256 i = 0; i < handler.attestedCount(); ++i) {
            (address device, DeviceRegistryHandler.AttestationRecord memory record) = handler.attestedAt(i);
            uint64 registeredAt = registry.getDevice(device).registeredAt;
            assertEq(registeredAt, record.registeredAt, "registration time");
            IDeviceRegistry.Issuer memory issuer = registry.getIssuer(record.issuer);
            assertTrue(issuer.addedAt != 0 && issuer.addedAt <= registeredAt, "issuer added by the registration");
            assertTrue(issuer.revokedAt == 0 || issuer.revokedAt >= registeredAt, "issuer not revoked before it");
            assertTrue(record.validAfter <= registeredAt && registeredAt <= record.validUntil, "within the window");
        }
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            assertEq(registry.issuerOf(device), handler.modelIssuerOf(device), "issuerOf");
        }
    }

    /// @custom:invariant A device of a revoked issuer is Revoked, and not active, at every time from the issuer's
    /// revocation on (statusOf, statusAt, isActiveAt), while its history before the revocation is kept.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_issuerRevocationRevokesItsDevices() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            uint64 revokedAt = handler.issuerRevokedAtOf(device);
            if (revokedAt == 0) continue;
            assertEq(uint256(registry.statusOf(device)), uint256(DeviceStatus.Revoked), "statusOf");
            assertEq(uint256(registry.getDevice(device).status), uint256(DeviceStatus.Revoked), "getDevice");
            assertEq(uint256(registry.statusAt(device, revokedAt)), uint256(DeviceStatus.Revoked), "statusAt");
            assertFalse(registry.isActiveAt(device, revokedAt), "inactive from the revocation");
            assertFalse(registry.isActiveAt(device, uint64(block.timestamp)), "inactive now");
            assertFalse(registry.isActiveAt(device, type(uint64).max), "inactive for ever");
            _assertStatusAt(device, revokedAt - 1, "history before the revocation kept");
        }
    }

    /// @custom:invariant Issuer records are exactly the ones the admin made: added once, and once revoked, revoked for
    /// good at the first revocation's time; an issuer never added stays unknown.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_issuerRecordsAreFinal() public view {
        for (uint256 i = 0; i < handler.issuerSlots(); ++i) {
            address issuer = handler.issuerAt(i);
            IDeviceRegistry.Issuer memory record = registry.getIssuer(issuer);
            assertEq(record.addedAt, handler.modelIssuerAddedAt(issuer), "addedAt");
            assertEq(record.revokedAt, handler.modelIssuerRevokedAt(issuer), "revokedAt");
        }
        assertEq(registry.getIssuer(handler.issuerAt(handler.issuerSlots() - 1)).addedAt, 0, "never added");
    }

    /// @custom:invariant An attestation and its proof of possession register at most one device, once: an eSIM hash
    /// is used exactly when one attested device was registered with it, and each attested device has its own.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_eachAttestationUsedOnce() public view {
        uint256 used;
        for (uint256 i = 0; i < handler.esimCount(); ++i) {
            bytes32 esimHash = esimHashOf(handler.esimIdAt(i));
            bool isUsed = handler.esimDevice(esimHash) != address(0);
            assertEq(registry.isEsimUsed(esimHash), isUsed, "isEsimUsed");
            if (isUsed) ++used;
        }
        assertEq(used, handler.attestedCount(), "one eSIM per attested device");
        for (uint256 i = 0; i < handler.attestedCount(); ++i) {
            (address device, DeviceRegistryHandler.AttestationRecord memory record) = handler.attestedAt(i);
            assertEq(handler.esimDevice(record.esimHash), device, "the eSIM's device");
        }
    }

    /// @custom:invariant An eSIM id reaches the chain only as its hash: the registry knows used ids by hash and not
    /// in clear (and the handler checks that no registration stores or logs the id in clear).
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_esimIdOnlyAsHash() public view {
        for (uint256 i = 0; i < handler.esimCount(); ++i) {
            bytes memory id = handler.esimIdAt(i);
            assertFalse(registry.isEsimUsed(bytes32(id)), "id in clear not a key");
            assertEq(
                registry.isEsimUsed(esimHashOf(id)),
                handler.esimDevice(esimHashOf(id)) != address(0),
                "id known by hash"
            );
        }
    }

    function _assertStatusAt(address device, uint64 time, string memory what) internal view {
        assertEq(uint256(registry.statusAt(device, time)), uint256(handler.modelStatusAt(device, time)), what);
    }
}
