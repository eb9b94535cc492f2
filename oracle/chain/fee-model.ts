/**
 * A chain's fee model, detected once at start-up, and the fees of each transaction under it.
 *
 * Public Ethereum prices gas with EIP-1559 (a base fee that moves, a priority fee on top); the
 * permissioned chains an audit chain runs on differ: Hyperledger Besu QBFT networks run with a zero
 * base fee and a minimum gas price of 0 (gas costs nothing, accounts may hold no ether), GoQuorum
 * and pre-London chains accept only legacy transactions. A sender that assumes one of these breaks
 * on the others, so services detect the model before they send anything:
 *
 * | kind          | detected when                                | transactions                              |
 * |---------------|----------------------------------------------|-------------------------------------------|
 * | `eip1559`     | the latest block has a base fee > 0          | type 2, maxFee = 2 × next base fee + tip  |
 * | `eip1559-tip` | base fee 0, `eth_gasPrice` > 0               | type 2, maxFee = tip (only the tip costs) |
 * | `legacy`      | no base fee in blocks (or the setting says)  | type 0, gasPrice = `eth_gasPrice`         |
 * | `free`        | base fee 0 (or none) and `eth_gasPrice` = 0  | type 2 (or 0 on a legacy chain), all fees 0 |
 *
 * Under `free` a fee bump cannot raise anything (12.5 % of 0 is 0): a stuck transaction is sent again
 * as it is ({@link nextFees} answers undefined).
 *
 * Faults are start-up errors ({@link FeeModelError}) that name the setting to change, and nothing is
 * sent: another chain id than configured, an EIP-1559 chain whose node lacks `eth_feeHistory` or
 * `eth_maxPriorityFeePerGas`, a node that refuses the transaction type (probed with `eth_call`,
 * which sends nothing). No node built-ins: the browser's claim page uses it too.
 *
 * @module
 */
import type { Address, PublicClient } from "viem";

import { SensorSealError } from "../core/errors.js";

/** How a service is told to price transactions: detect, or force one transaction type. */
export type FeeModelSetting = "auto" | "eip1559" | "legacy";

/** The fee models a chain can have (see the module's table). */
export type FeeModelKind = "eip1559" | "eip1559-tip" | "legacy" | "free";

/** A detected fee model. */
export interface FeeModel {
  kind: FeeModelKind;
  /** The transaction type services sign. */
  txType: "eip1559" | "legacy";
  chainId: number;
  /** One line for logs, e.g. "free (EIP-1559 transactions, base fee 0, gas price 0)". */
  description: string;
}

/** The fee fields of one transaction (spread them into viem's `writeContract` or `signTransaction`). */
export type TxFees = { type: "eip1559"; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { type: "legacy"; gasPrice: bigint };

/** The chain's fee model cannot be used as configured: start-up stops, nothing was sent. */
export class FeeModelError extends SensorSealError {
  override name = "FeeModelError" as const;
  declare readonly code: "FEE_MODEL";
  constructor(message: string, details: { rpcUrl?: string; setting: string; chainId?: number; method?: string }, cause?: unknown) {
    super("FEE_MODEL", message, { details, cause });
  }
}

/** Options of {@link detectFeeModel}. */
export interface DetectFeeModelOptions {
  /** Refuse a chain with another id. */
  expectedChainId?: number;
  /** Default "auto". */
  setting?: FeeModelSetting;
  /** The account that will send (the type probe calls from it). */
  from: Address;
  /**
   * The environment variable names to put in error messages, e.g. `{ feeModel: "AUDIT_FEE_MODEL",
   * chainId: "AUDIT_CHAIN_ID", rpcUrl: "AUDIT_RPC_URL" }`.
   */
  settingNames?: { feeModel?: string; chainId?: string; rpcUrl?: string };
}

/** JSON-RPC "method not found" (EIP-1474), and the texts nodes answer with for it. */
const METHOD_MISSING = /method not found|does not exist|not available|not supported|unsupported method|unknown method/i;

function rpcCode(error: unknown): number | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++)
    if (typeof e.code === "number") return e.code;
  return undefined;
}

