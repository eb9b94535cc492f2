// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";

import {DeviceStatus, IDeviceRegistry, KeyScheme} from "../interfaces/IDeviceRegistry.sol";
import {DeviceSignature} from "./DeviceSignature.sol";

/// @title DeviceRegistry
/// @notice The SensorSeal device registry: device keys of both schemes, their beneficiaries and metadata, and the
/// history of their statuses, so that a reading can be judged by the status in force when it was made.
/// @dev Trust assumptions:
/// - The registrar (REGISTRAR_ROLE) is trusted to register only genuine devices and to suspend or revoke them; it
///   cannot act for a device: key rotations and metadata updates are signed by the device key.
/// - The admin (DEFAULT_ADMIN_ROLE) is trusted to grant and revoke the roles.
/// - A compromise time ({revokeDeviceCompromised}) overrides the history from that time on: the registrar is
///   trusted to declare it no earlier than the key was actually at risk, since it invalidates honest readings too.
/// - Statuses are checkpointed by `block.timestamp`; the chain's validators are trusted for the clock. Several
///   changes in the same second keep the last one for that second.
/// - A rotation does not prove possession of the new key: a device can only hurt itself (and whoever owns the new
///   key's id, which it then blocks), since the new device keeps its beneficiary and metadata.
/// - Issuers (added and revoked by the admin) are trusted to attest only keys generated in the tokens of eSIMs they
///   issued; {registerWithAttestation} needs no registrar. Revoking an issuer revokes its devices from that time on,
///   through {statusOf} and {statusAt}, without touching each device.
/// - Device-signed messages are replay-protected by a per-device nonce ({Nonces}) and a deadline; a message signed
///   over a used nonce no longer matches and fails as an invalid signature, as ERC-2612 permits do.
contract DeviceRegistry is IDeviceRegistry, AccessControl, EIP712, Nonces {
    using Checkpoints for Checkpoints.Trace208;

    /// @inheritdoc IDeviceRegistry
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    bytes32 private constant ROTATE_KEY_TYPEHASH =
        keccak256("RotateKey(address device,uint8 newScheme,bytes newPublicKey,uint256 nonce,uint256 deadline)");

    bytes32 private constant UPDATE_METADATA_TYPEHASH =
        keccak256("UpdateMetadata(address device,bytes32 metadataHash,uint256 nonce,uint256 deadline)");

    mapping(address device => Device) private _devices;
    mapping(address device => Checkpoints.Trace208) private _statusHistory;
    mapping(address device => uint64 since) private _compromisedSince;

    bytes32 private constant ATTESTATION_TYPEHASH =
        keccak256(
            "DeviceAttestation(address issuer,uint8 scheme,bytes publicKey,bytes32 esimHash,address beneficiary,bytes32 metadataHash,uint64 validAfter,uint64 validUntil)"
        );

    bytes32 private constant PROOF_OF_POSSESSION_TYPEHASH = keccak256("ProofOfPossession(bytes32 attestationHash)");

    mapping(address issuer => Issuer) private _issuers;
    mapping(address device => address issuer) private _issuerOf;
    mapping(bytes32 esimHash => bool) private _esimUsed;

    /// @param admin The account granted DEFAULT_ADMIN_ROLE, which grants REGISTRAR_ROLE.
    constructor(address admin) EIP712("SensorSeal Registry", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IDeviceRegistry
    function registerDevice(
        KeyScheme scheme,
        bytes calldata publicKey,
        address beneficiary,
        bytes32 metadataHash
    ) external onlyRole(REGISTRAR_ROLE) returns (address device) {
        return _register(scheme, publicKey, beneficiary, metadataHash, address(0));
    }

    /// @inheritdoc IDeviceRegistry
    function addIssuer(address issuer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (issuer == address(0) || _issuers[issuer].addedAt != 0) revert DeviceRegistryInvalidIssuer(issuer);
        _issuers[issuer].addedAt = Time.timestamp();
        emit IssuerAdded(issuer);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeIssuer(address issuer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Issuer storage record = _issuers[issuer];
        if (record.addedAt == 0) revert DeviceRegistryUnknownIssuer(issuer);
        if (record.revokedAt != 0) revert DeviceRegistryIssuerRevoked(issuer, record.revokedAt);
        record.revokedAt = Time.timestamp();
        emit IssuerRevoked(issuer, record.revokedAt);
    }

    /// @inheritdoc IDeviceRegistry
    function getIssuer(address issuer) external view returns (Issuer memory) {
        return _issuers[issuer];
    }

    /// @inheritdoc IDeviceRegistry
    function issuerOf(address device) external view returns (address) {
        return _issuerOf[device];
    }

    /// @inheritdoc IDeviceRegistry
    function isEsimUsed(bytes32 esimHash) external view returns (bool) {
        return _esimUsed[esimHash];
    }

    /// @inheritdoc IDeviceRegistry
    function attestationDigest(DeviceAttestation calldata attestation) public view returns (bytes32) {
        return _hashTypedDataV4(_attestationHash(attestation));
    }

    /// @inheritdoc IDeviceRegistry
    function proofOfPossessionDigest(DeviceAttestation calldata attestation) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PROOF_OF_POSSESSION_TYPEHASH, _attestationHash(attestation))));
    }

    /// @inheritdoc IDeviceRegistry
    /// @dev The eSIM hash is marked used and the key registered in the same call, so a replayed attestation or proof
    /// fails as {DeviceRegistryEsimAlreadyUsed}.
    function registerWithAttestation(
        DeviceAttestation calldata attestation,
        bytes calldata issuerSignature,
        bytes calldata proofOfPossession
    ) external returns (address device) {
        address issuer = attestation.issuer;
        Issuer storage record = _issuers[issuer];
        if (record.addedAt == 0) revert DeviceRegistryUnknownIssuer(issuer);
        if (record.revokedAt != 0) revert DeviceRegistryIssuerRevoked(issuer, record.revokedAt);
        if (block.timestamp < attestation.validAfter || block.timestamp > attestation.validUntil) {
            revert DeviceRegistryAttestationNotValid(attestation.validAfter, attestation.validUntil);
        }
        if (!SignatureChecker.isValidSignatureNow(issuer, attestationDigest(attestation), issuerSignature)) {
            revert DeviceRegistryInvalidAttestationSignature(issuer);
        }
        if (_esimUsed[attestation.esimHash]) revert DeviceRegistryEsimAlreadyUsed(attestation.esimHash);
        _esimUsed[attestation.esimHash] = true;

        device = _register(
            attestation.scheme,
            attestation.publicKey,
            attestation.beneficiary,
            attestation.metadataHash,
            address(0)
        );
        Device storage d = _devices[device];
        bool possessed = DeviceSignature.verify(
            attestation.scheme,
            device,
            d.keyX,
            d.keyY,
            proofOfPossessionDigest(attestation),
            proofOfPossession
        );
        if (!possessed) revert DeviceRegistryInvalidProofOfPossession(device);
        _issuerOf[device] = issuer;
        emit DeviceAttested(device, issuer, attestation.esimHash);
    }

    /// @inheritdoc IDeviceRegistry
    function suspendDevice(address device) external onlyRole(REGISTRAR_ROLE) {
        DeviceStatus status = _statusOfKnown(device);
        if (status != DeviceStatus.Active) revert DeviceRegistryInvalidStatus(device, status);
        _setStatus(device, DeviceStatus.Suspended);
        emit DeviceSuspended(device);
    }

    /// @inheritdoc IDeviceRegistry
    function resumeDevice(address device) external onlyRole(REGISTRAR_ROLE) {
        DeviceStatus status = _statusOfKnown(device);
        if (status != DeviceStatus.Suspended) revert DeviceRegistryInvalidStatus(device, status);
        _setStatus(device, DeviceStatus.Active);
        emit DeviceResumed(device);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeDevice(address device) external onlyRole(REGISTRAR_ROLE) {
        DeviceStatus status = _statusOfKnown(device);
        if (status == DeviceStatus.Revoked) revert DeviceRegistryInvalidStatus(device, status);
        _setStatus(device, DeviceStatus.Revoked);
        emit DeviceRevoked(device);
    }

    /// @inheritdoc IDeviceRegistry
    function revokeDeviceCompromised(address device, uint64 since) external onlyRole(REGISTRAR_ROLE) {
        DeviceStatus status = _statusOfKnown(device);
        uint64 nowTs = uint64(block.timestamp);
        if (since > nowTs) revert DeviceRegistryInvalidCompromiseTime(device, since, nowTs);
        uint64 registeredAt = _devices[device].registeredAt;
        uint64 effective = since < registeredAt ? registeredAt : since;
        uint64 previous = _compromisedSince[device];
        if (previous != 0 && effective >= previous) revert DeviceRegistryInvalidCompromiseTime(device, since, previous);
        _compromisedSince[device] = effective;
        emit DeviceCompromised(device, effective);
        if (status != DeviceStatus.Revoked) {
            _setStatus(device, DeviceStatus.Revoked);
            emit DeviceRevoked(device);
        }
    }

    /// @inheritdoc IDeviceRegistry
    function compromisedSince(address device) external view returns (uint64) {
        return _compromisedSince[device];
    }

    /// @inheritdoc IDeviceRegistry
    /// @dev The nonce is consumed before the signature is checked; a failed check reverts and so consumes nothing.
    function rotateKey(
        address device,
        KeyScheme newScheme,
        bytes calldata newPublicKey,
        uint256 deadline,
        bytes calldata signature
    ) external returns (address newDevice) {
        Device storage old = _devices[device];
        _checkDeviceAction(device, deadline);
        bytes32 structHash = keccak256(
            abi.encode(
                ROTATE_KEY_TYPEHASH,
                device,
                uint8(newScheme),
                keccak256(newPublicKey),
                _useNonce(device),
                deadline
            )
        );
        _checkDeviceSignature(device, _hashTypedDataV4(structHash), signature);

        newDevice = _register(newScheme, newPublicKey, old.beneficiary, old.metadataHash, device);
        _issuerOf[newDevice] = _issuerOf[device];
        old.rotatedTo = newDevice;
        _setStatus(device, DeviceStatus.Rotated);
        emit DeviceKeyRotated(device, newDevice, newScheme);
    }

    /// @inheritdoc IDeviceRegistry
    function updateMetadata(address device, bytes32 metadataHash, uint256 deadline, bytes calldata signature) external {
        _checkDeviceAction(device, deadline);
        bytes32 structHash = keccak256(
            abi.encode(UPDATE_METADATA_TYPEHASH, device, metadataHash, _useNonce(device), deadline)
        );
        _checkDeviceSignature(device, _hashTypedDataV4(structHash), signature);

        _devices[device].metadataHash = metadataHash;
        emit DeviceMetadataUpdated(device, metadataHash);
    }

    /// @inheritdoc IDeviceRegistry
    /// @dev `status` is {statusOf}: `Revoked` once the device's issuer is revoked.
    function getDevice(address device) external view returns (Device memory d) {
        d = _devices[device];
        d.status = statusOf(device);
    }

    /// @inheritdoc IDeviceRegistry
    function statusOf(address device) public view returns (DeviceStatus) {
        DeviceStatus status = _devices[device].status;
        if (status != DeviceStatus.Unknown && _issuerRevokedAt(device) != 0) return DeviceStatus.Revoked;
        return status;
    }

    /// @inheritdoc IDeviceRegistry
    function statusAt(address device, uint64 timestamp) public view returns (DeviceStatus) {
        uint64 since = _compromisedSince[device];
        if (since != 0 && timestamp >= since) return DeviceStatus.Revoked;
        uint64 issuerRevokedAt = _issuerRevokedAt(device);
        if (issuerRevokedAt != 0 && timestamp >= issuerRevokedAt && _devices[device].status != DeviceStatus.Unknown) {
            return DeviceStatus.Revoked;
        }
        uint48 key = timestamp > type(uint48).max ? type(uint48).max : uint48(timestamp);
        return DeviceStatus(uint8(_statusHistory[device].upperLookupRecent(key)));
    }

    /// @inheritdoc IDeviceRegistry
    function isActiveAt(address device, uint64 timestamp) external view returns (bool) {
        return statusAt(device, timestamp) == DeviceStatus.Active;
    }

    /// @inheritdoc IDeviceRegistry
    function isValidDeviceSignature(
        address device,
        bytes32 digest,
        bytes calldata signature
    ) public view returns (bool) {
        Device storage d = _devices[device];
        if (d.status == DeviceStatus.Unknown) return false;
        return DeviceSignature.verify(d.scheme, device, d.keyX, d.keyY, digest, signature);
    }

    /// @inheritdoc IDeviceRegistry
    function nonces(address device) public view override(IDeviceRegistry, Nonces) returns (uint256) {
        return super.nonces(device);
    }

    /// @inheritdoc AccessControl
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IDeviceRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    /// @dev The struct hash of an attestation.
    function _attestationHash(DeviceAttestation calldata a) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    ATTESTATION_TYPEHASH,
                    a.issuer,
                    uint8(a.scheme),
                    keccak256(a.publicKey),
                    a.esimHash,
                    a.beneficiary,
                    a.metadataHash,
                    a.validAfter,
                    a.validUntil
                )
            );
    }

    /// @dev The revocation time of the issuer of `device`, or zero.
    function _issuerRevokedAt(address device) private view returns (uint64) {
        address issuer = _issuerOf[device];
        return issuer == address(0) ? 0 : _issuers[issuer].revokedAt;
    }

    /// @dev Registers `publicKey` as a new active device, linked to `rotatedFrom` (zero for a fresh registration).
    function _register(
        KeyScheme scheme,
        bytes calldata publicKey,
        address beneficiary,
        bytes32 metadataHash,
        address rotatedFrom
    ) private returns (address device) {
        if (publicKey.length != 64) revert DeviceRegistryInvalidPublicKey(scheme);
        bytes32 keyX = bytes32(publicKey[0:32]);
        bytes32 keyY = bytes32(publicKey[32:64]);
        if (!DeviceSignature.isValidPublicKey(scheme, keyX, keyY)) revert DeviceRegistryInvalidPublicKey(scheme);
        if (beneficiary == address(0)) revert DeviceRegistryZeroBeneficiary();
        device = address(uint160(uint256(keccak256(publicKey))));
        if (_devices[device].status != DeviceStatus.Unknown) revert DeviceRegistryAlreadyRegistered(device);

        _devices[device] = Device({
            scheme: scheme,
            status: DeviceStatus.Active,
            registeredAt: Time.timestamp(),
            beneficiary: beneficiary,
            metadataHash: metadataHash,
            keyX: keyX,
            keyY: keyY,
            rotatedFrom: rotatedFrom,
            rotatedTo: address(0)
        });
        _statusHistory[device].push(Time.timestamp(), uint208(uint8(DeviceStatus.Active)));
        emit DeviceRegistered(device, scheme, beneficiary, metadataHash, publicKey);
    }

    /// @dev Sets the current status of a known device and checkpoints it at the block timestamp.
    function _setStatus(address device, DeviceStatus status) private {
        _devices[device].status = status;
        _statusHistory[device].push(Time.timestamp(), uint208(uint8(status)));
    }

    /// @dev Returns the current status of `device` ({statusOf}: `Revoked` once its issuer is revoked), reverting if it
    /// was never registered. The registrar's status changes read it, so none undoes an issuer's revocation.
    function _statusOfKnown(address device) private view returns (DeviceStatus status) {
        status = statusOf(device);
        if (status == DeviceStatus.Unknown) revert DeviceRegistryUnknownDevice(device);
    }

    /// @dev Checks that a device-signed message is within its deadline and that its device is active now.
    function _checkDeviceAction(address device, uint256 deadline) private view {
        if (block.timestamp > deadline) revert DeviceRegistryExpiredSignature(deadline);
        if (_statusOfKnown(device) != DeviceStatus.Active) {
            revert DeviceRegistryNotActive(device, uint64(block.timestamp));
        }
    }

    /// @dev Reverts unless `signature` over `digest` was made by the key of `device`.
    function _checkDeviceSignature(address device, bytes32 digest, bytes calldata signature) private view {
        if (!isValidDeviceSignature(device, digest, signature)) revert DeviceRegistryInvalidSignature(device);
    }
}
