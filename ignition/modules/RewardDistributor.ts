import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import RewardTokenModule from "./RewardToken.js";

/**
 * The reward chain's distributor, bound to the token as its only minter. `admin` holds
 * DEFAULT_ADMIN_ROLE (rotates the oracle set, sets the epoch cap, grants roles); `pauser` is granted
 * PAUSER_ROLE. `oracles` with `threshold` form oracle set version 1; `sourceChainId` is the audit
 * chain; `epochCap` bounds how much one posted root may raise the cumulative total (wei);
 * `oracleSetGracePeriod` is how long, in seconds, a superseded oracle set stays accepted after a rotation.
 */
export default buildModule("RewardDistributor", (m) => {
  const { token } = m.useModule(RewardTokenModule);
  const admin = m.getParameter("admin", m.getAccount(0));
  const pauser = m.getParameter("pauser", m.getAccount(0));
  const oracles = m.getParameter<string[]>("oracles");
  const threshold = m.getParameter<number>("threshold");
  const sourceChainId = m.getParameter("sourceChainId", AUDIT_CHAIN_ID);
  const epochCap = m.getParameter("epochCap", 1_000_000n * 10n ** 18n);
  const oracleSetGracePeriod = m.getParameter("oracleSetGracePeriod", 86_400);

  const distributor = m.contract("RewardDistributor", [token, sourceChainId, admin, oracles, threshold, epochCap, oracleSetGracePeriod]);
  m.call(token, "setDistributor", [distributor], { id: "bindDistributor" });
  const pauserRole = m.staticCall(distributor, "PAUSER_ROLE");
  m.call(distributor, "grantRole", [pauserRole, pauser], { id: "grantPauserRole" });

  return { token, distributor };
});