function errorText(error: unknown): string {
  const parts: string[] = [];
  for (
    let e = error as { message?: unknown; details?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 8;
    e = e.cause as typeof e, i++
  )
    for (const v of [e.message, e.details]) if (typeof v === "string") parts.push(v);
  return parts.join(" | ");
}

/** Whether a failed call means the node does not implement the method. */
export function isMethodMissing(error: unknown): boolean {
  return rpcCode(error) === -32601 || METHOD_MISSING.test(errorText(error));
}

const rpc = (client: PublicClient, method: string, params: unknown[]): Promise<unknown> =>
  client.request({ method, params } as never) as Promise<unknown>;

/**
 * Detects the chain's fee model (see the module's table) and checks that the node serves what its
 * pricing needs and accepts its transaction type. Sends nothing.
 *
 * @throws {FeeModelError} a chain id other than `expectedChainId`; `eth_feeHistory` or
 *   `eth_maxPriorityFeePerGas` missing on an EIP-1559 chain; `eth_gasPrice` missing; the node
 *   refusing the transaction type.
 * @example
 * const model = await detectFeeModel(client, { from: account.address, expectedChainId: 31337 });
 * logger.info({ feeModel: model.kind }, `fee model: ${model.description}`);
 */
export async function detectFeeModel(client: PublicClient, options: DetectFeeModelOptions): Promise<FeeModel> {
  const setting = options.setting ?? "auto";
  const names = { feeModel: "FEE_MODEL", chainId: "CHAIN_ID", rpcUrl: "RPC_URL", ...options.settingNames };
  const rpcUrl = (client.transport as { url?: string }).url;
  const fail = (message: string, extra: { method?: string; chainId?: number } = {}, cause?: unknown): never => {
    throw new FeeModelError(message, { ...(rpcUrl === undefined ? {} : { rpcUrl }), setting: names.feeModel, ...extra }, cause);
  };

  const chainId = await client.getChainId();
  if (options.expectedChainId !== undefined && chainId !== options.expectedChainId)
    fail(
      `${names.chainId}=${options.expectedChainId} but ${names.rpcUrl} serves chain ${chainId}: fix ${names.chainId} or ${names.rpcUrl}`,
      {
        chainId,
      },
    );
  const block = await client.getBlock({ blockTag: "latest" });
  const baseFee = block.baseFeePerGas;
  const needs = async (method: string, params: unknown[], fix: string): Promise<unknown> => {
    try {
      return await rpc(client, method, params);
    } catch (error) {
      if (isMethodMissing(error)) return fail(`the node at ${names.rpcUrl} does not support ${method}: ${fix}`, { method, chainId }, error);
      throw error;
    }
  };
  const gasPrice = BigInt((await needs("eth_gasPrice", [], "use a node with the standard eth API")) as string);

  let txType: FeeModel["txType"];
  if (setting === "legacy" || (setting === "auto" && baseFee === null)) txType = "legacy";
  else if (baseFee === null)
    return fail(`the chain has no EIP-1559 base fee, but ${names.feeModel}=${setting}: set ${names.feeModel}=legacy (or auto)`, {
      chainId,
    });
  else txType = "eip1559";

  let nextBaseFee = 0n;
  if (txType === "eip1559") {
    const legacyFix = `set ${names.feeModel}=legacy to price transactions with eth_gasPrice`;
    const history = (await needs("eth_feeHistory", ["0x1", "latest", []], legacyFix)) as { baseFeePerGas?: string[] };
    await needs("eth_maxPriorityFeePerGas", [], legacyFix);
    nextBaseFee = BigInt(history.baseFeePerGas?.at(-1) ?? baseFee ?? 0n);
  }
  await probeType(client, options.from, txType, fail, names.feeModel, chainId);

  const free = gasPrice === 0n && nextBaseFee === 0n;
  const kind: FeeModelKind = free ? "free" : txType === "legacy" ? "legacy" : nextBaseFee === 0n ? "eip1559-tip" : "eip1559";
  const types = txType === "legacy" ? "legacy transactions" : "EIP-1559 transactions";
  const description =
    txType === "legacy"
      ? `${kind} (${types}, gas price ${gasPrice})`
      : `${kind} (${types}, base fee ${nextBaseFee}, gas price ${gasPrice})`;
  return { kind, txType, chainId, description };
}

/** Calls (never sends) with the type's fee fields: a node that refuses the type refuses the call. */
async function probeType(
  client: PublicClient,
  from: Address,
  txType: FeeModel["txType"],
  fail: (message: string, extra?: { method?: string; chainId?: number }, cause?: unknown) => never,
  settingName: string,
  chainId: number,
): Promise<void> {
  const fees = txType === "eip1559" ? { type: "0x2", maxFeePerGas: "0x0", maxPriorityFeePerGas: "0x0" } : { type: "0x0", gasPrice: "0x0" };
  try {
    await rpc(client, "eth_call", [{ from, to: from, value: "0x0", ...fees }, "latest"]);
  } catch (error) {
    const other = txType === "eip1559" ? "legacy" : "eip1559";
    fail(
      `the node refuses ${txType === "eip1559" ? "EIP-1559" : "legacy"} transactions (${errorText(error).split("\n")[0]}): set ${settingName}=${other}`,
      { method: "eth_call", chainId },
      error,
    );
  }
}

/**
 * The fees of a transaction sent now under `model`: EIP-1559 with room for the base fee to double,
 * legacy at the node's gas price, zeros when gas is free. `cap` bounds maxFeePerGas (or gasPrice).
 *
 * @example const fees = await currentFees(client, model); await wallet.writeContract({ ...request, ...fees });
 */
export async function currentFees(client: PublicClient, model: FeeModel, cap?: bigint): Promise<TxFees> {
  const capped = (x: bigint) => (cap !== undefined && x > cap ? cap : x);
  if (model.kind === "free") return model.txType === "legacy" ? { type: "legacy", gasPrice: 0n } : zeroEip1559();
  if (model.txType === "legacy") return { type: "legacy", gasPrice: capped(await client.getGasPrice()) };
  const [history, tip] = await Promise.all([
    rpc(client, "eth_feeHistory", ["0x1", "latest", []]) as Promise<{ baseFeePerGas: string[] }>,
    client.estimateMaxPriorityFeePerGas(),
  ]);
  const baseFee = BigInt(history.baseFeePerGas.at(-1) ?? "0x0");
  const maxFeePerGas = capped(baseFee * 2n + tip);
  return { type: "eip1559", maxFeePerGas, maxPriorityFeePerGas: tip > maxFeePerGas ? maxFeePerGas : tip };
}

const zeroEip1559 = (): TxFees => ({ type: "eip1559", maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });

/**
 * The fee of a replacement transaction: ceil(x × 1.125), and at least x + 1 (nodes want ≥ 10 %).
 *
 * @example
 * bumpFee(1_000_000_000n); // 1_125_000_000n
 */
export function bumpFee(x: bigint): bigint {
  const bumped = x + (x + 7n) / 8n;
  return bumped > x ? bumped : x + 1n;
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/**
 * The fees of a replacement for a stuck transaction: each raised by ≥ 12.5 % and to at least the
 * current price. Undefined under the `free` model: nothing can be raised (12.5 % of 0 is 0, and an
 * account on a free-gas chain may hold no ether to pay 1 wei), so the caller sends the same signed
 * transaction again instead.
 *
 * @example nextFees(model, { type: "legacy", gasPrice: 100n }, { type: "legacy", gasPrice: 90n }); // { type: "legacy", gasPrice: 113n }
 */
export function nextFees(model: FeeModel, old: TxFees, now: TxFees): TxFees | undefined {
  if (model.kind === "free") return undefined;
  if (old.type === "legacy" || now.type === "legacy") {
    const oldPrice = old.type === "legacy" ? old.gasPrice : old.maxFeePerGas;
    const nowPrice = now.type === "legacy" ? now.gasPrice : now.maxFeePerGas;
    return { type: "legacy", gasPrice: maxBig(bumpFee(oldPrice), nowPrice) };
  }
  const maxPriorityFeePerGas = maxBig(bumpFee(old.maxPriorityFeePerGas), now.maxPriorityFeePerGas);
  const maxFeePerGas = maxBig(maxBig(bumpFee(old.maxFeePerGas), now.maxFeePerGas), maxPriorityFeePerGas);
  return { type: "eip1559", maxFeePerGas, maxPriorityFeePerGas };
}

/** The largest per-gas price of `fees` (what a fee cap bounds). */
export function maxPricePerGas(fees: TxFees): bigint {
  return fees.type === "legacy" ? fees.gasPrice : fees.maxFeePerGas;
}
