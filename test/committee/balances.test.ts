/**
 * An oracle's running balances (OracleStore.commitEpoch): an epoch writes the rows of the beneficiaries
 * it changed, not every beneficiary's. A large fleet's epoch rewards a fraction of its beneficiaries,
 * and rewriting all of them each epoch made the epoch's writes grow with the whole fleet.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";

import { getAddress, type Address } from "viem";

import { OracleStore, type EpochCommit } from "../../oracle/committee/store.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { tempDir } from "../relayer/fixtures.js";

type Balance = { beneficiary: Address; cumulative: bigint; readings: number };
const beneficiaryOf = (i: number) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`);

/** An empty epoch's commit (no batches, no root) carrying `balances`, of which `changed` moved. */
function epochCommit(epoch: number, balances: Map<string, Balance>, changed: Iterable<string>): EpochCommit {
  return {
    epoch: {
      epoch,
      fromBlock: epoch * 10,
      toBlock: epoch * 10 + 9,
      status: "empty",
      root: null,
      cumulativeTotal: [...balances.values()].reduce((sum, b) => sum + b.cumulative, 0n),
      entries: balances.size,
      rulesVersion: 2,
      oracleSetVersion: null,
      digest: null,
      message: null,
    },
    batches: [],
    direct: [],
    balances,
    changed: new Set(changed),
    blocks: [],
  };
}

describe("oracle balances", () => {
  it("an epoch writes only the balances it changed; the others keep their rows", async () => {
    const tmp = await tempDir();
    const store = await OracleStore.open(await openDatabase(path.join(tmp.dir, "oracle.sqlite")));
    try {
      // Counts every write to the running balances, whatever statement makes it.
      await store.db.migrate(`
        CREATE TABLE balance_writes (beneficiary TEXT NOT NULL);
        CREATE TRIGGER balance_inserted AFTER INSERT ON oracle_balances BEGIN INSERT INTO balance_writes VALUES (new.beneficiary); END;
        CREATE TRIGGER balance_updated AFTER UPDATE ON oracle_balances BEGIN INSERT INTO balance_writes VALUES (new.beneficiary); END;`);
      const writes = async () =>
        (await store.db.query<{ beneficiary: string }>("SELECT beneficiary FROM balance_writes ORDER BY rowid")).map((r) => r.beneficiary);

      const fleet = Array.from({ length: 250 }, (_, i) => beneficiaryOf(i));
      const balances = new Map<string, Balance>(fleet.map((b) => [b.toLowerCase(), { beneficiary: b, cumulative: 10n, readings: 1 }]));
      await store.commitEpoch(epochCommit(1, balances, balances.keys()));
      assert.equal((await writes()).length, 250);

      // Epoch 2 rewards two of the 250.
      for (const i of [7, 201]) {
        const b = balances.get(fleet[i].toLowerCase())!;
        b.cumulative += 5n;
        b.readings += 1;
      }
      await store.commitEpoch(epochCommit(2, balances, [fleet[7].toLowerCase(), fleet[201].toLowerCase()]));
      assert.deepEqual((await writes()).slice(250), [fleet[7], fleet[201]]);

      const stored = await store.balances();
      assert.equal(stored.size, 250);
      for (const [i, b] of fleet.entries())
        assert.deepEqual(stored.get(b.toLowerCase()), {
          beneficiary: b,
          cumulative: i === 7 || i === 201 ? 15n : 10n,
          readings: i === 7 || i === 201 ? 2 : 1,
        });
    } finally {
      await store.db.close();
      await tmp.remove();
    }
  });
});
