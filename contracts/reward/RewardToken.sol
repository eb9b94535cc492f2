// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

import {IRewardToken} from "../interfaces/IRewardToken.sol";

/// @title RewardToken
/// @notice The SensorSeal reward token: an ERC-20 with ERC-2612 permits, minted only by its distributor.
/// @dev Trust assumptions:
/// - The deployer is trusted once, to bind the right distributor right after deployment (the token and the
///   distributor each need the other's address, so one of them must learn it after construction). It has no other
///   power, and none at all once the distributor is bound.
/// - The distributor is trusted for the whole supply: there is no other way to mint, no burn by others, no admin, no
///   upgrade.
contract RewardToken is IRewardToken, ERC20, ERC20Permit {
    address private immutable _deployer;
    address private _distributor;

    /// @param name_ The token name, also its ERC-2612 (EIP-712) domain name.
    /// @param symbol_ The token symbol.
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) ERC20Permit(name_) {
        _deployer = msg.sender;
    }

    /// @inheritdoc IRewardToken
    function setDistributor(address distributor_) external {
        if (msg.sender != _deployer) revert RewardTokenUnauthorizedBinder(msg.sender);
        if (_distributor != address(0)) revert RewardTokenDistributorAlreadySet(_distributor);
        if (distributor_ == address(0)) revert RewardTokenZeroDistributor();
        _distributor = distributor_;
        emit DistributorSet(distributor_);
    }

    /// @inheritdoc IRewardToken
    /// @dev Before the distributor is bound it is zero, which no caller can be.
    function mint(address to, uint256 amount) external {
        if (msg.sender != _distributor) revert RewardTokenUnauthorizedMinter(msg.sender);
        _mint(to, amount);
    }

    /// @inheritdoc IRewardToken
    function distributor() external view returns (address) {
        return _distributor;
    }

    /// @inheritdoc IRewardToken
    function deployer() external view returns (address) {
        return _deployer;
    }
}
