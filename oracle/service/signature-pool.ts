/**
 * Device signature checks off the event loop: a pool of worker threads running core's
 * `verifyDeviceSignatures` (native libsecp256k1 recovery, OpenSSL P-256). Checks asked for in the same
 * turn of the event loop travel together, one message per worker, so a bulk request of 100 readings
 * costs the services' event loop two messages, not 100 recoveries.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";

import { startWorker } from "../core/worker-thread.js";
// Not core/keys.js: the worker loads this module, and these two import neither viem nor keccak.
import { signDigest } from "../core/signing.js";
import { verifyDeviceSignatures, type KeyScheme, type VerifyDeviceSignatureParameters } from "../core/signature-verify.js";

/** One signature to check: the device's key and scheme, the 32-byte digest it signed, the signature. */
export interface SignatureCheck {
  scheme: KeyScheme;
  /** 64 bytes x‖y. */
  publicKey: Uint8Array;
  digest: Uint8Array;
  /** 65 bytes r‖s‖v (secp256k1) or 64 bytes r‖s (P-256). */
  signature: Uint8Array;
  /**
   * Signed with this secp256k1 key (as `signDigest`) only if the check verifies, in the same message:
   * the relayer's receipt of the reading, made on the worker that checked it.
   */
  thenSign?: { privateKey: Uint8Array; digest: Uint8Array };
}

/** A check's answer: whether it verifies, and its `thenSign` signature (65 bytes r‖s‖v) when it does. */
export interface CheckAnswer {
  ok: boolean;
  signature?: Uint8Array;
}

/**
 * Bytes of one packed check: scheme (1), public key (64), digest (32), signature length (1), signature
 * slot (65), then-sign key index (1; 255: none), then-sign digest (32).
 */
export const PACKED_CHECK_BYTES = 196;
const NO_KEY = 255;
const SCHEME_IDS: Record<KeyScheme, number> = { secp256k1: 0, p256: 1 };
const SCHEMES: readonly KeyScheme[] = ["secp256k1", "p256"];

/** A packed group: the checks, and the distinct then-sign keys they refer to by index. */
export interface PackedChecks {
  packed: Uint8Array<ArrayBuffer>;
  keys: Uint8Array[];
}

/** Packs `checks` into one transferable buffer (see {@link PACKED_CHECK_BYTES}); a malformed check packs as a sure failure. */
export function packChecks(checks: readonly SignatureCheck[]): PackedChecks {
  const out = new Uint8Array(checks.length * PACKED_CHECK_BYTES);
  const keys: Uint8Array[] = [];
  checks.forEach((c, i) => {
    const at = i * PACKED_CHECK_BYTES;
    const wellFormed = c.publicKey.length === 64 && c.digest.length === 32 && c.signature.length <= 65;
    out[at] = wellFormed ? SCHEME_IDS[c.scheme] : 255;
    out[at + 163] = NO_KEY;
    if (!wellFormed) return;
    out.set(c.publicKey, at + 1);
    out.set(c.digest, at + 65);
    out[at + 97] = c.signature.length;
    out.set(c.signature, at + 98);
    const sign = c.thenSign;
    if (sign === undefined || sign.digest.length !== 32) return;
    let k = keys.indexOf(sign.privateKey);
    if (k < 0) k = keys.push(sign.privateKey) - 1;
    if (k >= NO_KEY) throw new RangeError(`at most ${NO_KEY} then-sign keys in one group`);
    out[at + 163] = k;
    out.set(sign.digest, at + 164);
  });
  return { packed: out, keys };
}

/**
 * Checks packed signatures on the calling thread: `ok` 1 where valid, 0 where not (malformed included);
 * `signatures` 65 bytes per check, the then-sign signature of each valid check that asked for one
 * (zeros elsewhere; absent when none asked).
 */
