// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Test-only: emits IDataMarket's `Purchased` event with the same signature and fields the DataMarket
/// emits, and answers `treasury()`, so the off-chain side (purchase follower, committee sale split,
/// platform access) is tested on a real chain on its own. Moves no funds; the buyer is `msg.sender`.
contract PurchaseLogHarness {
    event Purchased(
        uint256 indexed purchaseId,
        uint256 indexed productId,
        address indexed buyer,
        address token,
        uint256 price,
        uint256 fee,
        uint256 contributorPool,
        bytes32 scopeHash,
        uint64 expiresAt
    );

    address public treasury;
    uint256 public purchaseCount;

    constructor(address treasury_) {
        treasury = treasury_;
    }

    function record(
        uint256 productId,
        address token,
        uint256 price,
        uint256 fee,
        bytes32 scopeHash,
        uint64 accessPeriod
    ) external returns (uint256 purchaseId) {
        purchaseId = ++purchaseCount;
        emit Purchased(
            purchaseId,
            productId,
            msg.sender,
            token,
            price,
            fee,
            price - fee,
            scopeHash,
            uint64(block.timestamp) + accessPeriod
        );
    }
}
