// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The signature scheme of a device key. The public key is 64 bytes `x ‖ y` for both schemes.
enum KeyScheme {
    Secp256k1,
    P256
}

/// @notice The lifecycle of a device. Only `Active` devices may sign readings, rotate keys or update metadata.
/// @dev `Revoked` is final. `Rotated` marks a key replaced by its device through {IDeviceRegistry-rotateKey}. A
/// reading is judged by the status at its own time, and anchored at most `maxAnchorDelay` after it (see
/// {IReadingAnchor}), so a rotated or suspended key stays usable for readings dated before the change only until
/// that delay has passed.
enum DeviceStatus {
    Unknown,
    Active,
    Suspended,
    Revoked,
    Rotated
}

/// @title IDeviceRegistry
/// @notice Registry of the sensor devices of the SensorSeal audit chain: their keys, beneficiaries, metadata and
/// status over time. A device id is `address(uint160(uint256(keccak256(x ‖ y))))` for both schemes, which for a
/// secp256k1 key is its usual Ethereum address.
interface IDeviceRegistry {
    /// @notice A registered device.
    /// @param scheme The scheme of the device key.
    /// @param status The current status of the device.
    /// @param registeredAt The block timestamp of the registration.
    /// @param beneficiary The account credited with the rewards of the device's readings.
    /// @param metadataHash The hash of the off-chain metadata document of the device.
    /// @param keyX The x coordinate of the device public key.
    /// @param keyY The y coordinate of the device public key.
    /// @param rotatedFrom The device whose key this device replaced, or zero.
    /// @param rotatedTo The device whose key replaced this device's key, or zero.
    struct Device {
        KeyScheme scheme;
        DeviceStatus status;
        uint48 registeredAt;
        address beneficiary;
        bytes32 metadataHash;
        bytes32 keyX;
        bytes32 keyY;
        address rotatedFrom;
        address rotatedTo;
    }

    /// @notice An issuer's statement that a key was generated in the token of an eSIM it issued (see docs/PROVISIONING.md).
    /// @dev Signed by the issuer as EIP-712 `DeviceAttestation(address issuer,uint8 scheme,bytes publicKey,
    /// bytes32 esimHash,address beneficiary,bytes32 metadataHash,uint64 validAfter,uint64 validUntil)` on this
    /// registry's domain.
    /// @param issuer The issuer, as recorded by {addIssuer}.
    /// @param scheme The scheme of the device key.
    /// @param publicKey The 64-byte public key `x ‖ y`.
    /// @param esimHash `keccak256("SensorSeal eSIM v1:" ‖ eSIM id)`; the id itself never goes on-chain.
    /// @param beneficiary The account credited with the device's rewards.
    /// @param metadataHash The hash of the device's metadata document.
    /// @param validAfter The first timestamp at which the attestation may be used.
    /// @param validUntil The last timestamp at which the attestation may be used.
    struct DeviceAttestation {
        address issuer;
        KeyScheme scheme;
        bytes publicKey;
        bytes32 esimHash;
        address beneficiary;
        bytes32 metadataHash;
        uint64 validAfter;
        uint64 validUntil;
    }

    /// @notice A recorded issuer: when it was added and, if so, revoked.
    /// @param addedAt The block timestamp of {addIssuer}, zero for an unknown issuer.
    /// @param revokedAt The block timestamp of {revokeIssuer}, zero while the issuer is in force.
    struct Issuer {
        uint48 addedAt;
        uint48 revokedAt;
    }

    /// @notice Thrown when a public key is not 64 bytes or not a point of the scheme's curve.
    /// @param scheme The scheme the key was given for.
    error DeviceRegistryInvalidPublicKey(KeyScheme scheme);

    /// @notice Thrown when registering a key whose device id is already known, in any status.
    /// @param device The device id of the key.
    error DeviceRegistryAlreadyRegistered(address device);

    /// @notice Thrown when acting on a device that was never registered.
    /// @param device The device id.
    error DeviceRegistryUnknownDevice(address device);

    /// @notice Thrown when a device-signed action comes from a device that is not active.
    /// @param device The device id.
    /// @param at The timestamp at which the device had to be active.
    error DeviceRegistryNotActive(address device, uint64 at);