export function verifyPacked({ packed, keys }: PackedChecks): { ok: Uint8Array<ArrayBuffer>; signatures?: Uint8Array<ArrayBuffer> } {
  const n = Math.floor(packed.length / PACKED_CHECK_BYTES);
  const ok = new Uint8Array(n);
  const checks: VerifyDeviceSignatureParameters[] = [];
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * PACKED_CHECK_BYTES;
    const scheme = SCHEMES[packed[o]];
    if (scheme === undefined) continue; // malformed: a sure failure
    checks.push({
      scheme,
      publicKey: packed.subarray(o + 1, o + 65),
      digest: packed.subarray(o + 65, o + 97),
      signature: packed.subarray(o + 98, o + 98 + packed[o + 97]),
    });
    at.push(i);
  }
  // All at once: the P-256 checks of a group share their modular inversions (core/keys.ts).
  verifyDeviceSignatures(checks).forEach((valid, k) => (ok[at[k]] = valid ? 1 : 0));
  if (keys.length === 0) return { ok };
  const signatures = new Uint8Array(n * 65);
  for (let i = 0; i < n; i++) {
    const o = i * PACKED_CHECK_BYTES;
    const key = keys[packed[o + 163]];
    if (ok[i] === 1 && key !== undefined) signatures.set(signDigest("secp256k1", key, packed.subarray(o + 164, o + 196)), i * 65);
  }
  return { ok, signatures };
}

/** Signs packed 32-byte digests with one secp256k1 key on the calling thread: 65 bytes r‖s‖v each. */
export function signPacked(privateKey: Uint8Array, digests: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = Math.floor(digests.length / 32);
  const out = new Uint8Array(n * 65);
  for (let i = 0; i < n; i++) out.set(signDigest("secp256k1", privateKey, digests.subarray(i * 32, i * 32 + 32)), i * 65);
  return out;
}

/** A worker's answer: a check group's `ok` (and then-sign `signatures`), or a signing job's `signatures`. */
interface WorkerAnswer {
  id: number;
  ok?: Uint8Array;
  signatures?: Uint8Array;
}

/** The answer to check `i` of a verified group. */
function answerOf({ ok, signatures }: { ok: Uint8Array; signatures?: Uint8Array }, i: number): CheckAnswer {
  if (ok[i] !== 1) return { ok: false };
  const signature = signatures?.subarray(i * 65, i * 65 + 65);
  return signature === undefined || signature[64] === 0 ? { ok: true } : { ok: true, signature };
}

/** Fewest checks one worker is given while others are free (a message costs about as much as a check). */
const MIN_CHECK_SHARE = 8;

/** Fewest receipts one worker is given to sign: smaller groups are not worth a second message. */
const MIN_SIGNING_SHARE = 32;

/** Options of {@link SignaturePool}. */
export interface SignaturePoolOptions {
  /** Worker threads; 0 checks on the calling thread (tests, tiny deployments). Default: one per core. */
  threads?: number;
  /** Most checks in one message to a worker. */
  maxBatch?: number;
}

interface PendingCheck {
  check: SignatureCheck;
  resolve(answer: CheckAnswer): void;
  reject(error: unknown): void;
}

interface PendingSigning {
  privateKey: Uint8Array;
  digests: Uint8Array;
  resolve(signatures: Uint8Array): void;
  reject(error: unknown): void;
}

interface PoolWorker {
  worker: Worker;
  /** Checks and signatures sent to it and not yet answered. */
  load: number;
  waiting: Map<number, PendingCheck[]>;
  signing: Map<number, PendingSigning>;
}

/**
 * A pool of worker threads checking device signatures for the services (relayer, platform), and
 * signing the relayer's receipts (a whole group commit's in one message).
 *
 * @example
 * const pool = new SignaturePool({ threads: 2 });
 * const ok = await pool.verify({ scheme: "secp256k1", publicKey, digest, signature }); // true / false
 * await pool.close();
 */
export class SignaturePool {
  readonly threads: number;
  readonly #maxBatch: number;
  #workers: PoolWorker[] | undefined;
  #queue: PendingCheck[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #closed = false;
  /** Checks answered so far (all threads). */
  checked = 0;

  constructor(options: SignaturePoolOptions = {}) {
    this.threads = Math.max(0, Math.floor(options.threads ?? availableParallelism()));
    this.#maxBatch = Math.max(1, options.maxBatch ?? 256);
  }

