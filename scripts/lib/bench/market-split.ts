/**
 * Bench: the oracle's time to split one sale over 10,000 verified readings of 1,000 devices
 * (sale rules v1, oracle/market/split.ts), two ways: the pure split over readings in memory, and the
 * committee's path (the window's rows read from an `oracle_ledger` table in SQLite, then split).
 *
 * Wiring (scripts/bench.ts, owned by the bench): `import { marketSplitSection } from "./lib/bench/market-split.js";`
 * and call `await marketSplitSection()` after the other sections. Alone: `npx tsx scripts/lib/bench/market-split.ts`.
 *
 * @module
 */
import { pathToFileURL } from "node:url";

import { getAddress, type Address } from "viem";

import { normalizeScope } from "../../../oracle/core/scope.js";
import { splitSale, type VerifiedReading } from "../../../oracle/market/split.js";
import { openDatabase } from "../../../oracle/store/sql.js";

/** One measurement of the split. */
export interface SaleSplitBenchResult {
  readings: number;
  devices: number;
  beneficiaries: number;
  /** Median ms of the pure split. */
  splitMs: number;
  /** Median ms of ledger query + split (SQLite in memory). */
  ledgerSplitMs: number;
  repeats: number;
}

const address = (prefix: number, n: number): Address =>
  getAddress(`0x${prefix.toString(16).padStart(8, "0")}${n.toString(16).padStart(32, "0")}`);

/**
 * Measures the split over `readings` readings spread evenly over `devices` devices (one beneficiary per
 * 4 devices), the sale's scope naming every device and a window covering every reading.
 *
 * @example const r = await measureSaleSplit({ readings: 10_000, devices: 1_000 }); r.splitMs;
 */
export async function measureSaleSplit(o: { readings: number; devices: number; repeats?: number }): Promise<SaleSplitBenchResult> {
  const repeats = o.repeats ?? 7;
  const devices = Array.from({ length: o.devices }, (_, i) => address(0xd0, i));
  const t0 = 1_767_225_600;
  const readings: VerifiedReading[] = Array.from({ length: o.readings }, (_, i) => ({
    device: devices[i % o.devices]!,
    timestamp: BigInt(t0 + 60 * Math.floor(i / o.devices)),
    beneficiary: address(0xbe, (i % o.devices) >> 2),
  }));
  const scope = normalizeScope({ v: 1, devices, fields: ["pm10_ugm3", "pm2_5_ugm3"], window: { from: t0, to: t0 + 86_400 } });
  const sale = { id: "1", token: address(0x70, 1), paid: 10n ** 21n, operatorFee: 10n ** 20n, purchasedAt: BigInt(t0), scope };

  const db = await openDatabase(":memory:");
  await db.migrate(
    "CREATE TABLE oracle_ledger (device TEXT NOT NULL, seq TEXT NOT NULL, batch_id TEXT NOT NULL, epoch INTEGER NOT NULL, timestamp INTEGER NOT NULL, beneficiary TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (device, seq));",
  );
  await db.transaction(async (tx) => {
    let i = 0;
    for (const r of readings)
      await tx.run("INSERT INTO oracle_ledger VALUES (?, ?, '1', 1, ?, ?, '1')", [
        r.device,
        String(++i),
        Number(r.timestamp),
        r.beneficiary,
      ]);
  });

  const pure: number[] = [];
  const ledger: number[] = [];
  let beneficiaries = 0;
  for (let k = 0; k < repeats; k++) {
    let t = performance.now();
    const split = splitSale(sale, readings);
    pure.push(performance.now() - t);
    beneficiaries = split.shares.length;
    if (split.readings !== o.readings) throw new Error(`split counted ${split.readings} readings, expected ${o.readings}`);
    t = performance.now();
    const rows = await db.query<{ device: string; timestamp: number; beneficiary: string }>(
      "SELECT device, timestamp, beneficiary FROM oracle_ledger WHERE timestamp >= ? AND timestamp < ?",
      [t0, t0 + 86_400],
    );
    splitSale(
      sale,
      rows.map((r) => ({ device: r.device as Address, timestamp: BigInt(r.timestamp), beneficiary: r.beneficiary as Address })),
    );
    ledger.push(performance.now() - t);
  }
  await db.close();
  return { readings: o.readings, devices: o.devices, beneficiaries, splitMs: median(pure), ledgerSplitMs: median(ledger), repeats };
}

/** The bench section (same shape as the others: a log line and the result). */
export async function marketSplitSection(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<SaleSplitBenchResult> {
  log("market: split one sale over 10,000 readings of 1,000 devices…");
  const r = await measureSaleSplit({ readings: 10_000, devices: 1_000 });
  log(
    `   pure split ${r.splitMs.toFixed(1)} ms; ledger query + split ${r.ledgerSplitMs.toFixed(1)} ms (${r.beneficiaries} beneficiaries, median of ${r.repeats})`,
  );
  return r;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await marketSplitSection()));
}
