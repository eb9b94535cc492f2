/**
 * One CSV row reader for the archive importers (Sensor.Community `;`, OpenAQ `,`): splits lines,
 * keeps each row's 1-based line number for error reports, strips a BOM, and reads RFC 4180 quoted
 * fields (`"a, b"`, `""` for a quote) since OpenAQ quotes its text columns. A quoted field may not
 * span lines (no archive does): an unterminated quote is a malformed row.
 *
 * @module
 */

/** One data row: its 1-based line number in the file and its fields (unquoted, untrimmed). */
export type CsvRow = { line: number; fields: string[] };

/** A header and the data rows of a CSV text; `malformed` lists rows whose quoting is broken. */
export type CsvTable = { header: string[]; rows: CsvRow[]; malformed: { line: number; reason: string }[] };

/**
 * Splits one line into fields, honouring double quotes.
 *
 * @returns the fields, or a reason if the quoting is broken.
 * @example
 * ```ts
 * splitCsvLine('1,"Toronto, West",ppm', ","); // ["1", "Toronto, West", "ppm"]
 * ```
 */
export function splitCsvLine(line: string, delimiter: string): string[] | { error: string } {
  if (!line.includes('"')) return line.split(delimiter);
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return { error: "unterminated quoted field" };
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < line.length && line[i] !== delimiter) return { error: "text after a closing quote" };
      fields.push(value);
    } else {
      const d = line.indexOf(delimiter, i);
      const end = d < 0 ? line.length : d;
      fields.push(line.slice(i, end));
      i = end;
    }
    if (i >= line.length) return fields;
    i++; // the delimiter
    if (i === line.length) {
      fields.push("");
      return fields;
    }
  }
}

/**
 * Reads a CSV text: the first non-empty line is the header (trimmed names); blank lines are
 * skipped; each data row keeps its line number.
 *
 * @example
 * ```ts
 * const t = readCsv("a;b\n1;2\n\n3;4\n", ";");
 * t.header; // ["a", "b"]
 * t.rows; // [{ line: 2, fields: ["1", "2"] }, { line: 4, fields: ["3", "4"] }]
 * ```
 */
export function readCsv(text: string, delimiter: string): CsvTable {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const table: CsvTable = { header: [], rows: [], malformed: [] };
  let headerSeen = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === "") continue;
    const fields = splitCsvLine(raw, delimiter);
    if (!Array.isArray(fields)) {
      if (headerSeen) table.malformed.push({ line: i + 1, reason: fields.error });
      else headerSeen = true; // a broken header matches no column: the importer refuses it
      continue;
    }
    if (!headerSeen) {
      table.header = fields.map((h) => h.trim());
      headerSeen = true;
      continue;
    }
    table.rows.push({ line: i + 1, fields });
  }
  return table;
}
