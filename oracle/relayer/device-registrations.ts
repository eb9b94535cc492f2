/**
 * Gas-free device registration through the relayer (docs/PROVISIONING.md, "Registration through the
 * relayer"): anyone posts an issuer's attestation and the device key's proof of possession, the relayer
 * checks them as the registry will, and only then pays for `registerWithAttestation`.
 *
 * - `POST /v1/devices/register` one `{ attestation, issuerSignature, proofOfPossession }` or an array
 *   (up to `maxBulk`): 201 `{ status: "registered", device, txHash, blockNumber }` for one; for an array 201
 *   when all were registered, else 207, with `{ registered, rejected, results: [...] }` in request order.
 * - `GET /v1/devices/:device` the registry's view of a device (status, issuer), read from the chain.
 *
 * Refusals cost no gas: the attestation is checked off-chain (oracle/core/attestation.ts, chain time,
 * the issuer's on-chain record), then the eSIM hash and the device are looked up, then the call is
 * simulated (a race or an ERC-1271 issuer is judged by the contract itself). Every code is the
 * registry's custom error under its name in oracle/core/error-codes.ts.
 *
 * Transactions come from an account of their own: the anchoring key's nonces belong to the anchorer.
 *
 * @module
 */
import express, { type Request, type Response, type Router } from "express";
import { encodeFunctionData, getAddress, isAddress, isHex, type Address, type Hex, type LocalAccount, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../chain/abis.js";
import { revertName } from "../chain/rpc.js";
import { attestationFromJson, checkAttestation, registryDomain, type DeviceAttestation } from "../core/attestation.js";
import { deviceStatusName } from "../core/device-status.js";
import { isErrorCode } from "../core/error-codes.js";
import { SensorSealError } from "../core/errors.js";
import { deviceIdFromPublicKey, keySchemeId } from "../core/keys.js";
import { handle } from "../service/app.js";
import { ConfigError, ServiceError } from "../service/errors.js";
import type { RelayerOptions } from "./relayer-options.js";

declare module "./relayer-options.js" {
  interface RelayerOptions {
    /** Gas-free device registration (oracle/relayer/device-registrations.ts); off when absent and not in the environment. */
    deviceRegistration?: DeviceRegistrationOptions;
  }
}

/** What the registration route needs. */
export interface DeviceRegistrationOptions {
  /** The DeviceRegistry. */
  registry: Address;
  /** Pays for `registerWithAttestation`: a funded key of its own (never the anchoring key). */
  account: LocalAccount | Hex;
  /** Most registrations in one request (default 100). */
  maxBulk?: number;
}

/** Environment read when {@link RelayerOptions.deviceRegistration} is absent (scripts/relayer.ts). */
export const DEVICE_REGISTRATION_ENV = { key: "DEVICE_REGISTRATION_PRIVATE_KEY", registry: "REGISTRY_ADDRESS" } as const;

/** The registry's custom errors → the same refusal's code off-chain. */
const REVERT_CODES = {
  DeviceRegistryUnknownIssuer: "ATTESTATION_UNKNOWN_ISSUER",
  DeviceRegistryIssuerRevoked: "ATTESTATION_ISSUER_REVOKED",
  DeviceRegistryAttestationNotValid: "ATTESTATION_NOT_VALID",
  DeviceRegistryInvalidAttestationSignature: "ATTESTATION_INVALID_SIGNATURE",
  DeviceRegistryEsimAlreadyUsed: "ATTESTATION_ESIM_USED",
  DeviceRegistryAlreadyRegistered: "DEVICE_ALREADY_REGISTERED",
  DeviceRegistryInvalidProofOfPossession: "ATTESTATION_INVALID_PROOF",
  DeviceRegistryInvalidPublicKey: "ATTESTATION_MALFORMED",
  DeviceRegistryZeroBeneficiary: "ATTESTATION_MALFORMED",
} as const;

/** A checked registration, ready to send. */
interface Checked {
  device: Address;
  args: readonly [ReturnType<typeof onchain>, Hex, Hex];
  gas: bigint;
}

type Outcome = { ok: true; device: Address; txHash: Hex; blockNumber: string } | { ok: false; error: ServiceError };

function onchain(a: DeviceAttestation) {
  return { ...a, scheme: keySchemeId(a.scheme) };
}

function options(relayer: RelayerOptions, env: NodeJS.ProcessEnv): DeviceRegistrationOptions | undefined {
  if (relayer.deviceRegistration !== undefined) return relayer.deviceRegistration;
  const key = env[DEVICE_REGISTRATION_ENV.key];
  if (key === undefined || key === "") return undefined;
  const registry = env[DEVICE_REGISTRATION_ENV.registry];
  const issues: string[] = [];
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) issues.push(`${DEVICE_REGISTRATION_ENV.key} must be 0x + 64 hex digits`);
  if (registry === undefined || !isAddress(registry))
    issues.push(`${DEVICE_REGISTRATION_ENV.registry} must be the DeviceRegistry's address`);
  if (issues.length > 0) throw new ConfigError("relayer: device registration is misconfigured", issues);
  return { registry: getAddress(registry!), account: key as Hex };
}

