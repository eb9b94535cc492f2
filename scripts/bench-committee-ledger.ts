/**
 * An oracle's per-epoch read of the reward rules' dedup state (OracleStore.deviceStates) against a
 * ledger that grew for a while: D devices with H rewarded readings each (one a minute: H = 1,440 is a
 * day), then one epoch's readings (one per device, the next minute) asked for. Baseline in the same
 * run: reading each device's whole ledger, as the oracle did before. Prints figures, asserts the two
 * agree on every question the rules ask.
 *
 *   npx tsx scripts/bench-committee-ledger.ts [D=2000] [H=1440]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { getAddress } from "viem";

import { OracleStore } from "../oracle/committee/store.js";
import { openDatabase } from "../oracle/store/sql.js";

const devices = Number(process.argv[2] ?? 2000);
const history = Number(process.argv[3] ?? 1440);
const T0 = 1_800_000_000;
const dir = await mkdtemp(path.join(tmpdir(), "committee-ledger-"));
const db = await openDatabase(path.join(dir, "oracle.sqlite"));
const store = await OracleStore.open(db);
const addresses = Array.from({ length: devices }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`));

process.stderr.write(`writing ${devices} devices × ${history} rewarded readings…\n`);
for (let k = 1; k <= history; k++)
  await db.transaction(async (tx) => {
    for (let i = 0; i < addresses.length; i += 100) {
      const chunk = addresses.slice(i, i + 100);
      await tx.run(
        `INSERT INTO oracle_ledger (device, seq, batch_id, epoch, timestamp, beneficiary, amount) VALUES ${chunk.map(() => "(?, ?, '1', 1, ?, ?, '1')").join(", ")}`,
        chunk.flatMap((d) => [d, String(k), T0 + 60 * k, d]),
      );
    }
  });

// The next seq, dated in the last rewarded minute (SAME_MINUTE for the rules): every device has state to read.
const epoch = addresses.map((device) => ({ device, seq: BigInt(history + 1), timestamp: BigInt(T0 + 60 * history + 59) }));
let started = performance.now();
const state = await store.deviceStates(epoch);
const nowMs = performance.now() - started;

started = performance.now();
let rows = 0;
for (const device of addresses) {
  const whole = await db.query<{ seq: string; timestamp: number }>("SELECT seq, timestamp FROM oracle_ledger WHERE device = ?", [device]);
  rows += whole.length;
  const s = state.get(device.toLowerCase());
  const r = epoch[0];
  if (whole.some((w) => BigInt(w.seq) === r.seq) !== (s?.seqs.has(r.seq) ?? false)) throw new Error(`seq answers differ for ${device}`);
}
const wholeMs = performance.now() - started;
console.log(
  `${devices} devices × ${history} rewarded readings: one epoch's dedup state ${nowMs.toFixed(0)} ms (${state.size} devices with state); ` +
    `reading each device's whole ledger (before) ${wholeMs.toFixed(0)} ms, ${rows} rows: ${(wholeMs / nowMs).toFixed(1)}×`,
);
await db.close();
await rm(dir, { recursive: true, force: true });
