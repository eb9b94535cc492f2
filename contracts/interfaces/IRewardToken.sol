// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IRewardToken
/// @notice The SensorSeal reward token on the reward chain: an ERC-20 with ERC-2612 permits, minted only by its
/// distributor when a contributor claims.
/// @dev The distributor is bound once, by the deployer, right after both contracts are deployed (each needs the
/// other's address); until then nobody can mint, and afterwards nobody can change it.
interface IRewardToken is IERC20 {
    /// @notice Thrown when an account other than the distributor mints.
    /// @param account The caller.
    error RewardTokenUnauthorizedMinter(address account);

    /// @notice Thrown when an account other than the deployer binds the distributor.
    /// @param account The caller.
    error RewardTokenUnauthorizedBinder(address account);

    /// @notice Thrown when binding a distributor a second time.
    /// @param distributor The distributor already bound.
    error RewardTokenDistributorAlreadySet(address distributor);

    /// @notice Thrown when binding the zero address as the distributor.
    error RewardTokenZeroDistributor();

    /// @notice Thrown when a mint would take the supply, or a claimed amount, above 2^128 - 1.
    /// @param amount The supply or cumulative amount it would reach.
    /// @param max The maximum, 2^128 - 1.
    error RewardTokenSupplyOverflow(uint256 amount, uint256 max);

    /// @notice Emitted when the distributor is bound, once.
    /// @param distributor The distributor, the only account that can mint from now on.
    event DistributorSet(address indexed distributor);

    /// @notice Binds the distributor, the only account that can ever mint.
    /// @dev Only the deployer, only once.
    /// @param distributor_ The distributor; not zero.
    function setDistributor(address distributor_) external;

    /// @notice Mints `amount` tokens to `to`.
    /// @dev Only the distributor.
    /// @param to The receiver; not zero.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external;

    /// @notice Records `account`'s cumulative claimed amount and mints what it adds to `recipient`; does nothing
    /// when `cumulative` is not above the amount already recorded. The distributor checks the claim (proof, root,
    /// totals); the record lives here, beside the claimant's balance, so a claim paid to the claimant is one storage
    /// write.
    /// @dev Only the distributor.
    /// @param account The claimant.
    /// @param recipient Who receives the tokens; not zero.
    /// @param cumulative The claimant's cumulative entitlement.
    /// @return previous The claimant's cumulative claimed amount before the call.
    /// @return supply The total supply after the call: everything ever claimed.
    function mintClaim(
        address account,
        address recipient,
        uint256 cumulative
    ) external returns (uint256 previous, uint256 supply);

    /// @notice The cumulative amount the distributor paid for `account` as a claimant.
    /// @param account The claimant.
    function claimedOf(address account) external view returns (uint256);

    /// @notice The distributor, the only account that can mint; zero until bound.
    function distributor() external view returns (address);

    /// @notice The account that deployed the token, the only one that can bind the distributor.
    function deployer() external view returns (address);
}
