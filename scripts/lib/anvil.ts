/**
 * anvil (Foundry's EVM node, an implementation independent of Hardhat's EDR) as a child process on
 * a free loopback port: for the tests that run the project on a second client, and for `npm start`
 * style use. The binary comes from npm (`@foundry-rs/anvil` and its platform package), never from
 * the network.
 *
 * Two profiles:
 * - `default`: what a public EIP-1559 chain looks like (base fee, a gas price, automine).
 * - `permissioned`: what a Hyperledger Besu QBFT network looks like: base fee 0, gas price 0, no
 *   minimum priority fee (gas costs nothing), and blocks at a fixed interval instead of one per
 *   transaction. anvil cannot refuse EIP-1559 transactions on a hardfork our contracts run on
 *   (they are compiled for Prague: PUSH0, MCOPY; anvil refuses type 2 only before London), so the
 *   legacy-only path is tested by configuration (`*_FEE_MODEL=legacy`), and a legacy-only node by a
 *   `hardfork: "berlin"` anvil that holds no contracts.
 *
 * Accounts come from Hardhat's dev mnemonic ("test test … junk", anvil's default too), so the
 * project's DEV_KEYS hold the same roles on anvil as on EDR.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { createInterface } from "node:readline";

/** Hardhat's (and anvil's) development mnemonic: DEV_KEYS are its first accounts. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Options of {@link startAnvil}. */
export interface AnvilOptions {
  chainId: number;
  /** "permissioned": base fee 0, gas price 0, no minimum priority fee, `blockTimeSeconds` default 1. */
  profile?: "default" | "permissioned";
  /** Interval mining (seconds, fractions allowed); undefined: a block per transaction (automine). */
  blockTimeSeconds?: number;
  /** Initial base fee (wei). */
  baseFee?: bigint;
  /** The gas price the node suggests and requires at least (wei). */
  gasPrice?: bigint;
  /** EVM hardfork, e.g. "prague" (no P-256 precompile) or "osaka" (EIP-7951 P256VERIFY); default anvil's latest. */
  hardfork?: string;
  /** Dev accounts (default 20, as Hardhat). */
  accounts?: number;
  /** Default 0: a free port. */
  port?: number;
  host?: string;
  /** Extra command-line arguments. */
  extraArgs?: string[];
}

/** A running anvil node. */
export interface AnvilNode {
  rpcUrl: string;
  port: number;
  chainId: number;
  /** The command line it runs with (for logs and reports). */
  args: readonly string[];
  stop(): Promise<void>;
}

/** The anvil binary of the installed `@foundry-rs/anvil` package (its platform package holds it). */
export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const platform = `@foundry-rs/anvil-${process.platform === "win32" ? "win32" : process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`;
  const pkg = path.dirname(require.resolve(`${platform}/package.json`));
  const binary = path.join(pkg, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
  if (!existsSync(binary)) throw new Error(`anvil binary missing at ${binary}: reinstall @foundry-rs/anvil (npm ci)`);
  return binary;
}

/** The command-line arguments of a node with `options`. */
export function anvilArgs(options: AnvilOptions): string[] {
  const permissioned = options.profile === "permissioned";
  const args = [
    "--host",
    options.host ?? "127.0.0.1",
    "--port",
    String(options.port ?? 0),
    "--chain-id",
    String(options.chainId),
    "--mnemonic",
    DEV_MNEMONIC,
    "--accounts",
    String(options.accounts ?? 20),
  ];
  const blockTime = options.blockTimeSeconds ?? (permissioned ? 1 : undefined);
  if (blockTime !== undefined) args.push("--block-time", String(blockTime));
  const baseFee = options.baseFee ?? (permissioned ? 0n : undefined);
  if (baseFee !== undefined) args.push("--base-fee", baseFee.toString());
  const gasPrice = options.gasPrice ?? (permissioned ? 0n : undefined);
  if (gasPrice !== undefined) args.push("--gas-price", gasPrice.toString());
  if (permissioned) args.push("--disable-min-priority-fee");
  if (options.hardfork !== undefined) args.push("--hardfork", options.hardfork);
  return [...args, ...(options.extraArgs ?? [])];
}

/**
 * Starts anvil and resolves once it listens (its "Listening on host:port" line).
 *
 * @example
 * const node = await startAnvil({ chainId: 31337, profile: "permissioned" });
 * // … node.rpcUrl …
 * await node.stop();
 */
export async function startAnvil(options: AnvilOptions): Promise<AnvilNode> {
  const args = anvilArgs(options);
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  // A test runner that exits without stop() must not leave the node running.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const port = await listeningPort(child, args);
  const host = options.host ?? "127.0.0.1";
  let stopped: Promise<void> | undefined;
  return {
    rpcUrl: `http://${host}:${port}`,
    port,
    chainId: options.chainId,
    args,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      });
      return stopped;
    },
  };
}

function listeningPort(child: ChildProcess, args: readonly string[]): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const tail: string[] = [];
    const lines = createInterface({ input: child.stdout! });
    const errors = createInterface({ input: child.stderr! });
    const keep = (line: string) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
    };
    errors.on("line", keep);
    lines.on("line", (line) => {
      keep(line);
      const match = /^Listening on .*:(\d+)\s*$/.exec(line.trim());
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("error", reject);
    child.once("exit", (code, signal) =>
      reject(new Error(`anvil ${args.join(" ")} exited (${signal ?? code}) before listening:\n${tail.join("\n")}`)),
    );
  });
}
