// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CommonBase, Test} from "../test/Test.t.sol";
import {Secp256k1Keys} from "../test/Secp256k1Keys.t.sol";
import {IDeviceRegistry, KeyScheme} from "../interfaces/IDeviceRegistry.sol";
import {IReadingAnchor} from "../interfaces/IReadingAnchor.sol";
import {DeviceRegistry} from "./DeviceRegistry.sol";
import {ReadingAnchor} from "./ReadingAnchor.sol";

/// @dev A device key held by a test: its scheme, private key, 64-byte public key and device id.
struct DeviceKey {
    KeyScheme scheme;
    uint256 privateKey;
    bytes publicKey;
    address id;
}

/// @dev Keys, signatures and EIP-712 digests for the audit-chain tests and handlers, computed independently of the
/// contracts.
abstract contract AuditKeys is CommonBase {
    bytes32 internal constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant ROTATE_KEY_TYPEHASH =
        keccak256("RotateKey(address device,uint8 newScheme,bytes newPublicKey,uint256 nonce,uint256 deadline)");
    bytes32 internal constant UPDATE_METADATA_TYPEHASH =
        keccak256("UpdateMetadata(address device,bytes32 metadataHash,uint256 nonce,uint256 deadline)");
    bytes32 internal constant READING_TYPEHASH =
        keccak256("Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)");
    bytes32 internal constant ATTESTATION_TYPEHASH =
        keccak256(
            "DeviceAttestation(address issuer,uint8 scheme,bytes publicKey,bytes32 esimHash,address beneficiary,bytes32 metadataHash,uint64 validAfter,uint64 validUntil)"
        );
    bytes32 internal constant PROOF_OF_POSSESSION_TYPEHASH = keccak256("ProofOfPossession(bytes32 attestationHash)");

    /// @dev A secp256k1 device; the public key is derived in Solidity and checked against `vm.addr`.
    function secpKey(uint256 privateKey) internal view returns (DeviceKey memory key) {
        key.scheme = KeyScheme.Secp256k1;
        key.privateKey = privateKey;
        key.publicKey = Secp256k1Keys.publicKeyBytes(privateKey);
        key.id = address(uint160(uint256(keccak256(key.publicKey))));
        require(key.id == vm.addr(privateKey), "AuditKeys: secp256k1 key derivation");
    }

    /// @dev A P-256 device.
    function p256Key(uint256 privateKey) internal pure returns (DeviceKey memory key) {
        (uint256 x, uint256 y) = vm.publicKeyP256(privateKey);
        key.scheme = KeyScheme.P256;
        key.privateKey = privateKey;
        key.publicKey = abi.encodePacked(x, y);
        key.id = address(uint160(uint256(keccak256(key.publicKey))));
    }

    /// @dev Signs a digest as a device does: 65 bytes `r ‖ s ‖ v` or 64 bytes `r ‖ s`, low-s.
    function signDigest(DeviceKey memory key, bytes32 digest) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        if (key.scheme == KeyScheme.Secp256k1) {
            uint8 v;
            (v, r, s) = vm.sign(key.privateKey, digest);
            return abi.encodePacked(r, s, v);
        }
        (r, s) = vm.signP256(key.privateKey, digest);
        if (uint256(s) > P256_N / 2) s = bytes32(P256_N - uint256(s));
        return abi.encodePacked(r, s);
    }

    /// @dev The malleated twin of a low-s signature: `s' = n - s` (and the flipped `v` for secp256k1), which the
    /// curve accepts but the contracts must not.
    function highS(DeviceKey memory key, bytes memory sig) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
        }
        if (key.scheme == KeyScheme.Secp256k1) {
            uint8 v = uint8(sig[64]);
            return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        }
        return abi.encodePacked(r, bytes32(P256_N - uint256(s)));
    }

    function domainSeparator(
        string memory name,
        uint256 chainId,
        address verifyingContract
    ) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(EIP712_DOMAIN_TYPEHASH, keccak256(bytes(name)), keccak256("1"), chainId, verifyingContract)
            );
    }

    function typedDigest(bytes32 separator, bytes32 structHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(hex"1901", separator, structHash));
    }

    function readingStructHash(IReadingAnchor.Reading memory reading) internal pure returns (bytes32) {
        return
            keccak256(abi.encode(READING_TYPEHASH, reading.device, reading.seq, reading.timestamp, reading.dataHash));
    }

    function rotateDigestAt(
        address registry_,
        address device,
        DeviceKey memory newKey,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(ROTATE_KEY_TYPEHASH, device, uint8(newKey.scheme), keccak256(newKey.publicKey), nonce, deadline)
        );
        return typedDigest(domainSeparator("SensorSeal Registry", block.chainid, registry_), structHash);
    }

    function metadataDigestAt(
        address registry_,
        address device,
        bytes32 metadataHash,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        bytes32 structHash = keccak256(abi.encode(UPDATE_METADATA_TYPEHASH, device, metadataHash, nonce, deadline));
        return typedDigest(domainSeparator("SensorSeal Registry", block.chainid, registry_), structHash);
    }

    /// @dev `keccak256("SensorSeal eSIM v1:" ‖ id)`, the only form in which an eSIM id reaches the chain.
    function esimHashOf(bytes memory esimId) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("SensorSeal eSIM v1:", esimId));
    }

    function attestationStructHash(IDeviceRegistry.DeviceAttestation memory a) internal pure returns (bytes32) {
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

    /// @dev An issuer's signature (65 bytes `r ‖ s ‖ v`) over an attestation, by `signerKey`.
    function signAttestationAt(
        address registry_,
        uint256 signerKey,
        IDeviceRegistry.DeviceAttestation memory a
    ) internal view returns (bytes memory) {
        bytes32 digest = typedDigest(
            domainSeparator("SensorSeal Registry", block.chainid, registry_),
            attestationStructHash(a)
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev A proof of possession of `key` over an attestation, in the key's scheme.
    function proveAt(
        address registry_,
        DeviceKey memory key,
        IDeviceRegistry.DeviceAttestation memory a
    ) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(abi.encode(PROOF_OF_POSSESSION_TYPEHASH, attestationStructHash(a)));
        return signDigest(key, typedDigest(domainSeparator("SensorSeal Registry", block.chainid, registry_), structHash));
    }

    function readingDigestAt(address anchor_, IReadingAnchor.Reading memory r) internal view returns (bytes32) {
        return typedDigest(domainSeparator("SensorSeal", block.chainid, anchor_), readingStructHash(r));
    }

    function makeReading(
        DeviceKey memory key,
        uint64 seq,
        uint256 timestamp
    ) internal pure returns (IReadingAnchor.Reading memory) {
        return
            IReadingAnchor.Reading({
                device: key.id,
                seq: seq,
                timestamp: uint64(timestamp),
                dataHash: keccak256(abi.encode("payload", key.id, seq, timestamp))
            });
    }

    function readingLeafOf(IReadingAnchor.Reading memory reading) internal pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(keccak256(abi.encode(reading.device, reading.seq, reading.timestamp, reading.dataHash)))
            );
    }
}

