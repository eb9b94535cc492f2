// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title SettlementToken
/// @notice The local stack's settlement token: a plain ERC-20 with ERC-2612 permits, its whole supply minted once to
/// the deployer (who hands it to demo consumers). In production the market takes any ERC-20 by parameter.
contract SettlementToken is ERC20, ERC20Permit {
    /// @param name_ The token name, also its ERC-2612 (EIP-712) domain name.
    /// @param symbol_ The token symbol.
    /// @param supply The whole supply, minted to the deployer.
    constructor(string memory name_, string memory symbol_, uint256 supply) ERC20(name_, symbol_) ERC20Permit(name_) {
        _mint(msg.sender, supply);
    }
}