  /** Checks one signature; resolves true when it verifies (never rejects for a bad signature). */
  async verify(check: SignatureCheck): Promise<boolean> {
    return (await this.check(check)).ok;
  }

  /**
   * Checks one signature and, when it verifies and `check.thenSign` is given, signs that digest in the
   * same message (never rejects for a bad signature).
   */
  check(check: SignatureCheck): Promise<CheckAnswer> {
    if (this.#closed) return Promise.reject(new Error("the signature pool is closed"));
    if (this.threads === 0) {
      this.checked++;
      return Promise.resolve(answerOf(verifyPacked(packChecks([check])), 0));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ check, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        // Checks asked for in this turn (a whole bulk request, concurrent requests) go together.
        setImmediate(() => this.#flush());
      }
    });
  }

  /**
   * Signs `digests` (32 bytes each) with one secp256k1 key on a worker, all in one message: answers
   * the 65-byte r‖s‖v signatures, in order (libsecp256k1, RFC 6979, low s: as `signDigest`).
   */
  async signAll(privateKey: Uint8Array, digests: readonly Uint8Array[]): Promise<Uint8Array[]> {
    if (this.#closed) throw new Error("the signature pool is closed");
    const packed = new Uint8Array(digests.length * 32);
    digests.forEach((d, i) => packed.set(d, i * 32));
    if (this.threads === 0 || digests.length === 0) {
      const signed = signPacked(privateKey, packed);
      return digests.map((_, i) => signed.subarray(i * 65, i * 65 + 65));
    }
    // Split over the workers (a group commit's receipts are signed in parallel), least loaded first.
    const workers = [...this.#start()].sort((a, b) => a.load - b.load);
    const share = Math.max(MIN_SIGNING_SHARE, Math.ceil(digests.length / workers.length));
    const parts: Promise<Uint8Array>[] = [];
    for (let from = 0, w = 0; from < digests.length; from += share, w++) {
      const part = packed.slice(from * 32, Math.min(digests.length, from + share) * 32);
      parts.push(this.#sign(workers[w % workers.length], privateKey, part));
    }
    const signed = await Promise.all(parts);
    return signed.flatMap((part) => Array.from({ length: part.length / 65 }, (_, i) => part.subarray(i * 65, i * 65 + 65)));
  }

  #sign(target: PoolWorker, privateKey: Uint8Array, digests: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const id = this.#nextId++;
      target.signing.set(id, { privateKey, digests: digests.slice(), resolve, reject });
      target.load += digests.length / 32;
      target.worker.ref();
      target.worker.postMessage({ id, sign: { privateKey, digests } }, [digests.buffer]);
    });
  }