/**
 * Adds the registration routes to the relayer's router (answers 501 REGISTRATION_DISABLED when no
 * registration account is configured).
 *
 * @example
 * router: withDeviceRegistrations(relayerRouter({ … }), options),
 */
export function withDeviceRegistrations(router: Router, relayer: RelayerOptions, env: NodeJS.ProcessEnv = process.env): Router {
  const settings = options(relayer, env);
  const devices = express.Router();
  if (settings === undefined) {
    devices.all(["/v1/devices/register", "/v1/devices/:device"], () => {
      throw new ServiceError("REGISTRATION_DISABLED", `this relayer registers no devices (set ${DEVICE_REGISTRATION_ENV.key})`);
    });
  } else {
    const registrations = new DeviceRegistrations(relayer.chain.publicClient, relayer.chain.chainId, settings);
    devices.post(
      "/v1/devices/register",
      handle((req, res) => registrations.handle(req, res)),
    );
    devices.get(
      "/v1/devices/:device",
      handle((req, res) => registrations.device(req, res)),
    );
  }
  router.use(devices);
  return router;
}

/** Checks and sends registrations; one sender at a time holds the account's nonces. */
export class DeviceRegistrations {
  readonly #client: PublicClient;
  readonly #registry: Address;
  readonly #account: LocalAccount;
  readonly #domain: ReturnType<typeof registryDomain>;
  readonly #maxBulk: number;
  #sending: Promise<unknown> = Promise.resolve();

  constructor(client: PublicClient, chainId: number, o: DeviceRegistrationOptions) {
    this.#client = client;
    this.#registry = getAddress(o.registry);
    this.#account = typeof o.account === "string" ? privateKeyToAccount(o.account) : o.account;
    this.#domain = registryDomain(chainId, this.#registry);
    this.#maxBulk = o.maxBulk ?? 100;
  }

