/**
 * The services' shared group commit (oracle/service/group-commit.ts) and the signature pool's checks and receipt
 * signing on worker threads (oracle/service/signature-pool.ts).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { recoverAddress } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { generatePrivateKey, publicKeyFromPrivate, signDigest } from "../../oracle/core/keys.js";
import { GroupCommit } from "../../oracle/service/group-commit.js";
import { SignaturePool } from "../../oracle/service/signature-pool.js";

describe("group commit", () => {
  it("commits concurrent callers together, in arrival order, each answered with its own items' outcomes", async () => {
    const commits: number[][] = [];
    const writer = new GroupCommit(async (items: number[]) => {
      commits.push([...items]);
      return items.map((n) => n * 10);
    });
    const answers = await Promise.all([writer.submit([1, 2]), writer.submit([3]), writer.submit([4, 5, 6])]);
    assert.deepEqual(answers, [[10, 20], [30], [40, 50, 60]]);
    assert.deepEqual(commits, [[1, 2, 3, 4, 5, 6]], "one transaction for the three callers");
    assert.equal(writer.commits, 1);
    assert.deepEqual(await writer.submit([]), []);
  });

  it("keeps groups under maxGroup without splitting a caller, and rejects only the callers of a failed transaction", async () => {
    const commits: string[][] = [];
    const writer = new GroupCommit(
      async (items: string[]) => {
        commits.push([...items]);
        if (items.includes("bad")) throw new Error("store down");
        return items.map((s) => s.toUpperCase());
      },
      { maxGroup: 3 },
    );
    const results = await Promise.allSettled([
      writer.submit(["a", "b"]),
      writer.submit(["c", "d"]),
      writer.submit(["bad"]),
      writer.submit(["e"]),
    ]);
    await writer.idle();
    assert.deepEqual(commits, [["a", "b"], ["c", "d", "bad"], ["e"]]);
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message)),
      [["A", "B"], "store down", "store down", ["E"]],
    );
  });
});

describe("group commit: the next transaction while one is being flushed", () => {
  it("starts the next group once the last one committed, before it is durable, with everything that arrived meanwhile", async () => {
    const events: string[] = [];
    const flushes: (() => void)[] = [];
    const writer = new GroupCommit(async (items: number[], committed) => {
      events.push(`commit ${items.join(",")}`);
      committed(); // the transaction committed; its flush is still to come
      await new Promise<void>((resolve) => flushes.push(resolve));
      events.push(`durable ${items.join(",")}`);
      return items.map((n) => -n);
    });
    const first = writer.submit([1]);
    const answers: Promise<number[]>[] = [first];
    // While group [1] waits for its flush, more callers arrive; one holds the store at a time.
    await waitFor(() => flushes.length === 1);
    answers.push(writer.submit([2]), writer.submit([3]));
    await waitFor(() => flushes.length === 2);
    assert.deepEqual(events, ["commit 1", "commit 2,3"], "group 2 committed while group 1 was not durable yet");
    let firstAnswered = false;
    void first.then(() => (firstAnswered = true));
    flushes[1](); // the later flush may finish first: each caller is answered with its own group
    assert.deepEqual(await answers[1], [-2]);
    assert.equal(firstAnswered, false, "group 1 is answered only once durable");
    flushes[0]();
    assert.deepEqual(await Promise.all(answers), [[-1], [-2], [-3]]);
    await writer.idle();
    assert.equal(writer.commits, 2);
  });

  it("without a committed call, groups run one after the other, as before", async () => {
    let running = 0;
    let most = 0;
    const writer = new GroupCommit(async (items: number[]) => {
      most = Math.max(most, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return items;
    });
    const answers = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        for (let k = 0; k < i; k++) await new Promise((resolve) => setImmediate(resolve));
        return writer.submit([i]);
      }),
    );
    assert.deepEqual(
      answers,
      Array.from({ length: 10 }, (_, i) => [i]),
    );
    assert.equal(most, 1);
  });
});

/** Waits until `condition` holds, a turn of the event loop at a time; fails after `turns` turns (no clock). */
async function waitFor(condition: () => boolean, turns = 1000): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn === turns) throw new Error(`condition not met after ${turns} turns of the event loop`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("signature pool: receipt signing on worker threads", () => {
  const key = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";
  const digests = Array.from({ length: 40 }, (_, i) => new Uint8Array(32).fill(i + 1));

  for (const threads of [0, 2]) {
    it(`signs a group of digests exactly as signDigest does, recovering to the key (${threads} threads)`, async () => {
      const pool = new SignaturePool({ threads });
      try {
        const signed = await pool.signAll(hexToBytes(key), digests);
        assert.equal(signed.length, digests.length);
        for (const [i, digest] of digests.entries()) {
          assert.deepEqual(signed[i], signDigest("secp256k1", key, digest));
        }
        const signer = await recoverAddress({ hash: bytesToHex(digests[7]), signature: bytesToHex(signed[7]) });
        assert.equal(signer, privateKeyToAccount(key).address);
        assert.deepEqual(await pool.signAll(hexToBytes(key), []), []);
      } finally {
        await pool.close();
      }
    });
  }
});

describe("signature pool: checks on worker threads", () => {
  it("answers every check of many event-loop turns right, while its workers are busy (checks gather, nothing waits forever)", async () => {
    const schemes = ["secp256k1", "p256"] as const;
    const keys = schemes.map((scheme) => {
      const priv = generatePrivateKey(scheme);
      return { scheme, priv, publicKey: publicKeyFromPrivate(scheme, priv) };
    });
    const pool = new SignaturePool({ threads: 2 });
    try {
      const answers: Promise<boolean>[] = [];
      const expected: boolean[] = [];
      // 40 turns of 1..40 checks: the first turns find free workers, the later ones gather behind them.
      for (let turn = 0; turn < 40; turn++) {
        for (let k = 0; k <= turn; k++) {
          const { scheme, priv, publicKey } = keys[(turn + k) % 2];
          const digest = new Uint8Array(32).fill((turn * 41 + k) % 251);
          const valid = (turn + k) % 3 !== 0;
          const signature = signDigest(scheme, priv, valid ? digest : new Uint8Array(32).fill(255));
          answers.push(pool.verify({ scheme, publicKey, digest, signature }));
          expected.push(valid);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(await Promise.all(answers), expected);
      assert.equal(pool.checked, expected.length);
      assert.equal(pool.pending, 0);
    } finally {
      await pool.close();
    }
  });
});

describe("signature pool: a receipt signed with the check that admits it", () => {
  for (const threads of [0, 2]) {
    it(`signs thenSign's digest only for checks that verify, exactly as signDigest does, each with its own key (${threads} threads)`, async () => {
      const receiptKeys = [generatePrivateKey("secp256k1"), generatePrivateKey("secp256k1")];
      const schemes = ["secp256k1", "p256"] as const;
      const devices = schemes.map((scheme) => {
        const priv = generatePrivateKey(scheme);
        return { scheme, priv, publicKey: publicKeyFromPrivate(scheme, priv) };
      });
      const pool = new SignaturePool({ threads });
      try {
        const cases = Array.from({ length: 24 }, (_, i) => {
          const { scheme, priv, publicKey } = devices[i % 2];
          const digest = new Uint8Array(32).fill(i + 1);
          const valid = i % 3 !== 0;
          const signature = signDigest(scheme, priv, valid ? digest : new Uint8Array(32).fill(255));
          const thenSign = i % 4 === 3 ? undefined : { privateKey: receiptKeys[i % 2], digest: new Uint8Array(32).fill(100 + i) };
          return { check: { scheme, publicKey, digest, signature, ...(thenSign === undefined ? {} : { thenSign }) }, valid, thenSign };
        });
        const answers = await Promise.all(cases.map((c) => pool.check(c.check)));
        answers.forEach((answer, i) => {
          const { valid, thenSign } = cases[i];
          assert.equal(answer.ok, valid, `check ${i}`);
          if (!valid || thenSign === undefined) assert.equal(answer.signature, undefined, `check ${i} signs nothing`);
          else assert.deepEqual(answer.signature, signDigest("secp256k1", thenSign.privateKey, thenSign.digest), `check ${i}`);
        });
        assert.equal(answers.filter((a) => a.signature !== undefined).length, 12);
      } finally {
        await pool.close();
      }
    });
  }
});
