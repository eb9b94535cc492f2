import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress, type Address } from "viem";

import { normalizeScope } from "../../oracle/core/scope.js";
import { addSplit, splitSale, type Sale, type VerifiedReading } from "../../oracle/market/split.js";

const dev = (n: number) => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const ben = (n: number) => getAddress(`0x${(0xb000 + n).toString(16).padStart(40, "0")}`);
const TOKEN = dev(0xeeee);

function sale(over: Partial<Sale> = {}): Sale {
  return {
    id: "0xabc:0",
    token: TOKEN,
    paid: 1000n,
    operatorFee: 100n,
    purchasedAt: 5000n,
    scope: normalizeScope({ v: 1, devices: [dev(1), dev(2), dev(3)], fields: ["pm2_5_ugm3"], window: { from: 100, to: 200 } }),
    ...over,
  };
}

const reading = (d: number, t: number, b: number): VerifiedReading => ({ device: dev(d), timestamp: BigInt(t), beneficiary: ben(b) });

function conserved(s: ReturnType<typeof splitSale>): boolean {
  return s.operatorFee + s.shares.reduce((sum, x) => sum + x.amount, 0n) + s.unallocated === s.paid;
}

describe("sale split rules v1 (oracle/market/split.ts)", () => {
  it("pays the pool pro rata to verified readings in scope, per beneficiary, ascending", () => {
    const readings = [reading(1, 100, 1), reading(1, 160, 1), reading(2, 199, 2), reading(3, 150, 1)];
    const s = splitSale(sale(), readings);
    assert.equal(s.readings, 4);
    assert.deepEqual(s.shares, [
      { account: ben(1), amount: 675n, readings: 3 },
      { account: ben(2), amount: 225n, readings: 1 },
    ]);
    assert.equal(s.unallocated, 0n);
    assert.equal(conserved(s), true);
  });

  it("skips readings outside the devices or the window", () => {
    const readings = [reading(1, 99, 1), reading(1, 200, 1), reading(9, 150, 3), reading(2, 150, 2)];
    const s = splitSale(sale(), readings);
    assert.deepEqual(s.shares, [{ account: ben(2), amount: 900n, readings: 1 }]);
  });

  it("puts rounding dust into the unallocated remainder", () => {
    const s = splitSale(sale({ paid: 1000n, operatorFee: 0n }), [reading(1, 100, 1), reading(2, 100, 2), reading(3, 100, 3)]);
    assert.deepEqual(
      s.shares.map((x) => x.amount),
      [333n, 333n, 333n],
    );
    assert.equal(s.unallocated, 1n);
    assert.equal(conserved(s), true);
  });

  it("a scope with no verified readings sends the whole pool to the unallocated remainder", () => {
    const s = splitSale(sale(), [reading(1, 5, 1)]);
    assert.deepEqual(s.shares, []);
    assert.equal(s.unallocated, 900n);
    assert.equal(conserved(s), true);
  });

  it("starts a live scope at the purchase's block time", () => {
    const live = sale({ scope: normalizeScope({ v: 1, devices: [dev(1)], fields: ["t"], live: { seconds: 60 } }), purchasedAt: 1000n });
    const s = splitSale(live, [reading(1, 999, 1), reading(1, 1000, 2), reading(1, 1059, 2), reading(1, 1060, 1)]);
    assert.deepEqual(s.shares, [{ account: ben(2), amount: 900n, readings: 2 }]);
  });

  it("is deterministic whatever the reading order and conserves value for random sales", () => {
    for (let round = 0; round < 200; round++) {
      const readings = Array.from({ length: 1 + (round % 37) }, (_, i) =>
        reading(1 + ((i * 7 + round) % 4), 90 + ((i * 13 + round) % 130), (i * 5 + round) % 6),
      );
      const paid = BigInt(round * 7919 + 1);
      const fee = (paid * BigInt(round % 10_001)) / 10_000n;
      const a = splitSale(sale({ paid, operatorFee: fee }), readings);
      const b = splitSale(sale({ paid, operatorFee: fee }), [...readings].reverse());
      assert.deepEqual(a, b);
      assert.equal(conserved(a), true);
    }
  });

  it("refuses a fee above the price and unknown rules", () => {
    assert.throws(() => splitSale(sale({ operatorFee: 1001n }), []), RangeError);
    assert.throws(() => splitSale(sale(), [], { version: 9 }), RangeError);
  });

  it("adds shares into per-account cumulative amounts", () => {
    const s = splitSale(sale(), [reading(1, 100, 1), reading(2, 100, 2)]);
    const cumulative = addSplit(addSplit(new Map<string, bigint>(), s), s);
    assert.equal(cumulative.get(ben(1).toLowerCase() as Address), 900n);
  });
});
