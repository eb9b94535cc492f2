import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress } from "viem";

import { epochLeaves } from "../../oracle/market/root-entries.js";

const a = (n: number) => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const REWARD = a(0x100);

describe("multi-token root entries (oracle/market/root-entries.ts)", () => {
  it("puts reward balances and settlement cumulatives in one leaf list, totals per token ascending", () => {
    const leaves = epochLeaves(
      REWARD,
      [
        { beneficiary: a(1), cumulative: 5n },
        { beneficiary: a(2), cumulative: 0n },
      ],
      [
        { account: a(1), token: a(0x300), cumulative: 7n },
        { account: a(3), token: a(0x200), cumulative: 2n },
        { account: a(4), token: a(0x300), cumulative: 1n },
        { account: a(5), token: a(0x200), cumulative: 0n },
      ],
    );
    assert.equal(leaves.rewardTotal, 5n);
    assert.deepEqual(leaves.tokenTotals, [
      { token: a(0x200), cumulativeTotal: 2n },
      { token: a(0x300), cumulativeTotal: 8n },
    ]);
    assert.deepEqual(
      leaves.entries.map((e) => [e.account, e.token, e.cumulative]),
      [
        [a(1), REWARD, 5n],
        [a(1), a(0x300), 7n],
        [a(3), a(0x200), 2n],
        [a(4), a(0x300), 1n],
      ],
    );
  });

  it("refuses a settlement token that is the reward token", () => {
    assert.throws(() => epochLeaves(REWARD, [], [{ account: a(1), token: REWARD, cumulative: 1n }]), RangeError);
  });
});
