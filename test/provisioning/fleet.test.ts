import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ProvisioningError } from "../../oracle/provisioning/client.js";
import { createProvisioningRegistrar } from "../../oracle/provisioning/fleet.js";
import { Simulator } from "../../oracle/device/simulator.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { request, type tempDir, type TestRelayer } from "../relayer/fixtures.js";
import { startRegistrationRelayer, startTestProvisioning } from "./fixtures.js";

describe("a simulated fleet provisioned through the provisioning service and the relayer (real chain)", () => {
  let chain: AuditChain;
  let relayer: TestRelayer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: Awaited<ReturnType<typeof startTestProvisioning>>;
  const issuerKey: Hex = `0x${"6e".repeat(32)}`;
  const beneficiary = privateKeyToAccount(`0x${"7f".repeat(32)}`).address;
  const esimId = (i: number) => `89440000000000000${200 + i}`;

  before(async () => {
    chain = await startAuditChain();
    ({ relayer, tmp } = await startRegistrationRelayer(chain));
    server = await startTestProvisioning(chain, issuerKey, [0, 1, 2].map(esimId), tmp.dir);
  });
  after(async () => {
    await server.close();
    await relayer.close();
    await chain.close();
    await tmp.remove();
  });

  async function fleet(name: string, devices: number, esim: (i: number) => string) {
    let sim: Simulator | undefined;
    const register = await createProvisioningRegistrar({
      provisioningUrl: server.url,
      relayerUrl: relayer.url,
      rpcUrl: chain.rpcUrl,
      registry: chain.registry,
      element: (i) => sim!.element(i),
      esimId: esim,
      beneficiaries: [beneficiary],
    });
    sim = await Simulator.create({
      devices,
      scheme: "mixed",
      keys: { kind: "seed", seed: name },
      chainId: chain.chainId,
      anchor: chain.anchor,
      platformUrl: relayer.url,
      relayerUrl: relayer.url,
      outboxFile: path.join(tmp.dir, `${name}.sqlite`),
      deliver: false,
      progress: false,
      register,
    });
    return { sim, register };
  }

  it("registers every device once (both schemes, active, attested by the issuer); a second fleet on the same keys skips them all", async () => {
    const first = await fleet("fleet", 3, esimId);
    await first.sim.registerAll();
    assert.deepEqual(first.register.counts(), { registered: 3, skipped: 0 });
    for (const i of [0, 1, 2]) {
      const view = await request(`${relayer.url}/v1/devices/${first.sim.element(i).address}`);
      assert.equal(view.body.status, "active");
      assert.equal(view.body.issuer, privateKeyToAccount(issuerKey).address);
    }
    const again = await fleet("fleet", 3, esimId);
    await again.sim.registerAll();
    assert.deepEqual(again.register.counts(), { registered: 0, skipped: 3 });
  });

  it("stops with the service's code when a device is refused (an eSIM id this operator never issued)", async () => {
    const refused = await fleet("unknown", 1, () => "89449999999999999998");
    await assert.rejects(refused.sim.registerAll(), (e: unknown) => e instanceof ProvisioningError && e.code === "ESIM_UNKNOWN");
    assert.equal((await request(`${relayer.url}/v1/devices/${refused.sim.element(0).address}`)).body.status, "unknown");
  });
});
