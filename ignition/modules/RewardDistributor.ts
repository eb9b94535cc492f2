import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import RewardTokenModule from "./RewardToken.js";

/**
 * The reward chain's distributor, bound to the token as its only minter. `admin` holds
 * DEFAULT_ADMIN_ROLE (rotates the oracle set, sets the epoch cap, grants roles); `pauser` is granted
 * PAUSER_ROLE. `oracles` with `threshold` form oracle set version 1; `sourceChainId` is the audit
 * chain; `epochCap` bounds how much one posted root may raise the cumulative total (wei);
 * `oracleSetGracePeriod` is how long, in seconds, a superseded oracle set stays accepted after a rotation;
 * `challengePeriod` is how long, in seconds, a posted root waits before it pays, during which `guardian`
 * (granted GUARDIAN_ROLE) may veto it. See docs/TRUST-MODEL.md.
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
  const challengePeriod = m.getParameter("challengePeriod", 3_600);
  const guardian = m.getParameter("guardian", m.getAccount(0));

  const distributor = m.contract("RewardDistributor", [
    token,
    sourceChainId,
    admin,
    oracles,
    threshold,
    epochCap,
    oracleSetGracePeriod,
    challengePeriod,
  ]);
  m.call(token, "setDistributor", [distributor], { id: "bindDistributor" });
  const pauserRole = m.staticCall(distributor, "PAUSER_ROLE");
  m.call(distributor, "grantRole", [pauserRole, pauser], { id: "grantPauserRole" });
  const guardianRole = m.staticCall(distributor, "GUARDIAN_ROLE");
  m.call(distributor, "grantRole", [guardianRole, guardian], { id: "grantGuardianRole" });

  return { token, distributor };
});
