// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Test} from "../../test/Test.t.sol";
import {DeviceStatus, IDeviceRegistry, KeyScheme} from "../../interfaces/IDeviceRegistry.sol";
import {DeviceRegistry} from "../DeviceRegistry.sol";
import {AuditKeys, DeviceKey} from "../AuditFixture.t.sol";

// The handler lives in the same file as its invariant suite: Hardhat emits artifacts only for the test files it
// builds as roots, and the invariant runner needs the handler's artifact to call it.

/// @dev Drives a DeviceRegistry as its registrar and as its devices (8 keys, both schemes), keeping a model of every
/// device's status history. Each action predicts its outcome from the model: an allowed action must succeed (the
/// invariant runs fail on any revert) and a forbidden one must revert with the exact error.
contract DeviceRegistryHandler is AuditKeys {
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

    constructor(DeviceRegistry registry_, address beneficiary_) {
        registry = registry_;
        beneficiary = beneficiary_;
        for (uint256 i = 0; i < 4; ++i) _addKey(secpKey(0x5EC0 + i));
        for (uint256 i = 0; i < 4; ++i) _addKey(p256Key(0x9256 + i));
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

    function currentStatus(address device) public view returns (DeviceStatus) {
        uint256 n = _changeStatuses[device].length;
        return n == 0 ? DeviceStatus.Unknown : _changeStatuses[device][n - 1];
    }

    function wasEverRevoked(address device) external view returns (bool) {
        DeviceStatus[] storage statuses = _changeStatuses[device];
        for (uint256 i = 0; i < statuses.length; ++i) if (statuses[i] == DeviceStatus.Revoked) return true;
        return false;
    }

    // ---------------------------------------------------------------- internals

    function _addKey(DeviceKey memory key) internal {
        _keys.push(key);
        _keyIndex[key.id] = _keys.length;
    }

    function _keyOf(address device) internal view returns (DeviceKey memory) {
        return _keys[_keyIndex[device] - 1];
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
contract DeviceRegistryInvariants is Test {
    DeviceRegistry internal registry;
    DeviceRegistryHandler internal handler;

    function setUp() public {
        vm.warp(1_750_000_000);
        registry = new DeviceRegistry(address(this));
        handler = new DeviceRegistryHandler(registry, makeAddr("beneficiary"));
        registry.grantRole(registry.REGISTRAR_ROLE(), address(handler));

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = DeviceRegistryHandler.warp.selector;
        selectors[1] = DeviceRegistryHandler.registerDevice.selector;
        selectors[2] = DeviceRegistryHandler.suspendDevice.selector;
        selectors[3] = DeviceRegistryHandler.resumeDevice.selector;
        selectors[4] = DeviceRegistryHandler.revokeDevice.selector;
        selectors[5] = DeviceRegistryHandler.rotateKey.selector;
        selectors[6] = DeviceRegistryHandler.updateMetadata.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @custom:invariant A revoked device stays revoked: no action brings it back.
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

    /// @custom:invariant statusAt(device, t) is, for every past t, the status set last at or before t (Unknown before
    /// the registration), and statusAt(device, now) is statusOf(device): the history is never rewritten.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 40
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_statusHistoryIsExact() public view {
        for (uint256 i = 0; i < handler.deviceCount(); ++i) {
            address device = handler.deviceAt(i);
            DeviceStatus previous = DeviceStatus.Unknown;
            uint256 changes = handler.changeCount(device);
            for (uint256 c = 0; c < changes; ++c) {
                (uint64 time, DeviceStatus status) = handler.changeAt(device, c);
                assertEq(uint256(registry.statusAt(device, time - 1)), uint256(previous), "status just before");
                assertEq(uint256(registry.statusAt(device, time)), uint256(status), "status from the change");
                previous = status;
            }
            assertEq(uint256(registry.statusOf(device)), uint256(previous), "statusOf is the last change");
            assertEq(
                uint256(registry.statusAt(device, uint64(block.timestamp))),
                uint256(previous),
                "statusAt(now) is statusOf"
            );
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
}
