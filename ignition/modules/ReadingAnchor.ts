import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import DeviceRegistryModule from "./DeviceRegistry.js";

/**
 * The audit chain's reading anchor, bound to the registry. `relayer` is registered (registerRelayer: granted
 * RELAYER_ROLE, with the base URL `relayerManifestUrl` its manifests are fetched from and the address
 * `relayerReceiptSigner` that signs its inclusion receipts); more relayers can be registered by `admin` later.
 * `maxAnchorDelay` is the longest delay, in seconds, between a reading's time and its anchoring;
 * `manifestAvailabilityBlocks` the audit-chain blocks within which a batch's manifest must be retrievable.
 * See docs/TRUST-MODEL.md.
 */
export default buildModule("ReadingAnchor", (m) => {
  const { registry } = m.useModule(DeviceRegistryModule);
  const admin = m.getParameter("admin", m.getAccount(0));
  const relayer = m.getParameter("relayer", m.getAccount(0));
  const relayerManifestUrl = m.getParameter("relayerManifestUrl", "http://127.0.0.1:8547");
  const relayerReceiptSigner = m.getParameter("relayerReceiptSigner", m.getAccount(4));
  const maxAnchorDelay = m.getParameter("maxAnchorDelay", 86_400);
  const manifestAvailabilityBlocks = m.getParameter("manifestAvailabilityBlocks", 100);

  const anchor = m.contract("ReadingAnchor", [registry, admin, maxAnchorDelay, manifestAvailabilityBlocks]);
  m.call(anchor, "registerRelayer", [relayer, relayerManifestUrl, relayerReceiptSigner], { id: "registerRelayer" });

  return { anchor };
});
