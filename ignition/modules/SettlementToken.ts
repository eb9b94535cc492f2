import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The local stack's settlement token (ERC-20 + ERC-2612 permit), its whole `supply` minted to the
 * deployer. In production the DataMarket module takes an existing ERC-20 instead (parameter `token`).
 */
export default buildModule("SettlementToken", (m) => {
  const name = m.getParameter("name", "SensorSeal USD");
  const symbol = m.getParameter("symbol", "sUSD");
  const supply = m.getParameter("supply", 1_000_000_000n * 10n ** 18n);
  const settlementToken = m.contract("SettlementToken", [name, symbol, supply]);
  return { settlementToken };
});
