import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The reward chain's ERC-20 (with ERC-2612 permits). Only its distributor can mint; the
 * RewardDistributor module binds it, from the same deployer account (the only one allowed to).
 */
export default buildModule("RewardToken", (m) => {
  const name = m.getParameter("name", "SensorSeal Reward");
  const symbol = m.getParameter("symbol", "SSR");

  const token = m.contract("RewardToken", [name, symbol]);

  return { token };
});