    /// @notice Thrown when a device-signed message does not carry a valid signature of the device's current key.
    /// @param device The device id.
    error DeviceRegistryInvalidSignature(address device);

    /// @notice Thrown when a device-signed message is submitted after its deadline.
    /// @param deadline The deadline of the message.
    error DeviceRegistryExpiredSignature(uint256 deadline);

    /// @notice Thrown when a compromise is declared in the future or later than the one already declared.
    /// @param device The device id.
    /// @param since The declared time.
    /// @param limit The latest time allowed: now, or the compromise time already declared.
    error DeviceRegistryInvalidCompromiseTime(address device, uint64 since, uint64 limit);

    /// @notice Thrown when registering a device without a beneficiary.
    error DeviceRegistryZeroBeneficiary();

    /// @notice Thrown when a status change is not allowed from the device's current status.
    /// @param device The device id.
    /// @param status The current status of the device.
    error DeviceRegistryInvalidStatus(address device, DeviceStatus status);

    /// @notice Thrown when adding an issuer that is zero or already recorded (in force or revoked).
    /// @param issuer The issuer.
    error DeviceRegistryInvalidIssuer(address issuer);

    /// @notice Thrown when an attestation names an issuer that was never added.
    /// @param issuer The issuer.
    error DeviceRegistryUnknownIssuer(address issuer);

    /// @notice Thrown when an attestation names, or an action targets, a revoked issuer.
    /// @param issuer The issuer.
    /// @param revokedAt The time of the revocation.
    error DeviceRegistryIssuerRevoked(address issuer, uint64 revokedAt);

    /// @notice Thrown when the issuer's signature over an attestation is not valid.
    /// @param issuer The issuer the attestation names.
    error DeviceRegistryInvalidAttestationSignature(address issuer);

    /// @notice Thrown when an attestation is used outside its validity window.
    /// @param validAfter The first timestamp of the window.
    /// @param validUntil The last timestamp of the window.
    error DeviceRegistryAttestationNotValid(uint64 validAfter, uint64 validUntil);

    /// @notice Thrown when the proof of possession is not a signature of the attested key over the attestation.
    /// @param device The device id of the attested key.
    error DeviceRegistryInvalidProofOfPossession(address device);

    /// @notice Thrown when an eSIM identity hash was already used by a registration.
    /// @param esimHash The eSIM identity hash.
    error DeviceRegistryEsimAlreadyUsed(bytes32 esimHash);

    /// @notice Emitted when an issuer is recorded.
    /// @param issuer The issuer.
    event IssuerAdded(address indexed issuer);

    /// @notice Emitted when an issuer is revoked: every device it attested is `Revoked` from `at` on.
    /// @param issuer The issuer.
    /// @param at The time of the revocation.
    event IssuerRevoked(address indexed issuer, uint64 at);

    /// @notice Emitted with {DeviceRegistered} when a device is registered on an issuer's attestation.
    /// @param device The device id.
    /// @param issuer The issuer.
    /// @param esimHash The eSIM identity hash.
    event DeviceAttested(address indexed device, address indexed issuer, bytes32 esimHash);

    /// @notice Emitted when a device is registered, by the registrar or by a key rotation.
    /// @param device The device id.
    /// @param scheme The scheme of the device key.
    /// @param beneficiary The account credited with the device's rewards.
    /// @param metadataHash The hash of the device's metadata document.
    /// @param publicKey The 64-byte public key `x ‖ y`.
    event DeviceRegistered(
        address indexed device,
        KeyScheme scheme,
        address indexed beneficiary,
        bytes32 metadataHash,
        bytes publicKey
    );

    /// @notice Emitted when an active device is suspended.
    /// @param device The device id.
    event DeviceSuspended(address indexed device);

    /// @notice Emitted when a suspended device is made active again.
    /// @param device The device id.
    event DeviceResumed(address indexed device);

    /// @notice Emitted when a device is revoked, for good.
    /// @param device The device id.
    event DeviceRevoked(address indexed device);

    /// @notice Emitted when a device is declared compromised: it is `Revoked` at every timestamp from `since` on.
    /// @param device The device id.
    /// @param since The first timestamp at which the device's key is no longer trusted.
    event DeviceCompromised(address indexed device, uint64 since);

