// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
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
/// - Storage: each holder's balance shares one slot with the cumulative amount the distributor paid for it as a
///   claimant ({claimedOf}), so an account's first claim to itself writes one fresh slot, not two (issue 13's claim
///   gas target). Both are uint128, so the supply is capped at 2^128 - 1.
contract RewardToken is IRewardToken, ERC20, ERC20Permit {
    /// @dev A holder's balance and, as a claimant, its cumulative claimed amount: one slot.
    struct Holder {
        uint128 balance;
        uint128 claimed;
    }

    address private immutable _deployer;
    address private _distributor;
    uint256 private _supply;
    mapping(address account => Holder) private _holders;

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
        _checkDistributor();
        _mint(to, amount);
    }

    /// @inheritdoc IRewardToken
    function mintClaim(
        address account,
        address recipient,
        uint256 cumulative
    ) external returns (uint256 previous, uint256 supply) {
        _checkDistributor();
        Holder storage holder = _holders[account];
        previous = holder.claimed;
        if (cumulative > previous) {
            if (cumulative > type(uint128).max) revert RewardTokenSupplyOverflow(cumulative, type(uint128).max);
            // When recipient == account the mint below rewrites the same, now warm, slot.
            holder.claimed = uint128(cumulative);
            _mint(recipient, cumulative - previous);
        }
        supply = _supply;
    }

    /// @inheritdoc IRewardToken
    function claimedOf(address account) external view returns (uint256) {
        return _holders[account].claimed;
    }

    /// @inheritdoc IRewardToken
    function distributor() external view returns (address) {
        return _distributor;
    }

    /// @inheritdoc IRewardToken
    function deployer() external view returns (address) {
        return _deployer;
    }

    /// @inheritdoc IERC20
    function totalSupply() public view override(ERC20, IERC20) returns (uint256) {
        return _supply;
    }

    /// @inheritdoc IERC20
    function balanceOf(address account) public view override(ERC20, IERC20) returns (uint256) {
        return _holders[account].balance;
    }

    /// @dev OpenZeppelin's {ERC20-_update} on the packed holder records: same checks, errors and event; the supply is
    /// capped at 2^128 - 1, so no balance overflows its 128 bits.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0)) {
            uint256 supply = _supply + value;
            if (supply > type(uint128).max) revert RewardTokenSupplyOverflow(supply, type(uint128).max);
            _supply = supply;
        } else {
            Holder storage sender = _holders[from];
            uint256 fromBalance = sender.balance;
            if (fromBalance < value) revert ERC20InsufficientBalance(from, fromBalance, value);
            unchecked {
                sender.balance = uint128(fromBalance - value);
            }
        }
        unchecked {
            // value <= supply <= 2^128 - 1, and every balance is part of the supply.
            if (to == address(0)) _supply -= value;
            else _holders[to].balance += uint128(value);
        }
        emit Transfer(from, to, value);
    }

    /// @dev Reverts unless the caller is the bound distributor.
    function _checkDistributor() private view {
        if (msg.sender != _distributor) revert RewardTokenUnauthorizedMinter(msg.sender);
    }
}
