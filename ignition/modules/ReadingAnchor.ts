import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import DeviceRegistryModule from "./DeviceRegistry.js";

/**
 * The audit chain's reading anchor, bound to the registry. `relayer` is granted
 * RELAYER_ROLE (anchorBatch); more relayers can be granted by `admin` later.
 */
export default buildModule("ReadingAnchor", (m) => {
  const { registry } = m.useModule(DeviceRegistryModule);
  const admin = m.getParameter("admin", m.getAccount(0));
  const relayer = m.getParameter("relayer", m.getAccount(0));

  const anchor = m.contract("ReadingAnchor", [registry, admin]);
  const relayerRole = m.staticCall(anchor, "RELAYER_ROLE");
  m.call(anchor, "grantRole", [relayerRole, relayer], { id: "grantRelayerRole" });

  return { anchor };
});
