/**
 * SensorSeal verifier CLI: checks raw data against the audit chain, trusting only the RPC endpoint.
 *
 *   npx tsx scripts/verify.ts reading <device> <seq>
 *   npx tsx scripts/verify.ts device <device> [--from <unix s>] [--to <unix s>]
 *   npx tsx scripts/verify.ts all
 *   npx tsx scripts/verify.ts batch <batchId>
 *   npx tsx scripts/verify.ts bundle export <device> <seq> [-o file]
 *   npx tsx scripts/verify.ts bundle check <file> --rpc <url>
 *
 * `bundle export` writes a batch proof, else the reading's direct submission (`ReadingSubmitted`), else
 * (a CENSORED verdict, with --receipts) the censorship evidence; `bundle check` exits 0 when the bundle
 * holds: status VERIFIED for a proof, CENSORED for censorship evidence (docs/TRUST-MODEL.md §11).
 *
 * Options (environment in brackets):
 *   --rpc <url>          audit-chain JSON-RPC [AUDIT_RPC_URL] (default http://127.0.0.1:8545)
 *   --anchor <address>   ReadingAnchor [ANCHOR_ADDRESS] (default: the deployment file of the chain)
 *   --deploy-block <n>   first block to read events from [DEPLOY_BLOCK] (default: deployment file, else 0)
 *   --platform <url>     data platform [PLATFORM_URL] (default http://127.0.0.1:8080)
 *   --api-key-file <f>   file holding the platform consumer API key [PLATFORM_API_KEY: the key itself]
 *                        (there is no --api-key: a key on the command line shows in process listings)
 *   --relayer <url>      relayer [RELAYER_URL] (default http://127.0.0.1:8547)
 *   --manifest <file>    extra manifest (a mirror), repeatable
 *   --receipts <file>    the device's relayer receipts (JSON: the relayer's 202 bodies as the SDK's outbox
 *                        keeps them, or signed receipts): evidence for CENSORED
 *   --threads <n>        signature worker threads (default: every core)
 *   --json               machine output on stdout
 *   --quiet              no progress on stderr
 *
 * Exit codes: 0 nothing is wrong — every reading VERIFIED or PENDING (not anchored yet but still in
 * flight: within its receipt's deadline, or its time + maxAnchorDelay; the summary counts them and the
 * last line says "OK, n PENDING"); 1 something failed verification; 2 bad arguments; 3 a service or
 * the RPC is unreachable or answered wrongly.
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import { createPublicClient, http, isAddress, type Address, type PublicClient } from "viem";

import { anyBundleToJson, parseAnyBundle } from "../oracle/core/bundle.js";
import { SensorSealError } from "../oracle/core/errors.js";
import { readAuditDeployment } from "../oracle/chain/deployments.js";
import { parseReceipts, type ReceiptEvidence } from "../oracle/verifier/censorship.js";
import { checkAnyBundleOnChain, exportAnyBundle } from "../oracle/verifier/evidence-bundle.js";
import { checkBundleSet, readExportFile } from "./lib/verify-bundle-set.js";
import { OK_STATUSES, VerifierError, type BatchResult, type ReadingResult, type Report } from "../oracle/verifier/types.js";
import { Verifier, type Progress } from "../oracle/verifier/verifier.js";

const USAGE = `usage: verify.ts <command> [options]
  reading <device> <seq>                 verify one reading
  device <device> [--from s] [--to s]    verify a device's readings (time range in unix seconds)
  all                                    verify every device and every anchored batch
  batch <batchId>                        full-batch audit (rebuild, compare root and manifest hash, all signatures)
  bundle export <device> <seq> [-o file] export a portable proof bundle
  bundle check <file> --rpc <url>        check a bundle with only an RPC endpoint
         [--export <csv|jsonl>]          (a file of bundles, one per line: each checked; every export row must match one)
options: --rpc --anchor --deploy-block --platform --api-key-file (or PLATFORM_API_KEY) --relayer --manifest <file>… --receipts <file> --threads --json --quiet`;

class UsageError extends Error {}

const { values: opts, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        rpc: { type: "string" },
        anchor: { type: "string" },
        "deploy-block": { type: "string" },
        platform: { type: "string" },
        "api-key": { type: "string" },
        "api-key-file": { type: "string" },
        relayer: { type: "string" },
        manifest: { type: "string", multiple: true },
        receipts: { type: "string" },
        threads: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        output: { type: "string", short: "o" },
        export: { type: "string" },
        json: { type: "boolean" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`verify: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();

const env = process.env;
const json = opts.json === true;

function uint(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new UsageError(`${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function address(value: string | undefined, name: string): Address {
  if (value === undefined || !isAddress(value, { strict: false })) throw new UsageError(`${name} must be an address, got "${value ?? ""}"`);
  return value as Address;
}

function arity(n: number, what: string): void {
  if (positionals.length !== n) throw new UsageError(`${what}`);
}

// ---- progress on stderr ----
let lastDraw = 0;
function progress(p: Progress): void {
  if (opts.quiet) return;
  const now = Date.now();
  const final = p.done >= p.total;
  if (!final && now - lastDraw < (process.stderr.isTTY ? 100 : 2000)) return;
  lastDraw = now;
  const line = `${p.phase}: ${p.done}/${p.total}${p.total > 0 ? ` (${Math.floor((100 * p.done) / p.total)}%)` : ""}`;
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${line}${final ? "\n" : ""}`);
  else process.stderr.write(`${line}\n`);
}

// ---- output ----
function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

function table(rows: ReadingResult[]): string {
  const head = ["DEVICE", "SEQ", "STATUS", "BATCH", "DETAIL"];
  const body = rows.map((r) => [
    r.device,
    String(r.seq),
    r.status,
    r.anchor ? String(r.anchor.batchId) : "-",
    r.problems.map((p) => p.message).join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  widths[4] = 0;
  return [head, ...body]
    .map((cols) =>
      cols
        .map((c, i) => (i === 4 ? c : c.padEnd(widths[i])))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function summary(counts: Record<string, number>): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
}

function printReport(report: Report): void {
  if (json) return void console.log(stringify(report));
  if (report.readings.length > 0) console.log(table(report.readings));
  for (const b of report.batches ?? [])
    if (!b.ok) console.log(`batch ${b.batchId}: ${b.issues.map((i) => `${i.issue} (${i.message})`).join("; ") || "readings failed"}`);
  console.log(
    `\n${report.readings.length} readings: ${summary(report.counts) || "none"}${report.batches ? `; ${report.batches.length} batches, ${report.batches.filter((b) => !b.ok).length} failed` : ""}`,
  );
  console.log(verdictLine(report.ok, report.pending));
}

/** The last line: FAILED, OK, or OK with the readings still in flight (exit code 0 either way). */
function verdictLine(ok: boolean, pending: number): string {
  if (!ok) return "FAILED";
  return pending > 0 ? `OK, ${pending} PENDING (not anchored yet, still in flight)` : "OK";
}