    /// @notice Emitted when a device replaces its key; the new key is a new device, registered in the same transaction.
    /// @param oldDevice The device id of the replaced key, now `Rotated`.
    /// @param newDevice The device id of the new key, now `Active`.
    /// @param newScheme The scheme of the new key.
    event DeviceKeyRotated(address indexed oldDevice, address indexed newDevice, KeyScheme newScheme);

    /// @notice Emitted when a device updates its metadata hash.
    /// @param device The device id.
    /// @param metadataHash The new metadata hash.
    event DeviceMetadataUpdated(address indexed device, bytes32 metadataHash);

    /// @notice The role allowed to register, suspend, resume and revoke devices.
    function REGISTRAR_ROLE() external view returns (bytes32);

    /// @notice Registers a device key as an active device.
    /// @dev Only the registrar.
    /// @param scheme The scheme of the key.
    /// @param publicKey The 64-byte public key `x ‖ y`, without the 0x04 prefix.
    /// @param beneficiary The account credited with the device's rewards.
    /// @param metadataHash The hash of the device's metadata document.
    /// @return device The device id of the key.
    function registerDevice(
        KeyScheme scheme,
        bytes calldata publicKey,
        address beneficiary,
        bytes32 metadataHash
    ) external returns (address device);

    /// @notice Records an issuer of eSIMs whose attestations register devices.
    /// @dev Only the admin. An issuer once revoked cannot be added again.
    /// @param issuer The issuer's account (an EOA, or a contract answering ERC-1271).
    function addIssuer(address issuer) external;

    /// @notice Revokes an issuer for good: its attestations are refused and every device it attested is `Revoked`
    /// from now on ({statusOf}, {statusAt}), for good: {suspendDevice}, {resumeDevice} and {revokeDevice} refuse them
    /// as `Revoked` ({revokeDeviceCompromised} may still date their compromise earlier).
    /// @dev Only the admin.
    /// @param issuer The issuer.
    function revokeIssuer(address issuer) external;

    /// @notice Returns an issuer's record; zero for an unknown issuer.
    /// @param issuer The issuer.
    function getIssuer(address issuer) external view returns (Issuer memory);

    /// @notice Returns the issuer that attested a device, or zero for a device registered by the registrar or a rotation
    /// of such a device. A rotated key keeps its issuer.
    /// @param device The device id.
    function issuerOf(address device) external view returns (address);

    /// @notice Returns whether an eSIM identity hash was used by a registration.
    /// @param esimHash The eSIM identity hash.
    function isEsimUsed(bytes32 esimHash) external view returns (bool);

    /// @notice Returns the EIP-712 digest an issuer signs for an attestation.
    /// @param attestation The attestation.
    function attestationDigest(DeviceAttestation calldata attestation) external view returns (bytes32);

    /// @notice Returns the EIP-712 digest the device key signs as its proof of possession:
    /// `ProofOfPossession(bytes32 attestationHash)` where `attestationHash` is the attestation's struct hash.
    /// @param attestation The attestation.
    function proofOfPossessionDigest(DeviceAttestation calldata attestation) external view returns (bytes32);

    /// @notice Registers a device on an issuer's attestation and a proof of possession of its key; anyone may submit.
    /// @dev Refuses an unknown or revoked issuer, a bad issuer signature, an attestation outside its window, a proof
    /// not made by the attested key, an eSIM hash already used and a key already registered; so an attestation and
    /// its proof register at most one device, once.
    /// @param attestation The attestation.
    /// @param issuerSignature The issuer's signature over {attestationDigest}.
    /// @param proofOfPossession The device key's signature over {proofOfPossessionDigest}, in the scheme's format.
    /// @return device The device id of the key.
    function registerWithAttestation(
        DeviceAttestation calldata attestation,
        bytes calldata issuerSignature,
        bytes calldata proofOfPossession
    ) external returns (address device);

    /// @notice Suspends an active device: its readings from now on do not verify until it is resumed.
    /// @dev Only the registrar.
    /// @param device The device id.
    function suspendDevice(address device) external;

    /// @notice Makes a suspended device active again.
    /// @dev Only the registrar.
    /// @param device The device id.
    function resumeDevice(address device) external;