  /** Starts the workers now, so their start-up does not delay the first checks. */
  warm(): void {
    if (this.threads > 0 && !this.#closed) this.#start();
  }

  /** Checks waiting or in a worker. */
  get pending(): number {
    return this.#queue.length + (this.#workers ?? []).reduce((sum, w) => sum + w.load, 0);
  }

  #flush(): void {
    this.#flushScheduled = false;
    // Only to workers with no check message outstanding: while all are busy, checks gather here and
    // go in one message to the first worker that answers (few messages under load, none waiting when idle).
    const free = this.#start().filter((w) => w.waiting.size === 0);
    while (this.#queue.length > 0 && free.length > 0) {
      // Least loaded free worker first; split the waiting checks so every free worker gets a share, but
      // no share smaller than MIN_CHECK_SHARE: a few checks are cheaper in one message than in several.
      const share = Math.min(this.#maxBatch, Math.max(MIN_CHECK_SHARE, Math.ceil(this.#queue.length / free.length)));
      free.sort((a, b) => a.load - b.load);
      const target = free.shift() as PoolWorker;
      const group = this.#queue.splice(0, share);
      const id = this.#nextId++;
      target.waiting.set(id, group);
      target.load += group.length;
      const { packed, keys } = packChecks(group.map((p) => p.check));
      target.worker.ref();
      target.worker.postMessage({ id, packed, keys }, [packed.buffer]);
    }
  }

  #start(): PoolWorker[] {
    if (this.#workers !== undefined) return this.#workers;
    this.#workers = Array.from({ length: this.threads }, () => {
      const entry: PoolWorker = {
        worker: startWorker(import.meta.url, "signature-pool-worker"),
        load: 0,
        waiting: new Map(),
        signing: new Map(),
      };
      entry.worker.on("message", (message: WorkerAnswer) => this.#answer(entry, message));
      entry.worker.on("error", (error) => this.#fail(entry, error));
      // After the listeners: Node refs a worker's port again when its first "message" listener is added,
      // and an idle worker that was never given work would then keep the process alive.
      entry.worker.unref();
      return entry;
    });
    return this.#workers;
  }

  #answer(entry: PoolWorker, { id, ok, signatures }: WorkerAnswer): void {
    const signing = entry.signing.get(id);
    if (signing !== undefined && signatures !== undefined && ok === undefined) {
      entry.signing.delete(id);
      entry.load -= signatures.length / 65;
      if (entry.load === 0) entry.worker.unref();
      signing.resolve(signatures);
      return;
    }
    const group = entry.waiting.get(id);
    if (group === undefined || ok === undefined) return;
    entry.waiting.delete(id);
    entry.load -= group.length;
    this.checked += group.length;
    if (entry.load === 0) entry.worker.unref();
    group.forEach((p, i) => p.resolve(answerOf({ ok, signatures }, i)));
    if (this.#queue.length > 0 && !this.#flushScheduled) this.#flush(); // what gathered while it was busy
  }

  /** A worker died: its checks are run again on this thread (slower, never lost), and it is replaced on the next flush. */
  #fail(entry: PoolWorker, error: unknown): void {
    const groups = [...entry.waiting.values()];
    const signings = [...entry.signing.values()];
    entry.waiting.clear();
    entry.signing.clear();
    entry.load = 0;
    this.#workers = this.#workers?.filter((w) => w !== entry);
    if (this.#workers?.length === 0) this.#workers = undefined;
    void entry.worker.terminate();
    for (const group of groups) {
      try {
        const answers = verifyPacked(packChecks(group.map((p) => p.check)));
        group.forEach((p, i) => p.resolve(answerOf(answers, i)));
      } catch {
        for (const p of group) p.reject(error);
      }
    }
    for (const p of signings) {
      try {
        p.resolve(signPacked(p.privateKey, p.digests));
      } catch {
        p.reject(error);
      }
    }
    if (this.#queue.length > 0 && !this.#closed) this.#flush(); // checks that were waiting for a free worker
  }

  /** Ends the workers; checks still waiting are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers ?? [];
    this.#workers = undefined;
    for (const w of workers) {
      for (const group of w.waiting.values()) for (const p of group) p.reject(new Error("the signature pool closed"));
      for (const p of w.signing.values()) p.reject(new Error("the signature pool closed"));
    }
    for (const p of this.#queue.splice(0)) p.reject(new Error("the signature pool closed"));
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

let shared: SignaturePool | undefined;

/**
 * The process's shared pool (one worker per core), for services that run side by side in one process
 * (`npm start`, tests): workers are stateless, so sharing them keeps one per core whatever the number of
 * services. Idle workers do not keep the process alive; the shared pool is never closed.
 *
 * @example
 * const ok = await sharedSignaturePool().verify({ scheme: "p256", publicKey, digest, signature });
 */
export function sharedSignaturePool(): SignaturePool {
  shared ??= new SignaturePool();
  shared.warm();
  return shared;
}

/** The pool a service uses: its own when `threads` is given (closed with the service), else the shared one. */
export function servicePool(threads: number | undefined): { pool: SignaturePool; close(): Promise<void> } {
  if (threads === undefined) return { pool: sharedSignaturePool(), close: async () => {} };
  const pool = new SignaturePool({ threads });
  pool.warm();
  return { pool, close: () => pool.close() };
}