function printBatch(b: BatchResult): void {
  if (json) return void console.log(stringify(b));
  console.log(
    `batch ${b.batchId}: root ${b.root}, manifest hash ${b.manifestHash}, ${b.leafCount} leaves, anchored at ${b.anchoredAt} (block ${b.blockNumber}${b.txHash ? `, tx ${b.txHash}` : ""})`,
  );
  for (const i of b.issues) console.log(`  ${i.issue}: ${i.message}`);
  const bad = b.readings.filter((r) => r.status !== "VERIFIED");
  if (bad.length > 0) console.log(table(bad));
  console.log(`${b.readings.length} readings: ${summary(b.counts) || "none"}`);
  console.log(b.ok ? "OK" : "FAILED");
}

// ---- wiring ----
function rpcClient(url: string): PublicClient {
  return createPublicClient({ transport: http(url, { retryCount: 1, timeout: 15_000 }) }) as PublicClient;
}

async function openVerifier(): Promise<Verifier> {
  const rpc = opts.rpc ?? env.AUDIT_RPC_URL ?? "http://127.0.0.1:8545";
  const client = rpcClient(rpc);
  let anchor = opts.anchor ?? env.ANCHOR_ADDRESS;
  let deployBlock = uint(opts["deploy-block"] ?? env.DEPLOY_BLOCK, "--deploy-block");
  if (anchor === undefined) {
    let chainId: number;
    try {
      chainId = await client.getChainId();
    } catch (cause) {
      throw new VerifierError("SERVICE_UNREACHABLE", `audit-chain RPC unreachable at ${rpc}`, { cause });
    }
    try {
      const d = await readAuditDeployment(chainId);
      anchor = d.anchor;
      deployBlock ??= d.deployBlock;
    } catch {
      throw new UsageError(`--anchor is required (no deployment file for chain ${chainId})`);
    }
  }
  if (opts["api-key"] !== undefined)
    throw new UsageError(
      "--api-key is not accepted: a key on the command line shows in process listings; use --api-key-file <file> or PLATFORM_API_KEY",
    );
  const apiKey = opts["api-key-file"] === undefined ? env.PLATFORM_API_KEY : (await readFile(opts["api-key-file"], "utf8")).trim();
  const manifests = await Promise.all((opts.manifest ?? []).map(async (f) => new Uint8Array(await readFile(f))));
  let receipts: ReceiptEvidence[] | undefined;
  if (opts.receipts !== undefined) {
    try {
      receipts = parseReceipts(JSON.parse(await readFile(opts.receipts, "utf8")));
    } catch (cause) {
      throw new UsageError(`--receipts ${opts.receipts}: ${(cause as Error).message}`);
    }
  }
  return Verifier.create({
    rpc: client,
    anchor: address(anchor, "--anchor"),
    ...(deployBlock === undefined ? {} : { deployBlock }),
    ...(apiKey === undefined ? {} : { platform: { url: opts.platform ?? env.PLATFORM_URL ?? "http://127.0.0.1:8080", apiKey } }),
    relayer: opts.relayer ?? env.RELAYER_URL ?? "http://127.0.0.1:8547",
    manifests,
    ...(receipts === undefined ? {} : { receipts }),
    ...(opts.threads === undefined ? {} : { threads: Math.max(1, uint(opts.threads, "--threads")!) }),
    onProgress: progress,
  });
}

