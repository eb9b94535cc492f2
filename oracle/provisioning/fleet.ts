/**
 * Provisioning a simulated fleet (`npm start`): a `register` callback for the Simulator that takes each
 * device through the operator's provisioning service and the relayer's gas-free registration, one
 * bulk request to each per batch, instead of a central registrar.
 *
 * Devices already registered are skipped (one batched status read). On a local dev chain (Hardhat,
 * anvil) automining is paused during a batch and one block is mined per second instead, so
 * registering hundreds of devices does not push the chain clock ahead of the wall clock by a second
 * per transaction (readings stamped before their device's registration block are refused).
 *
 * @module
 */
import { createPublicClient, http, type Address, type PublicClient } from "viem";

import { deviceRegistryAbi } from "../chain/abis.js";
import type { SecureElement } from "../device/secure-element.js";
import type { DeviceIdentity } from "../device/simulator-options.js";
import { provisionDevices, ProvisioningError } from "./client.js";

/** Options of {@link createProvisioningRegistrar}. */
export type ProvisioningRegistrarOptions = {
  provisioningUrl: string;
  relayerUrl: string;
  /** The audit chain (status reads; block mining on a dev chain). */
  rpcUrl: string;
  registry: Address;
  /** Device `i`'s element (the simulator's). */
  element(index: number): SecureElement;
  /** Device `i`'s eSIM id (issued by the provisioning service's operator). */
  esimId(index: number): string;
  /** Device `i` earns for `beneficiaries[i mod length]`. */
  beneficiaries: readonly Address[];
  onProgress?: (progress: { registered: number; skipped: number }) => void;
};

/**
 * A Simulator `register` callback that provisions through the services, plus `settle` (as the chain
 * registrar's).
 *
 * @throws {ProvisioningError} (from the callback) when a device is refused.
 * @example
 * let sim: Simulator;
 * const register = await createProvisioningRegistrar({ provisioningUrl, relayerUrl, rpcUrl, registry,
 *   element: (i) => sim.element(i), esimId: (i) => `SIM-${i}`, beneficiaries: [contributor] });
 * sim = await Simulator.create({ ...options, register });
 */
export async function createProvisioningRegistrar(o: ProvisioningRegistrarOptions) {
  const client = createPublicClient({ transport: http(o.rpcUrl, { batch: { batchSize: 200 } }) }) as PublicClient;
  const rpc = (method: string, params: unknown[] = []) => client.request({ method, params } as never) as Promise<unknown>;
  const devChain = /hardhat|anvil/i.test(String(await rpc("web3_clientVersion").catch(() => "")));
  let registered = 0;
  let skipped = 0;

  const register = async (devices: DeviceIdentity[]): Promise<void> => {
    for (let start = 0; start < devices.length; start += 100) {
      const batch = devices.slice(start, start + 100);
      const statuses = await Promise.all(
        batch.map((d) => client.readContract({ address: o.registry, abi: deviceRegistryAbi, functionName: "statusOf", args: [d.address] })),
      );
      const fresh = batch.filter((_, i) => Number(statuses[i]) === 0);
      skipped += batch.length - fresh.length;
      if (fresh.length > 0) {
        const results = await whileMining(devChain, rpc, () =>
          provisionDevices(
            fresh.map((d) => ({
              element: o.element(d.index),
              esimId: o.esimId(d.index),
              beneficiary: o.beneficiaries[d.index % o.beneficiaries.length]!,
            })),
            o,
          ),
        );
        const refused = results.find((r) => !r.ok);
        if (refused !== undefined && !refused.ok)
          throw new ProvisioningError(refused.error.code, `${refused.device}: ${refused.step} refused: ${refused.error.shortMessage}`);
        registered += fresh.length;
      }
      o.onProgress?.({ registered, skipped });
    }
  };
  const settle = async (maxWaitMs = 600_000): Promise<number> => {
    const latest = Number((await client.getBlock({ blockTag: "latest" })).timestamp);
    const started = Date.now();
    while (Math.floor(Date.now() / 1000) <= latest && Date.now() - started < maxWaitMs) await new Promise((r) => setTimeout(r, 100));
    return (Date.now() - started) / 1000;
  };
  return Object.assign(register, { settle, counts: () => ({ registered, skipped }) });
}

/** Runs `work`; on a dev chain with automining paused and a block mined each second meanwhile. */
async function whileMining<T>(
  devChain: boolean,
  rpc: (method: string, params?: unknown[]) => Promise<unknown>,
  work: () => Promise<T>,
): Promise<T> {
  if (!devChain) return work();
  await rpc("evm_setAutomine", [false]);
  const timer = setInterval(() => void rpc("evm_mine").catch(() => undefined), 1000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await rpc("evm_setAutomine", [true]);
  }
}
