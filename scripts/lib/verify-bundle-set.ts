/**
 * `npm run verify -- bundle check <bundles.jsonl> --rpc <url> [--export <export.csv|.jsonl>]`: a file
 * of several bundles (one canonical bundle of oracle/core/bundle.ts per line, as the auditor's
 * `/v1/export/bundles` writes them) is checked bundle by bundle against the chain; with `--export`,
 * every row of the export must be backed by one of them (same dataHash, values equal to the signed
 * payload's). Exit 0 only when everything holds.
 *
 * @module
 */
import { readFile } from "node:fs/promises";

import type { Address, PublicClient } from "viem";

import { sensorValues } from "../../oracle/auditor/checker.js";
import { parseExportRows } from "../../oracle/auditor/exports.js";
import { parseAnyBundle, type AnyBundle } from "../../oracle/core/bundle.js";
import { checkAnyBundleOnChain, readingKey } from "../../oracle/verifier/index.js";

/** What {@link checkBundleSet} found. */
export interface BundleSetReport {
  ok: boolean;
  bundles: number;
  failed: { line: number; status: string; message: string }[];
  exportRows?: { problems: ExportRowProblem[] };
}

/**
 * Checks every bundle of `text` (one per line) on chain, and with `exportText` every export row
 * against them ({@link checkExportRows}); ok only when all bundles verify and every row is backed.
 *
 * @example const report = await checkBundleSet(text, client, exportText); report.ok;
 */
export async function checkBundleSet(text: string, client: PublicClient, exportText?: string): Promise<BundleSetReport> {
  const failed: BundleSetReport["failed"] = [];
  const bundles: AnyBundle[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "") continue;
    let bundle: AnyBundle;
    try {
      bundle = parseAnyBundle(lines[i]);
    } catch (error) {
      failed.push({ line: i + 1, status: "INVALID_BUNDLE", message: (error as Error).message });
      continue;
    }
    const verdict = await checkAnyBundleOnChain(bundle, client);
    if (verdict.ok) bundles.push(bundle);
    else
      failed.push({
        line: i + 1,
        status: verdict.status,
        message: verdict.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name}: ${c.message}`)
          .join("; "),
      });
  }
  const report: BundleSetReport = { ok: failed.length === 0 && bundles.length > 0, bundles: bundles.length, failed };
  if (exportText !== undefined) {
    const problems = checkExportRows(exportText, bundles);
    report.exportRows = { problems };
    report.ok &&= problems.length === 0;
  }
  return report;
}

/** Reads `--export`'s file (a usage error when it cannot be read). */
export async function readExportFile(file: string): Promise<string> {
  return readFile(file, "utf8");
}

/** An export row's problem against the bundles. */
export interface ExportRowProblem {
  line: number;
  device?: string;
  seq?: number;
  message: string;
}

/**
 * Checks an export (oracle/auditor/exports.ts: CSV or JSON Lines) against bundles: each row's
 * (device, seq) has a bundle, the row's dataHash is the bundle's, and its time, values and location
 * are those of the bundle's signed payload, read as the auditor reads them (`sensorValues`). Pure: the
 * bundles themselves are checked on chain by {@link checkBundleSet}.
 *
 * @example checkExportRows(csvText, bundles); // [] when every row is backed by a bundle
 */
export function checkExportRows(text: string, bundles: readonly AnyBundle[]): ExportRowProblem[] {
  const byKey = new Map(bundles.map((b) => [readingKey(b.reading.device, b.reading.seq), b]));
  let rows: ReturnType<typeof parseExportRows>;
  try {
    rows = parseExportRows(text);
  } catch (error) {
    return [{ line: 0, message: `the export cannot be read: ${(error as Error).message}` }];
  }
  if (rows.length === 0) return [{ line: 1, message: "the export has no rows" }];
  return rows.flatMap(({ line, row }) => {
    const device = String(row.device ?? "");
    const seq = Number(row.seq);
    const bundle =
      /^0x[0-9a-fA-F]{40}$/.test(device) && Number.isSafeInteger(seq) ? byKey.get(readingKey(device as Address, seq)) : undefined;
    if (bundle === undefined) return [{ line, device, seq, message: "no bundle for this row" }];
    const problems: ExportRowProblem[] = [];
    if (String(row.dataHash ?? "").toLowerCase() !== bundle.reading.dataHash.toLowerCase())
      problems.push({ line, device, seq, message: "dataHash differs from the bundle's" });
    const v = sensorValues(bundle.payload);
    const loc = (row.loc ?? {}) as Record<string, unknown>;
    const pairs: [string, unknown, number | undefined][] = [
      ["ts", row.ts, Number(bundle.reading.timestamp)],
      ["pm2_5_ugm3", row.pm2_5_ugm3, v.pm25],
      ["pm10_ugm3", row.pm10_ugm3, v.pm10],
      ["temperature_c", row.temperature_c, v.temperature],
      ["humidity_pct", row.humidity_pct, v.humidity],
      ["lat", row.lat ?? loc.lat, v.lat],
      ["lon", row.lon ?? loc.lon, v.lon],
    ];
    for (const [column, got, signed] of pairs) {
      const exported = got === "" || got === null || got === undefined ? undefined : Number(got);
      if (exported !== signed)
        problems.push({
          line,
          device,
          seq,
          message: `${column} is ${String(exported)} in the export, ${String(signed)} in the signed payload`,
        });
    }
    return problems;
  });
}
