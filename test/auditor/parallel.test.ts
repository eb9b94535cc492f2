/**
 * The auditor checking several work items at once: each batch gets exactly its verdicts, and a
 * verifier retired by one item (here after every item) is closed only once the items still checking
 * on it are done — none of them fails and is retried for it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { RunningAuditor } from "../../oracle/auditor/main.js";
import { chainTime, registeredDevice, request, startStack, type Stack, type TestDevice } from "../verifier/fixtures.js";
import { startStackAuditor, waitVerdicts } from "./helpers.js";

describe("auditor: work items checked at once", { timeout: 300_000 }, () => {
  let stack: Stack;
  let a: TestDevice;
  let b: TestDevice;
  let running: RunningAuditor | undefined;
  const batches = 6;

  before(async () => {
    stack = await startStack();
    a = await registeredDevice(stack.chain, "secp256k1");
    b = await registeredDevice(stack.chain, "p256");
    const t0 = await chainTime(stack.chain);
    // One batch per pair of readings: the auditor finds several items due on its first poll.
    for (let seq = 1; seq <= batches; seq++) {
      await stack.send(a, seq, t0 + seq);
      await stack.send(b, seq, t0 + seq);
      await stack.waitAnchored(a.address, [seq]);
      await stack.waitAnchored(b.address, [seq]);
    }
  });

  after(async () => {
    await running?.stop();
    await stack?.close();
  });

  it("records one VERIFIED verdict per reading with no item retried, its verifier rotated after every item", async () => {
    running = await startStackAuditor(stack, { parallelItems: 4, rotateAfter: 1 });
    await waitVerdicts(stack, running, `${2 * batches} verified`, (v) => v.VERIFIED === 2 * batches);
    const status = (await request(`${running.url}/v1/status`)).body;
    assert.deepEqual(status.verdicts, { VERIFIED: 2 * batches });
    assert.deepEqual(status.unchecked, []);
    const progress = running.auditor.progress;
    assert.equal(progress.checkedReadings, 2 * batches);
    // Every anchored item checked once: a failure on a closed verifier would have been retried (counted again).
    const items = await running.store.workCounts();
    assert.equal(items.pending ?? 0, 0);
    assert.equal(progress.checkedItems, items.done);
    const metrics = await (await fetch(`${running.url}/metrics`)).text();
    assert.doesNotMatch(metrics, /^\w*auditor_unchecked_total\{/m);
  });
});
