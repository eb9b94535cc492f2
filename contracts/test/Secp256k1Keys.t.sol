// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev secp256k1 public key derivation for tests (Hardhat does not support `vm.createWallet`): double-and-add in
/// Jacobian coordinates. Slow (~0.3M gas) but exact; callers check the result against `vm.addr`.
library Secp256k1Keys {
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    uint256 internal constant GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798;
    uint256 internal constant GY = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8;

    /// @dev Returns the affine public key `(x, y)` of `privateKey` (which must be in [1, n-1]).
    function publicKey(uint256 privateKey) internal view returns (bytes32 x, bytes32 y) {
        uint256 jx;
        uint256 jy;
        uint256 jz; // jz == 0 is the point at infinity
        for (uint256 bit = 256; bit > 0; --bit) {
            (jx, jy, jz) = _double(jx, jy, jz);
            if ((privateKey >> (bit - 1)) & 1 == 1) (jx, jy, jz) = _addAffine(jx, jy, jz, GX, GY);
        }
        require(jz != 0, "Secp256k1Keys: zero key");
        uint256 zInv = _modExp(jz, P - 2);
        uint256 zInv2 = mulmod(zInv, zInv, P);
        x = bytes32(mulmod(jx, zInv2, P));
        y = bytes32(mulmod(jy, mulmod(zInv2, zInv, P), P));
    }

    /// @dev Returns the 64-byte public key `x ‖ y` of `privateKey`.
    function publicKeyBytes(uint256 privateKey) internal view returns (bytes memory) {
        (bytes32 x, bytes32 y) = publicKey(privateKey);
        return abi.encodePacked(x, y);
    }

    function _double(uint256 x, uint256 y, uint256 z) private pure returns (uint256, uint256, uint256) {
        if (z == 0 || y == 0) return (0, 0, 0);
        // dbl-2009-l (a = 0), reusing variables to stay within the stack.
        uint256 a = mulmod(x, x, P);
        uint256 c = mulmod(y, y, P); // b = y²
        uint256 d = addmod(x, c, P);
        c = mulmod(c, c, P); // c = b²
        d = mulmod(2, _sub(_sub(mulmod(d, d, P), a), c), P);
        a = mulmod(3, a, P); // e = 3x²
        x = _sub(mulmod(a, a, P), mulmod(2, d, P));
        z = mulmod(mulmod(2, y, P), z, P);
        y = _sub(mulmod(a, _sub(d, x), P), mulmod(8, c, P));
        return (x, y, z);
    }

    function _addAffine(
        uint256 x1,
        uint256 y1,
        uint256 z1,
        uint256 x2,
        uint256 y2
    ) private pure returns (uint256, uint256, uint256) {
        if (z1 == 0) return (x2, y2, 1);
        // madd-2007-bl style mixed addition, reusing variables to stay within the stack.
        uint256 t = mulmod(z1, z1, P);
        uint256 h = _sub(mulmod(x2, t, P), x1);
        uint256 r = _sub(mulmod(y2, mulmod(z1, t, P), P), y1);
        if (h == 0) return r == 0 ? _double(x1, y1, z1) : (0, 0, 0);
        z1 = mulmod(z1, h, P);
        t = mulmod(h, h, P); // h²
        h = mulmod(h, t, P); // h³
        t = mulmod(x1, t, P); // v = x1·h²
        x2 = _sub(_sub(mulmod(r, r, P), h), mulmod(2, t, P));
        y2 = _sub(mulmod(r, _sub(t, x2), P), mulmod(y1, h, P));
        return (x2, y2, z1);
    }

    function _sub(uint256 a, uint256 b) private pure returns (uint256) {
        return addmod(a, P - b, P);
    }

    function _modExp(uint256 base, uint256 exponent) private view returns (uint256 result) {
        (bool ok, bytes memory out) = address(0x05).staticcall(abi.encode(32, 32, 32, base, exponent, P));
        require(ok, "Secp256k1Keys: modexp failed");
        result = abi.decode(out, (uint256));
    }
}
