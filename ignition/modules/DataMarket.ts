import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import RewardChainModule from "./RewardChain.js";
import SettlementTokenModule from "./SettlementToken.js";

/**
 * The data market on the reward chain, paying contributor pools to the RewardChain's distributor.
 * `admin` holds DEFAULT_ADMIN_ROLE (fee, treasury, accepted tokens); `operator` lists, reprices,
 * retires and pauses; fees (`feeBps`) go to `treasury`. The local SettlementToken is the accepted
 * token; the distributor's admin (the deployer locally) sets its epoch cap `settlementEpochCap`, so
 * the committee can post shares in it. See docs/MARKET.md.
 */
export default buildModule("DataMarket", (m) => {
  const { distributor, token } = m.useModule(RewardChainModule);
  const { settlementToken } = m.useModule(SettlementTokenModule);
  const admin = m.getParameter("admin", m.getAccount(0));
  const operator = m.getParameter("operator", m.getAccount(0));
  const treasury = m.getParameter("treasury", m.getAccount(0));
  const feeBps = m.getParameter("feeBps", 1_000);
  const settlementEpochCap = m.getParameter("settlementEpochCap", 1_000_000_000n * 10n ** 18n);
  const market = m.contract("DataMarket", [admin, operator, distributor, treasury, feeBps, settlementToken]);
  m.call(distributor, "setTokenEpochCap", [settlementToken, settlementEpochCap], { id: "settlementEpochCap" });
  return { market, settlementToken, distributor, token };
});