/** Opens a verifier, runs `run` with it, and closes it. */
async function withVerifier<T>(run: (v: Verifier) => Promise<T>): Promise<T> {
  const v = await openVerifier();
  try {
    return await run(v);
  } finally {
    await v.close();
  }
}

async function bundleExport(args: string[]): Promise<number> {
  arity(4, "usage: bundle export <device> <seq> [-o file]");
  const device = address(args[1], "device");
  const seq = uint(args[2], "seq")!;
  return withVerifier(async (v) => {
    const { bundle, result } = await exportAnyBundle(v, device, seq);
    const text = anyBundleToJson(bundle);
    if (opts.output !== undefined) {
      await writeFile(opts.output, `${text}\n`);
      if (!opts.quiet) console.error(`bundle written to ${opts.output} (reading ${result.status})`);
    } else console.log(text);
    return 0;
  });
}

async function bundleCheck(args: string[]): Promise<number> {
  arity(3, "usage: bundle check <file> --rpc <url>");
  const rpc = opts.rpc ?? env.AUDIT_RPC_URL;
  if (rpc === undefined) throw new UsageError("bundle check needs --rpc <url>");
  let text: string;
  try {
    text = await readFile(args[1], "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${args[1]}: ${(error as Error).message}`);
  }
  if (opts.export !== undefined || text.trim().includes("\n")) return bundleSetCheck(text, rpc, opts.export);
  let bundle;
  try {
    bundle = parseAnyBundle(text);
  } catch (error) {
    // A bundle that does not even parse is not a proof of anything.
    if (json) console.log(stringify({ ok: false, status: "INVALID_BUNDLE", error: (error as Error).message }));
    else console.log(`INVALID_BUNDLE: ${(error as Error).message}\nFAILED`);
    return 1;
  }
  const verdict = await checkAnyBundleOnChain(bundle, rpcClient(rpc));
  if (json) console.log(stringify(verdict));
  else {
    for (const c of verdict.checks) console.log(`${c.ok ? "ok  " : "FAIL"}  ${c.name.padEnd(22)} ${c.message}`);
    console.log(`${verdict.status}\n${verdict.ok ? "OK" : "FAILED"}`);
  }
  return verdict.ok ? 0 : 1;
}

/** Several bundles (one per line), and optionally the export they back (scripts/lib/verify-bundle-set.ts). */
async function bundleSetCheck(text: string, rpc: string, exportFile: string | undefined): Promise<number> {
  let exportText: string | undefined;
  if (exportFile !== undefined)
    exportText = await readExportFile(exportFile).catch((error: Error) => {
      throw new UsageError(`cannot read ${exportFile}: ${error.message}`);
    });
  const report = await checkBundleSet(text, rpcClient(rpc), exportText);
  if (json) console.log(stringify(report));
  else {
    for (const f of report.failed) console.log(`FAIL  line ${f.line}: ${f.status} ${f.message}`);
    for (const p of report.exportRows?.problems ?? []) console.log(`FAIL  export line ${p.line}: ${p.message}`);
    const rows =
      report.exportRows === undefined ? "" : `, export rows ${report.exportRows.problems.length === 0 ? "all backed" : "NOT all backed"}`;
    console.log(`${report.bundles} bundle(s) VERIFIED, ${report.failed.length} failed${rows}\n${report.ok ? "OK" : "FAILED"}`);
  }
  return report.ok ? 0 : 1;
}

async function main(): Promise<number> {
  if (opts.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, ...args] = positionals;
  switch (command) {
    case "reading": {
      arity(3, "usage: reading <device> <seq>");
      const seq = uint(args[1], "seq")!;
      if (seq < 1) throw new UsageError("seq must be ≥ 1");
      const device = address(args[0], "device");
      return withVerifier(async (v) => {
        const r = await v.verifyReading(device, seq);
        if (json) console.log(stringify(r));
        const ok = OK_STATUSES.includes(r.status);
        if (!json) console.log(`${table([r])}\n${verdictLine(ok, r.status === "PENDING" ? 1 : 0)}`);
        return ok ? 0 : 1;
      });
    }
    case "device": {
      arity(2, "usage: device <device> [--from s] [--to s]");
      const device = address(args[0], "device");
      const from = uint(opts.from, "--from");
      const to = uint(opts.to, "--to");
      if (from !== undefined && to !== undefined && from > to) throw new UsageError("--from must not be after --to");
      return withVerifier(async (v) => {
        const report = await v.verifyDevice(device, { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) });
        printReport(report);
        return report.ok ? 0 : 1;
      });
    }
    case "all":
      arity(1, "usage: all");
      return withVerifier(async (v) => {
        const report = await v.verifyAll();
        printReport(report);
        return report.ok ? 0 : 1;
      });
    case "batch": {
      arity(2, "usage: batch <batchId>");
      const id = uint(args[0], "batchId")!;
      if (id < 1) throw new UsageError("batchId must be ≥ 1");
      return withVerifier(async (v) => {
        const b = await v.auditBatch(id);
        printBatch(b);
        return b.ok ? 0 : 1;
      });
    }
    case "bundle":
      if (args[0] === "export") return bundleExport(args);
      if (args[0] === "check") return bundleCheck(args);
      throw new UsageError("usage: bundle export <device> <seq> [-o file] | bundle check <file> --rpc <url>");
    case undefined:
      throw new UsageError("a command is required");
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

try {
  process.exitCode = await main();
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`verify: ${error.message}\n${USAGE}`);
    process.exitCode = 2;
  } else if (error instanceof SensorSealError) {
    console.error(`verify: ${error.code}: ${error.message}`);
    process.exitCode =
      error.code === "INVALID_ARGUMENT"
        ? 2
        : error.code === "NOT_ANCHORED" || error.code === "RAW_MISSING" || error.code === "UNKNOWN_BATCH"
          ? 1
          : 3;
  } else {
    console.error(`verify: ${(error as Error).message ?? error}`);
    process.exitCode = 3;
  }
}
