// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {P256} from "@openzeppelin/contracts/utils/cryptography/P256.sol";

import {KeyScheme} from "../interfaces/IDeviceRegistry.sol";

/// @title DeviceSignature
/// @notice Checks a device signature for the device's key scheme.
/// @dev secp256k1: 65 bytes `r ‖ s ‖ v`, recovered with {ECDSA-tryRecoverCalldata} (low-s, v 27/28) and compared
/// with the device id, which is the key's Ethereum address. P-256: 64 bytes `r ‖ s`, checked with {P256-verify}
/// (low-s) against the stored key; it uses the RIP-7212 precompile where the chain has one and falls back to
/// Solidity otherwise. Any other length is invalid. Never reverts on a bad signature.
library DeviceSignature {
    /// @dev The secp256k1 field prime.
    uint256 private constant SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    /// @notice Returns whether `(x, y)` is a point of the scheme's curve (in affine coordinates, not infinity).
    /// @param scheme The key scheme.
    /// @param x The x coordinate.
    /// @param y The y coordinate.
    function isValidPublicKey(KeyScheme scheme, bytes32 x, bytes32 y) internal pure returns (bool) {
        if (scheme == KeyScheme.P256) return P256.isValidPublicKey(x, y);
        uint256 px = uint256(x);
        uint256 py = uint256(y);
        if (px >= SECP256K1_P || py >= SECP256K1_P) return false;
        // y² = x³ + 7 (mod p)
        uint256 lhs = mulmod(py, py, SECP256K1_P);
        uint256 rhs = addmod(mulmod(mulmod(px, px, SECP256K1_P), px, SECP256K1_P), 7, SECP256K1_P);
        return lhs == rhs;
    }

    /// @notice Returns whether `signature` over `digest` was made by the device's key.
    /// @param scheme The scheme of the device key.
    /// @param device The device id (for secp256k1, the key's address).
    /// @param keyX The x coordinate of the public key (used for P-256).
    /// @param keyY The y coordinate of the public key (used for P-256).
    /// @param digest The signed digest.
    /// @param signature The signature.
    function verify(
        KeyScheme scheme,
        address device,
        bytes32 keyX,
        bytes32 keyY,
        bytes32 digest,
        bytes calldata signature
    ) internal view returns (bool) {
        if (scheme == KeyScheme.Secp256k1) {
            if (signature.length != 65) return false;
            (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
            return err == ECDSA.RecoverError.NoError && recovered == device;
        } else {
            if (signature.length != 64) return false;
            return P256.verify(digest, bytes32(signature[0:32]), bytes32(signature[32:64]), keyX, keyY);
        }
    }
}
