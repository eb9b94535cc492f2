/**
 * Exports of verified readings: CSV (RFC 4180, one header line) or JSON Lines. Each row names its
 * device, seq and batch, so `npm run verify -- bundle export <device> <seq>` and `bundle check` prove
 * any row offline (scripts/auditor.ts `export` writes the bundles beside the file).
 *
 * @module
 */

const COLUMNS = [
  "device",
  "seq",
  "ts",
  "pm2_5_ugm3",
  "pm10_ugm3",
  "temperature_c",
  "humidity_pct",
  "lat",
  "lon",
  "batchId",
  "dataHash",
  "quality",
] as const;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * @example exportRows([{ device, seq: 1, … }], "csv"); // "device,seq,ts,…\n0xAb…,1,…\n"
 */
export function exportRows(rows: readonly Record<string, unknown>[], format: "csv" | "jsonl"): string {
  if (format === "jsonl") return rows.map((r) => `${JSON.stringify(r)}\n`).join("");
  const line = (r: Record<string, unknown>) => {
    const loc = r.loc as { lat?: number; lon?: number } | null;
    const quality = r.quality as { version: string; flags: string[] } | undefined;
    const flat: Record<string, unknown> = {
      ...r,
      lat: loc?.lat,
      lon: loc?.lon,
      quality: quality === undefined ? "" : `${quality.version}:${quality.flags.join("|")}`,
    };
    return COLUMNS.map((c) => csvCell(flat[c])).join(",");
  };
  return `${COLUMNS.join(",")}\n${rows.map((r) => `${line(r)}\n`).join("")}`;
}
