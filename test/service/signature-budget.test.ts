import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ServiceError } from "../../oracle/service/errors.js";
import { Limiters } from "../../oracle/service/limiter.js";
import { SignatureBudget, type Checked } from "../../oracle/service/signature-budget.js";

/** A check that stays pending until released, counting how many were started. */
function heldChecks(outcome: "authentic" | "forged") {
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started = 0;
  let allStarted: () => void = () => undefined;
  const expected = { n: 0 };
  const inCheck = new Promise<void>((resolve) => (allStarted = resolve));
  const check = async (item: number): Promise<number> => {
    if (++started === expected.n) allStarted();
    await released;
    if (outcome === "forged") throw new ServiceError("INVALID_SIGNATURE", "forged");
    return item;
  };
  return { check, release, inCheck: (n: number) => ((expected.n = n), inCheck), started: () => started };
}

const codes = (results: Checked<number>[]) => results.map((r) => (r.ok ? "ok" : (r.error as ServiceError).code));

describe("SignatureBudget: refused readings charged, one address, concurrent submissions", () => {
  // 10 checks per window of 1,000 s: no window ends during a test.
  const budget = () => new SignatureBudget({ readingChecksPerSecond: 0.01, readingCheckBurst: 10 }, Limiters.memory("budget-test"));
  const items = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);

  it("honest concurrency beyond the burst: a later submission waits for room, none is refused", async () => {
    const b = budget();
    const first = heldChecks("authentic");
    const firstDone = b.checkEach("198.51.100.1", items(10), first.check);
    await first.inCheck(10); // the window's 10 points are all taken up by checks in flight
    let secondSettled = false;
    const second = b.checkEach("198.51.100.1", items(10, 10), async (i) => i).finally(() => (secondSettled = true));
    // Another address is not held back meanwhile, and its answer comes while the first's checks are still pending.
    assert.deepEqual(codes(await b.checkEach("203.0.113.9", items(3), async (i) => i)), ["ok", "ok", "ok"]);
    assert.equal(secondSettled, false, "the second submission waits; it was not refused");
    first.release();
    assert.deepEqual(codes(await firstDone), Array(10).fill("ok"));
    assert.deepEqual(codes(await second), Array(10).fill("ok"));
    assert.equal(b.checksInFlight, 0);
  });

  it("a concurrent bad-signature flood still costs only the burst: the waiting submissions are refused unchecked", async () => {
    const b = budget();
    const flood = heldChecks("forged");
    const firstDone = b.checkEach("203.0.113.7", items(10), flood.check);
    await flood.inCheck(10);
    const more = [b.checkEach("203.0.113.7", items(10), flood.check), b.checkEach("203.0.113.7", items(5), flood.check)];
    flood.release();
    assert.deepEqual(codes(await firstDone), Array(10).fill("INVALID_SIGNATURE"));
    for (const [k, answer] of (await Promise.all(more)).entries())
      assert.deepEqual(codes(answer), Array(k === 0 ? 10 : 5).fill("RATE_LIMITED"));
    assert.equal(flood.started(), 10, "only the burst's checks ran");
    assert.equal(b.checksInFlight, 0);
  });

  it("half honest, half forged: refusals cost exactly their number, authentic readings nothing", async () => {
    const b = budget();
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const firstDone = b.checkEach("192.0.2.5", items(10), async (i) => {
      await released;
      if (i % 2 === 1) throw new ServiceError("INVALID_SIGNATURE", "forged");
      return i;
    });
    const second = b.checkEach("192.0.2.5", items(8, 100), async (i) => i);
    release();
    assert.deepEqual(
      codes(await firstDone),
      items(10).map((i) => (i % 2 === 1 ? "INVALID_SIGNATURE" : "ok")),
    );
    // 5 points left: 5 of the second's 8 are checked in a first wave, the other 3 in a second.
    assert.deepEqual(codes(await second), Array(8).fill("ok"));
    // The 5 forged readings cost 5 points: 5 left in this window.
    assert.deepEqual(codes(await b.checkEach("192.0.2.5", items(7), async (i) => i)), Array(7).fill("ok"));
    const spent = heldChecks("forged");
    const flood = b.checkEach("192.0.2.5", items(7), spent.check);
    spent.release();
    assert.deepEqual(codes(await flood), [...Array(5).fill("INVALID_SIGNATURE"), ...Array(2).fill("RATE_LIMITED")]);
  });
});