    /// @notice Revokes a device for good: its readings from now on never verify, nor do its readings in batches
    /// anchored from now on.
    /// @dev Only the registrar. Allowed from `Active`, `Suspended` and `Rotated`, so a replaced key can still be
    /// revoked when it turns out to be compromised.
    /// @param device The device id.
    function revokeDevice(address device) external;

    /// @notice Revokes a device whose key is known to be compromised since `since`: as {revokeDevice}, and in
    /// addition {statusAt} answers `Revoked` for every timestamp from `since` on, so every reading dated from then
    /// on fails whenever it was anchored.
    /// @dev Only the registrar. Allowed in every known status; on a revoked device it may only move `since`
    /// earlier. `since` must not be in the future; a time before the registration counts from the registration.
    /// @param device The device id.
    /// @param since The first timestamp at which the key is no longer trusted.
    function revokeDeviceCompromised(address device, uint64 since) external;

    /// @notice Returns the time from which a device is declared compromised, or zero.
    /// @param device The device id.
    function compromisedSince(address device) external view returns (uint64);

    /// @notice Replaces the key of an active device, on a message signed by its current key and relayed by anyone.
    /// The new key becomes a new active device with the same beneficiary and metadata; the old one becomes `Rotated`.
    /// @dev Signed as EIP-712
    /// `RotateKey(address device,uint8 newScheme,bytes newPublicKey,uint256 nonce,uint256 deadline)`
    /// with `nonce = nonces(device)`.
    /// @param device The device id of the current key.
    /// @param newScheme The scheme of the new key.
    /// @param newPublicKey The 64-byte new public key `x ‖ y`.
    /// @param deadline The last timestamp at which the message is accepted.
    /// @param signature The signature of the current key over the message.
    /// @return newDevice The device id of the new key.
    function rotateKey(
        address device,
        KeyScheme newScheme,
        bytes calldata newPublicKey,
        uint256 deadline,
        bytes calldata signature
    ) external returns (address newDevice);

    /// @notice Updates the metadata hash of an active device, on a message signed by its key and relayed by anyone.
    /// @dev Signed as EIP-712 `UpdateMetadata(address device,bytes32 metadataHash,uint256 nonce,uint256 deadline)`
    /// with `nonce = nonces(device)`.
    /// @param device The device id.
    /// @param metadataHash The new metadata hash.
    /// @param deadline The last timestamp at which the message is accepted.
    /// @param signature The signature of the device key over the message.
    function updateMetadata(address device, bytes32 metadataHash, uint256 deadline, bytes calldata signature) external;

    /// @notice Returns a device; all fields are zero (status `Unknown`) for an unknown device.
    /// @param device The device id.
    function getDevice(address device) external view returns (Device memory);

    /// @notice Returns the current status of a device: `Revoked` once its issuer is revoked.
    /// @param device The device id.
    function statusOf(address device) external view returns (DeviceStatus);

    /// @notice Returns the status of a device in force at a timestamp: `Revoked` from its compromise time on (see
    /// {revokeDeviceCompromised}) and from its issuer's revocation on (see {revokeIssuer}), otherwise the last status
    /// set at or before it, or `Unknown` before the registration.
    /// @param device The device id.
    /// @param timestamp The timestamp, in seconds.
    function statusAt(address device, uint64 timestamp) external view returns (DeviceStatus);

    /// @notice Returns whether a device was `Active` at a timestamp.
    /// @param device The device id.
    /// @param timestamp The timestamp, in seconds.
    function isActiveAt(address device, uint64 timestamp) external view returns (bool);

    /// @notice Returns whether a signature over a digest was made by the device's key, for its scheme: 65 bytes
    /// `r ‖ s ‖ v` for secp256k1, 64 bytes `r ‖ s` for P-256, low-s for both. Checks the key only, not the status.
    /// @param device The device id; an unknown device has no valid signature.
    /// @param digest The signed 32-byte digest.
    /// @param signature The signature.
    function isValidDeviceSignature(
        address device,
        bytes32 digest,
        bytes calldata signature
    ) external view returns (bool);

    /// @notice Returns the next nonce of a device's signed messages (key rotation, metadata update).
    /// @param device The device id.
    function nonces(address device) external view returns (uint256);
}
