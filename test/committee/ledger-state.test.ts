/**
 * The rules' dedup state read from an oracle's ledger (OracleStore.deviceStates), in both dialects: it
 * answers every question the rules ask of an epoch's readings (was this (device, seq) rewarded, was a
 * reading of this device rewarded in this UTC minute) exactly as the device's whole history would,
 * while reading only the rows those readings can match, never a device's history: a month of one
 * reading a minute was 43,200 rows per device read again every epoch.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it, type TestContext } from "node:test";

import { getAddress } from "viem";

import { minuteRanges, OracleStore } from "../../oracle/committee/store.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { freshTestDatabase, pgSkipReason } from "../helpers/postgres.js";
import { tempDir } from "../relayer/fixtures.js";

const T0 = 1_800_000_000; // a UTC minute boundary (divisible by 60)
const deviceOf = (i: number) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`);

async function reward(store: OracleStore, device: string, seq: bigint, timestamp: number): Promise<void> {
  await store.db.run(
    "INSERT INTO oracle_ledger (device, seq, batch_id, epoch, timestamp, beneficiary, amount) VALUES (?, ?, '1', 1, ?, ?, '1')",
    [device, seq.toString(), timestamp, device],
  );
}

function suite(name: string, open: () => Promise<{ url: string; cleanup(): Promise<void> }>, skip?: () => Promise<string | undefined>) {
  describe(`oracle ledger state (${name})`, () => {
    // Each test on a fresh store of this dialect (skipped, with the reason, where there is none).
    const withStore = (fn: (store: OracleStore) => Promise<void>) => async (t: TestContext) => {
      const reason = await skip?.();
      if (reason !== undefined) return t.skip(reason);
      const target = await open();
      const store = await OracleStore.open(await openDatabase(target.url));
      try {
        await fn(store);
      } finally {
        await store.db.close();
        await target.cleanup();
      }
    };

    it(
      "answers the rules' seq and minute questions as the whole history would, from the rows they can match only",
      withStore(async (store) => {
        // Device A: 2,000 rewarded readings, one a minute, seq k at minute k (T0 + 60k + 30).
        const a = deviceOf(0);
        for (let k = 1; k <= 2000; k++) await reward(store, a, BigInt(k), T0 + 60 * k + 30);
        const asked = [
          { device: a, seq: 5n, timestamp: BigInt(T0 + 60 * 1500 + 59) }, // seq rewarded before; its minute too (seq 1500's)
          { device: a, seq: 4000n, timestamp: BigInt(T0 + 60 * 10) }, // a new seq in a rewarded minute (seq 10's)
          { device: a, seq: 4001n, timestamp: BigInt(T0 + 60 * 9000) }, // new seq, new minute
          { device: a, seq: 2n ** 64n - 1n, timestamp: 2n ** 64n - 1n }, // far out of range: asks nothing that exists
          { device: a.toLowerCase(), seq: 7n, timestamp: BigInt(T0 + 60 * 7) }, // any case
          { device: deviceOf(1), seq: 1n, timestamp: BigInt(T0 + 60) }, // never rewarded
        ];
        const state = await store.deviceStates(asked);
        const history = { seqs: new Set(Array.from({ length: 2000 }, (_, k) => BigInt(k + 1))), minutes: new Set<bigint>() };
        for (let k = 1; k <= 2000; k++) history.minutes.add(BigInt(T0 / 60 + k));
        const got = state.get(a.toLowerCase());
        assert.ok(got !== undefined);
        for (const r of asked.filter((q) => q.device.toLowerCase() === a.toLowerCase())) {
          assert.equal(got.seqs.has(r.seq), history.seqs.has(r.seq), `seq ${r.seq}`);
          assert.equal(got.minutes.has(r.timestamp / 60n), history.minutes.has(r.timestamp / 60n), `minute of ${r.timestamp}`);
        }
        // Only the rows these readings can match: seqs 5 and 7, and the readings of minutes 1500, 10 and 7.
        assert.deepEqual(
          [...got.seqs].sort((x, y) => Number(x - y)),
          [5n, 7n, 10n, 1500n],
        );
        assert.equal(state.has(deviceOf(1).toLowerCase()), false, "nothing rewarded: no state");
      }),
    );

    it(
      "reads the state of many devices at once (more lookups than one statement holds)",
      withStore(async (store) => {
        const devices = Array.from({ length: 450 }, (_, i) => deviceOf(100 + i));
        for (const [i, d] of devices.entries()) await reward(store, d, BigInt(i + 1), T0 + 60 * i);
        // Each device asks for its rewarded seq in another minute, and for a new seq in its rewarded minute.
        const state = await store.deviceStates(
          devices.flatMap((d, i) => [
            { device: d, seq: BigInt(i + 1), timestamp: BigInt(T0 + 60 * (i + 1000)) },
            { device: d, seq: 99_999n, timestamp: BigInt(T0 + 60 * i + 59) },
          ]),
        );
        assert.equal(state.size, devices.length);
        for (const [i, d] of devices.entries()) {
          const s = state.get(d.toLowerCase());
          assert.deepEqual([...(s?.seqs ?? [])], [BigInt(i + 1)], d);
          assert.deepEqual([...(s?.minutes ?? [])], [BigInt(T0 / 60 + i)], d);
        }
      }),
    );
  });
}

describe("minuteRanges", () => {
  it("merges consecutive minutes and leaves out minutes no stored timestamp can be in", () => {
    assert.deepEqual(minuteRanges([5n, 3n, 4n, 9n, 3n]), [
      [3, 6],
      [9, 10],
    ]);
    assert.deepEqual(minuteRanges([-1n, 2n ** 64n]), []);
  });
});

const dirs: { remove(): Promise<void> }[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

let files = 0;
suite("SQLite", async () => {
  const dir = await tempDir();
  dirs.push(dir);
  return { url: path.join(dir.dir, `oracle-${files++}.sqlite`), cleanup: async () => undefined };
});

suite(
  "PostgreSQL",
  async () => {
    const db = await freshTestDatabase();
    return { url: db.url, cleanup: () => db.drop() };
  },
  pgSkipReason,
);
