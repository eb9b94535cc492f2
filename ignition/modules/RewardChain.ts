import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import RewardDistributorModule from "./RewardDistributor.js";
import RewardTokenModule from "./RewardToken.js";

/** Everything the reward chain runs: the reward token and its distributor, bound to each other. */
export default buildModule("RewardChain", (m) => {
  const { token } = m.useModule(RewardTokenModule);
  const { distributor } = m.useModule(RewardDistributorModule);
  return { token, distributor };
});
