// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Arrays} from "@openzeppelin/contracts/utils/Arrays.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @dev A Solidity port of @openzeppelin/merkle-tree's tree building (core.ts), for tests: same array layout
/// (root at 0, leaves at the end in reverse order, children of i at 2i+1 and 2i+2), sorted-pair node hashing,
/// and leaves sorted ascending as `StandardMerkleTree.of(…, { sortLeaves: true })` does.
library StandardMerkleTree {
    /// @dev Builds the tree of `leaves` (leaf hashes), sorting a copy of them first.
    function build(bytes32[] memory leaves) internal pure returns (bytes32[] memory tree) {
        require(leaves.length != 0, "StandardMerkleTree: no leaves");
        bytes32[] memory sorted = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; ++i) sorted[i] = leaves[i];
        Arrays.sort(sorted);

        tree = new bytes32[](2 * sorted.length - 1);
        for (uint256 i = 0; i < sorted.length; ++i) tree[tree.length - 1 - i] = sorted[i];
        for (uint256 i = tree.length - sorted.length; i > 0; --i) {
            tree[i - 1] = Hashes.commutativeKeccak256(tree[2 * i - 1], tree[2 * i]);
        }
    }

    /// @dev Returns the tree index of a leaf hash; reverts if absent.
    function indexOf(bytes32[] memory tree, bytes32 leaf) internal pure returns (uint256) {
        uint256 leafCount = (tree.length + 1) / 2;
        for (uint256 i = tree.length - leafCount; i < tree.length; ++i) {
            if (tree[i] == leaf) return i;
        }
        revert("StandardMerkleTree: leaf not found");
    }

    /// @dev Returns the proof of the node at tree index `index` (a leaf, or an internal node for a sub-proof).
    function proof(bytes32[] memory tree, uint256 index) internal pure returns (bytes32[] memory path) {
        uint256 depth = 0;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) ++depth;
        path = new bytes32[](depth);
        for (uint256 k = 0; index > 0; ++k) {
            path[k] = tree[index % 2 == 1 ? index + 1 : index - 1];
            index = (index - 1) / 2;
        }
    }

    /// @dev Returns the proof of a leaf hash.
    function proofOf(bytes32[] memory tree, bytes32 leaf) internal pure returns (bytes32[] memory) {
        return proof(tree, indexOf(tree, leaf));
    }
}
