/**
 * Registers simulated (or provisioned) devices on the audit chain's DeviceRegistry with the
 * registrar key: a callback for {@link Simulator}'s `register` option.
 *
 * Devices already registered (any status but Unknown) are skipped, so a re-run costs only the
 * status reads (batched JSON-RPC). New registrations of a batch are sent back to back with
 * consecutive nonces, then awaited together.
 *
 * @module
 */
import {
  createPublicClient,
  createWalletClient,
  http,
  toHex,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../chain/abis.js";
import { currentFees, detectFeeModel } from "../chain/fee-model.js";
import { rpcChain } from "../chain/rpc.js";
import { SensorSealError } from "../core/errors.js";
import { keySchemeId, type KeyScheme } from "../core/keys.js";

/**
 * What registering needs of a device: a {@link SecureElement} has these, so does a simulated
 * device's identity. `index` picks the beneficiary from a list (default: the position in the call).
 */
export type RegistrableDevice = { scheme: KeyScheme; address: Address; publicKey: Uint8Array; index?: number };

/** A registration transaction failed or reverted. */
export class RegistrationError extends SensorSealError {
  override name = "RegistrationError" as const;
  declare readonly code: "REGISTRATION_FAILED";
  constructor(device: Address, reason: string, options: { cause?: unknown } = {}) {
    super("REGISTRATION_FAILED", `Registering ${device} failed: ${reason}.`, { details: { device, reason }, cause: options.cause });
  }
}

/** Options of {@link createChainRegistrar}. */
export type ChainRegistrarOptions = {
  rpcUrl: string;
  registry: Address;
  /** The registrar's private key (REGISTRAR_ROLE). */
  privateKey: Hex;
  /**
   * Who earns the devices' rewards (default the registrar's address); a list assigns device `i`
   * the beneficiary `i mod length` (several contributors in a simulation).
   */
  beneficiary?: Address | readonly Address[];
  /** Metadata hash stored with each device (default zero). */
  metadataHash?: Hex;
  /** Called after each batch with how many were registered and skipped. */
  onProgress?: (progress: { registered: number; skipped: number }) => void;
  /**
   * `"auto"`: each transaction is mined as the node sees fit (a real network). `"manual"` (local
   * dev chains, default when the node is Hardhat or Anvil): automining is paused while a batch is
   * sent, then the batch is mined in as few blocks as fit (`evm_mine`), so registering many
   * devices does not push the chain's clock ahead of the wall clock by a second per device.
   */
  mining?: "auto" | "manual";
  /**
   * Whether a registering call also waits until the wall clock is past the block that registered
   * its devices (default true), so a reading stamped right after the call is not refused as
   * signed before its device was active. Costs at most about a second per call on a chain that
   * keeps time; set false to call {@link ChainRegistrar.settle} yourself once after many calls.
   */
  awaitClock?: boolean;
};

/**
 * Registers devices (skipping registered ones) and, unless `awaitClock: false`, returns once a
 * reading stamped now is after their registration. Also a callback for {@link Simulator}'s
 * `register` option, with its counters.
 */
export type ChainRegistrar = ((devices: readonly RegistrableDevice[]) => Promise<void>) & {
  readonly registered: number;
  readonly skipped: number;
  /**
   * Waits until the wall clock is past the chain's latest block time (at most `maxWaitMs`,
   * default 10 minutes). Devices stamp readings with the wall clock and a reading stamped before
   * its device's registration block is refused (not active yet); a local dev chain that mined
   * many registration blocks in a burst runs ahead of the wall clock by a second per block.
   * Answers the seconds waited.
   */
  settle(maxWaitMs?: number): Promise<number>;
};

/**
 * A registrar: registers devices on the audit chain's DeviceRegistry with the registrar key
 * (`npm start` prints the local one). A key-file device registers as it is.
 *
 * @throws {RegistrationError} (from the callback) when a registration reverts.
 * @example
 * ```ts
 * const register = await createChainRegistrar({
 *   rpcUrl: "http://127.0.0.1:8545", registry, privateKey: process.env.REGISTRAR_PRIVATE_KEY as `0x${string}`,
 * });
 * await register([element]); // a SecureElement; returns once a reading stamped now is accepted
 * const sim = await Simulator.create({ ...options, register }); // or a simulated fleet
 * ```
 */
export async function createChainRegistrar(options: ChainRegistrarOptions): Promise<ChainRegistrar> {
  const transport = http(options.rpcUrl, { batch: { batchSize: 200 }, retryCount: 3 });
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const chain = rpcChain(chainId, `audit-${chainId}`, options.rpcUrl);
  const account = privateKeyToAccount(options.privateKey);
  const ctx: SendContext = {
    publicClient,
    wallet: createWalletClient({ account, chain, transport }),
    registry: options.registry,
    beneficiaries: [options.beneficiary ?? account.address].flat(),
    metadataHash: options.metadataHash ?? (`0x${"00".repeat(32)}` as Hex),
  };
  let registered = 0;
  let skipped = 0;
  const rpc = (method: string, params: unknown[]): Promise<unknown> =>
    publicClient.request({ method, params } as never) as Promise<unknown>;
  const clientVersion = String(await rpc("web3_clientVersion", []).catch(() => ""));
  const manual = (options.mining ?? (/hardhat|anvil/i.test(clientVersion) ? "manual" : "auto")) === "manual";

  const register = async (devices: readonly RegistrableDevice[]): Promise<void> => {
    const statuses = await Promise.all(
      devices.map((d) =>
        publicClient.readContract({ address: options.registry, abi: deviceRegistryAbi, functionName: "statusOf", args: [d.address] }),
      ),
    );
    const fresh = devices.filter((_, i) => Number(statuses[i]) === 0);
    skipped += devices.length - fresh.length;
    if (fresh.length > 0) {
      if (manual) await rpc("evm_setAutomine", [false]);
      let sent: SentRegistration[] = [];
      try {
        sent = await sendRegistrations(ctx, fresh);
        if (manual) await mineUntilIncluded(rpc, publicClient, sent.length);
      } finally {
        if (manual) await rpc("evm_setAutomine", [true]);
      }
      const receipts = await Promise.all(
        sent.map((s) => publicClient.waitForTransactionReceipt({ hash: s.hash, pollingInterval: manual ? 50 : 1000 })),
      );
      receipts.forEach((receipt, i) => {
        if (receipt.status !== "success") throw new RegistrationError(sent[i]!.device.address, "transaction reverted");
      });
      registered += fresh.length;
      if (options.awaitClock ?? true) await settle();
    }
    options.onProgress?.({ registered, skipped });
  };
  async function settle(maxWaitMs = 600_000): Promise<number> {
    const latest = Number((await publicClient.getBlock({ blockTag: "latest" })).timestamp);
    const started = Date.now();
    while (Math.floor(Date.now() / 1000) <= latest && Date.now() - started < maxWaitMs) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return (Date.now() - started) / 1000;
  }
  return Object.defineProperties(register, {
    registered: { get: () => registered },
    skipped: { get: () => skipped },
    settle: { value: settle },
  }) as ChainRegistrar;
}

interface SendContext {
  publicClient: PublicClient;
  wallet: WalletClient<Transport, Chain, Account>;
  registry: Address;
  beneficiaries: readonly Address[];
  metadataHash: Hex;
}

interface SentRegistration {
  device: RegistrableDevice;
  hash: Hex;
}

/** Signs and sends one `registerDevice` per device with consecutive nonces, without waiting for blocks. */
async function sendRegistrations(ctx: SendContext, devices: readonly RegistrableDevice[]): Promise<SentRegistration[]> {
  const { publicClient, wallet, registry } = ctx;
  const account = wallet.account;
  let nonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
  // Priced by the chain's fee model (EIP-1559, free gas or legacy-only), as the services price theirs.
  const fees = await currentFees(publicClient, await detectFeeModel(publicClient, { from: account.address }));
  const gasByScheme = new Map<number, bigint>();
  const sent: SentRegistration[] = [];
  for (const [position, device] of devices.entries()) {
    const beneficiary = ctx.beneficiaries[(device.index ?? position) % ctx.beneficiaries.length]!;
    const args = [keySchemeId(device.scheme), toHex(device.publicKey), beneficiary, ctx.metadataHash] as const;
    try {
      // One gas estimate per scheme and batch (the cost does not depend on the key), with headroom.
      let gas = gasByScheme.get(args[0]);
      if (gas === undefined) {
        const estimate = await publicClient.estimateContractGas({
          account,
          address: registry,
          abi: deviceRegistryAbi,
          functionName: "registerDevice",
          args,
        });
        gas = (estimate * 13n) / 10n;
        gasByScheme.set(args[0], gas);
      }
      const hash = await wallet.writeContract({
        address: registry,
        abi: deviceRegistryAbi,
        functionName: "registerDevice",
        args,
        nonce: nonce++,
        gas,
        ...fees,
      });
      sent.push({ device, hash });
    } catch (cause) {
      throw new RegistrationError(device.address, (cause as { shortMessage?: string }).shortMessage ?? String(cause), { cause });
    }
  }
  return sent;
}

/** Mines until every sent registration is in a block (a full block leaves the rest pending). */
async function mineUntilIncluded(rpc: (method: string, params: unknown[]) => Promise<unknown>, publicClient: PublicClient, sent: number) {
  for (let round = 0; round < sent + 1; round++) {
    await rpc("evm_mine", []);
    const pending = await publicClient.getBlock({ blockTag: "pending" }).catch(() => undefined);
    if (pending === undefined || pending.transactions.length === 0) break;
  }
}
