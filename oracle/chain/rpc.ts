/**
 * Small viem helpers shared by every service that talks to a chain over JSON-RPC.
 *
 * @module
 */
import { BaseError, ContractFunctionRevertedError, type Chain } from "viem";

/**
 * A viem `Chain` for a JSON-RPC endpoint (ETH as native currency): what a wallet client needs to
 * sign transactions for `chainId`.
 *
 * @example
 * ```ts
 * rpcChain(31338, "reward", "http://127.0.0.1:8546").rpcUrls.default.http; // ["http://127.0.0.1:8546"]
 * ```
 */
export function rpcChain(chainId: number, name: string, rpcUrl: string): Chain {
  return { id: chainId, name, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } };
}

/**
 * The custom error name of a reverted contract call (viem's `ContractFunctionRevertedError` anywhere
 * in the error's causes), or undefined.
 *
 * @example
 * ```ts
 * revertName(new Error("socket hang up")); // undefined
 * ```
 */
export function revertName(error: unknown): string | undefined {
  if (!(error instanceof BaseError)) return undefined;
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
  return reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : undefined;
}