  async handle(req: Request, res: Response): Promise<void> {
    const body: unknown = req.body;
    const bulk = Array.isArray(body);
    const items = bulk ? body : [body];
    if (items.length === 0) throw new ServiceError("EMPTY_BULK", "no registrations in the array");
    if (items.length > this.#maxBulk) throw new ServiceError("INVALID_BODY", `at most ${this.#maxBulk} registrations per request`);
    const outcomes = await this.register(items);
    if (!bulk) {
      const [one] = outcomes;
      if (!one!.ok) throw one!.error;
      res.status(201).json(answer(one!));
      return;
    }
    const registered = outcomes.filter((o) => o.ok).length;
    res
      .status(registered === items.length ? 201 : 207)
      .json({ registered, rejected: items.length - registered, results: outcomes.map(answer) });
  }

  async device(req: Request, res: Response): Promise<void> {
    const device = String(req.params.device);
    if (!isAddress(device, { strict: false })) throw new ServiceError("INVALID_PARAMETER", "device must be an address");
    const [status, issuer] = await Promise.all([
      this.#read("statusOf", [getAddress(device)]) as Promise<number>,
      this.#read("issuerOf", [getAddress(device)]) as Promise<Address>,
    ]);
    res.json({ device: getAddress(device), status: deviceStatusName(Number(status)), issuer: BigInt(issuer) === 0n ? null : issuer });
  }

  /** Checks every item, then sends the accepted ones back to back and awaits them together. */
  async register(items: readonly unknown[]): Promise<Outcome[]> {
    const now = Number((await this.#client.getBlock({ blockTag: "latest" })).timestamp);
    const claimed = new Set<string>();
    const checked: (Checked | ServiceError)[] = [];
    for (const item of items) checked.push(await this.#check(item, now, claimed).catch(refusal));
    const run = this.#sending.then(() => this.#send(checked));
    this.#sending = run.catch(() => undefined);
    return run;
  }

  async #check(item: unknown, now: number, claimed: Set<string>): Promise<Checked> {
    const { attestation, issuerSignature, proofOfPossession } = parse(item);
    const record = (await this.#read("getIssuer", [attestation.issuer])) as { addedAt: number; revokedAt: number };
    const issuer = Number(record.addedAt) === 0 ? undefined : { addedAt: Number(record.addedAt), revokedAt: Number(record.revokedAt) };
    const device = await checkAttestation({ domain: this.#domain, attestation, issuerSignature, proofOfPossession, now, issuer });
    const [used, status] = await Promise.all([this.#read("isEsimUsed", [attestation.esimHash]), this.#read("statusOf", [device])]);
    // Twice in one request counts as a replay too.
    if (used === true || claimed.has(attestation.esimHash))
      throw new ServiceError("ATTESTATION_ESIM_USED", "this eSIM's attestation was already used to register a device", {
        esimHash: attestation.esimHash,
      });
    if (Number(status) !== 0 || claimed.has(device))
      throw new ServiceError("DEVICE_ALREADY_REGISTERED", `device ${device} is already registered`, { device });
    claimed.add(attestation.esimHash).add(device);
    const args = [onchain(attestation), issuerSignature, proofOfPossession] as const;
    let gas: bigint;
    try {
      gas = await this.#client.estimateContractGas({
        account: this.#account,
        address: this.#registry,
        abi: deviceRegistryAbi,
        functionName: "registerWithAttestation",
        args,
      });
    } catch (error) {
      throw fromRevert(error, device);
    }
    return { device, args, gas: (gas * 12n) / 10n };
  }

  async #send(checked: readonly (Checked | ServiceError)[]): Promise<Outcome[]> {
    const { chainId } = this.#domain;
    let nonce = await this.#client.getTransactionCount({ address: this.#account.address, blockTag: "pending" });
    const fees = await this.#client.estimateFeesPerGas().catch(() => undefined);
    const sent = await Promise.all(
      checked.map(async (c): Promise<Outcome | { device: Address; hash: Hex }> => {
        if (c instanceof ServiceError) return { ok: false, error: c };
        const data = encodeFunctionData({ abi: deviceRegistryAbi, functionName: "registerWithAttestation", args: c.args });
        const priced =
          fees?.maxFeePerGas === undefined
            ? { type: "legacy" as const, gasPrice: await this.#client.getGasPrice() }
            : { type: "eip1559" as const, maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
        const raw = await this.#account.signTransaction({
          chainId,
          to: this.#registry,
          data,
          nonce: nonce++,
          gas: c.gas,
          value: 0n,
          ...priced,
        });
        try {
          return { device: c.device, hash: await this.#client.sendRawTransaction({ serializedTransaction: raw }) };
        } catch (cause) {
          return {
            ok: false,
            error: new ServiceError(
              "REGISTRATION_FAILED",
              "the registration transaction was not accepted",
              { device: c.device },
              { cause },
            ),
          };
        }
      }),
    );
    return Promise.all(
      sent.map(async (s): Promise<Outcome> => {
        if ("ok" in s) return s;
        const receipt = await this.#client.waitForTransactionReceipt({ hash: s.hash, pollingInterval: 100 });
        if (receipt.status === "success")
          return { ok: true, device: s.device, txHash: s.hash, blockNumber: receipt.blockNumber.toString() };
        return {
          ok: false,
          error: new ServiceError("REGISTRATION_FAILED", "the registration transaction reverted", { device: s.device, txHash: s.hash }),
        };
      }),
    );
  }

  #read(functionName: "getIssuer" | "isEsimUsed" | "statusOf" | "issuerOf", args: readonly unknown[]): Promise<unknown> {
    return this.#client
      .readContract({ address: this.#registry, abi: deviceRegistryAbi, functionName, args } as never)
      .catch((cause: unknown) => {
        throw new ServiceError("REGISTRY_UNAVAILABLE", "the registry cannot be read", {}, { cause });
      });
  }
}

function parse(item: unknown): { attestation: DeviceAttestation; issuerSignature: Hex; proofOfPossession: Hex } {
  const o = item as { attestation?: unknown; issuerSignature?: unknown; proofOfPossession?: unknown } | null;
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw new ServiceError("INVALID_BODY", "a registration is { attestation, issuerSignature, proofOfPossession }");
  const attestation = attestationFromJson(o.attestation);
  for (const [name, value] of [
    ["issuerSignature", o.issuerSignature],
    ["proofOfPossession", o.proofOfPossession],
  ] as const) {
    if (typeof value !== "string" || !isHex(value) || value.length < 4 || value.length > 2 + 2 * 4096)
      throw new ServiceError("ATTESTATION_MALFORMED", `${name} must be 0x-prefixed hex bytes`);
  }
  // The device id is derived here too, so a malformed key is refused before any read.
  deviceIdFromPublicKey(attestation.publicKey);
  return { attestation, issuerSignature: o.issuerSignature as Hex, proofOfPossession: o.proofOfPossession as Hex };
}

function fromRevert(error: unknown, device: Address): ServiceError {
  const name = revertName(error);
  const code = name === undefined ? undefined : REVERT_CODES[name as keyof typeof REVERT_CODES];
  if (code !== undefined) return new ServiceError(code, `the registry refuses this registration (${name})`, { device, error: name });
  return new ServiceError(
    "REGISTRATION_FAILED",
    `the registration cannot be simulated${name ? ` (${name})` : ""}`,
    { device },
    { cause: error },
  );
}

/** Any refusal as a ServiceError: the core's typed errors keep their code. */
function refusal(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error instanceof SensorSealError) {
    if (isErrorCode(error.code)) return ServiceError.of(error.code, error.shortMessage, error.details, { cause: error });
    return ServiceError.fromInput(error);
  }
  throw error;
}

function answer(o: Outcome): Record<string, unknown> {
  if (o.ok) return { status: "registered", device: o.device, txHash: o.txHash, blockNumber: o.blockNumber };
  return { status: "rejected", error: { ...o.error.body().error, status: o.error.status } };
}
