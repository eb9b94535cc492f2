/**
 * Exports of verified readings: CSV (RFC 4180, one header line) or JSON Lines. Each row names its
 * device, seq and batch; `/v1/export/bundles` (./bundle-routes.ts) answers the same rows' proof bundles,
 * and `npm run verify -- bundle check <bundles> --rpc <url> --export <file>` proves every row offline.
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

/**
 * The rows of an export as {@link exportRows} writes it (JSON Lines, or CSV with its header line and
 * RFC 4180 quoting), each with its 1-based line number; CSV cells are strings ("" for none).
 *
 * @throws {SyntaxError} when a JSON Lines line is not JSON.
 * @example parseExportRows("device,seq\n0xAb…,1\n"); // [{ line: 2, row: { device: "0xAb…", seq: "1" } }]
 */
export function parseExportRows(text: string): { line: number; row: Record<string, unknown> }[] {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trimStart().startsWith("{"))
    return lines.flatMap((l, i) => (l.trim() === "" ? [] : [{ line: i + 1, row: JSON.parse(l) as Record<string, unknown> }]));
  const header = csvCells(lines[0] ?? "");
  return lines.slice(1).flatMap((l, i) => {
    if (l.trim() === "") return [];
    const cells = csvCells(l);
    return [{ line: i + 2, row: Object.fromEntries(header.map((h, j) => [h, cells[j] ?? ""])) }];
  });
}

/** The cells of one CSV line (the inverse of {@link csvCell}; exports have no line breaks inside cells). */
function csvCells(line: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (c === '"') quoted = !quoted;
    else if (c === "," && !quoted) {
      cells.push(cell);
      cell = "";
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}
