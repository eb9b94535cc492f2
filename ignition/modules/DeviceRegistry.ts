import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * The audit chain's device registry. `admin` holds DEFAULT_ADMIN_ROLE;
 * `registrar` is granted REGISTRAR_ROLE (register, suspend, resume, revoke).
 */
export default buildModule("DeviceRegistry", (m) => {
  const admin = m.getParameter("admin", m.getAccount(0));
  const registrar = m.getParameter("registrar", m.getAccount(0));

  const registry = m.contract("DeviceRegistry", [admin]);
  const registrarRole = m.staticCall(registry, "REGISTRAR_ROLE");
  m.call(registry, "grantRole", [registrarRole, registrar], {
    id: "grantRegistrarRole",
  });

  return { registry };
});
