import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

import DeviceRegistryModule from "./DeviceRegistry.js";
import ReadingAnchorModule from "./ReadingAnchor.js";

/** Everything the audit chain runs: the device registry and the reading anchor. */
export default buildModule("AuditChain", (m) => {
  const { registry } = m.useModule(DeviceRegistryModule);
  const { anchor } = m.useModule(ReadingAnchorModule);
  return { registry, anchor };
});