/// @dev Deploys a registry and an anchor with their roles, at a realistic block time.
abstract contract AuditFixture is Test, AuditKeys {
    uint256 internal constant T0 = 1_750_000_000;
    uint64 internal constant MAX_ANCHOR_DELAY = 1 days;
    uint64 internal constant AVAILABILITY_BLOCKS = 100;
    string internal constant MANIFEST_URL = "https://relayer.example/v1/manifests";

    DeviceRegistry internal registry;
    ReadingAnchor internal anchor;

    address internal admin;
    address internal registrar;
    address internal relayer;
    address internal receiptSigner;
    address internal beneficiary;
    address internal stranger;

    function setUp() public virtual {
        vm.warp(T0);
        admin = makeAddr("admin");
        registrar = makeAddr("registrar");
        relayer = makeAddr("relayer");
        receiptSigner = makeAddr("receiptSigner");
        beneficiary = makeAddr("beneficiary");
        stranger = makeAddr("stranger");

        registry = new DeviceRegistry(admin);
        anchor = new ReadingAnchor(registry, admin, MAX_ANCHOR_DELAY, AVAILABILITY_BLOCKS);
        vm.startPrank(admin);
        registry.grantRole(registry.REGISTRAR_ROLE(), registrar);
        anchor.registerRelayer(relayer, MANIFEST_URL, receiptSigner);
        vm.stopPrank();
    }

    function register(DeviceKey memory key) internal returns (address) {
        return register(key, keccak256("metadata"));
    }

    function register(DeviceKey memory key, bytes32 metadataHash) internal returns (address device) {
        vm.prank(registrar);
        device = registry.registerDevice(key.scheme, key.publicKey, beneficiary, metadataHash);
        require(device == key.id, "AuditFixture: device id");
    }

    function rotateDigest(
        address device,
        DeviceKey memory newKey,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        return rotateDigestAt(address(registry), device, newKey, nonce, deadline);
    }

    function metadataDigest(
        address device,
        bytes32 metadataHash,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        return metadataDigestAt(address(registry), device, metadataHash, nonce, deadline);
    }

    function readingDigestOf(IReadingAnchor.Reading memory r) internal view returns (bytes32) {
        return readingDigestAt(address(anchor), r);
    }

    function signReading(
        DeviceKey memory key,
        IReadingAnchor.Reading memory r
    ) internal view returns (bytes memory) {
        return signDigest(key, readingDigestOf(r));
    }
}
