import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress, type Address, type Hex } from "viem";

import {
  authenticateManifest,
  ManifestIssue,
  type ManifestAuthentication,
  type ManifestProblem,
} from "../../oracle/core/anchored-batch.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { canonicalize } from "../../oracle/core/canonical.js";
import { keccak256Hex } from "../../oracle/core/keccak.js";
import { buildBatch, parseManifest, type Batch, type BatchItem, type Manifest } from "../../oracle/core/manifest.js";
import { seededRandom } from "../../scripts/lib/bench/util.js";
import { randomReading } from "./helpers.js";

const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DOMAIN = { chainId: 31337, anchor: ANCHOR };
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The authentication as it was before rebuildBatch (full re-serialization by buildBatch): the
 * reference the shortcut must agree with on every input.
 */
function referenceAuthentication(bytes: Uint8Array, anchored: { root: Hex; manifestHash: Hex; leafCount: number }): ManifestAuthentication {
  const problems: ManifestProblem[] = [];
  const bytesHash = keccak256Hex(bytes).toLowerCase();
  if (bytesHash !== anchored.manifestHash.toLowerCase())
    problems.push({
      issue: ManifestIssue.MANIFEST_HASH_MISMATCH,
      message: "keccak256(manifest) is not the anchored manifest hash",
      details: { anchored: anchored.manifestHash, actual: bytesHash },
    });
  let manifest: Manifest;
  try {
    manifest = parseManifest(bytes);
  } catch (error) {
    problems.push({ issue: ManifestIssue.MANIFEST_INVALID, message: `manifest does not parse: ${(error as Error).message}` });
    return { ok: false, reason: problems[0].issue, problems };
  }
  if (manifest.chainId !== DOMAIN.chainId || manifest.anchor !== getAddress(DOMAIN.anchor))
    problems.push({
      issue: ManifestIssue.DOMAIN_MISMATCH,
      message: "manifest is for another chain or anchor",
      details: { chainId: manifest.chainId, anchor: manifest.anchor },
    });
  if (manifest.items.length !== anchored.leafCount)
    problems.push({
      issue: ManifestIssue.LEAF_COUNT_MISMATCH,
      message: "leaf count differs",
      details: { anchored: anchored.leafCount, manifest: manifest.items.length },
    });
  let built: Batch;
  try {
    built = buildBatch(manifest);
  } catch (error) {
    problems.push({ issue: ManifestIssue.MANIFEST_INVALID, message: `manifest does not build a batch: ${(error as Error).message}` });
    return { ok: false, reason: problems[0].issue, problems, manifest };
  }
  if (built.manifestHash !== bytesHash)
    problems.push({ issue: ManifestIssue.MANIFEST_INVALID, message: "manifest bytes are not in leaf order (rebuild gives other bytes)" });
  if (built.root !== anchored.root.toLowerCase())
    problems.push({
      issue: ManifestIssue.ROOT_MISMATCH,
      message: "manifest does not rebuild the anchored root",
      details: { anchored: anchored.root, rebuilt: built.root },
    });
  return problems.length === 0 ? { ok: true, manifest, built } : { ok: false, reason: problems[0].issue, problems, manifest, built };
}

/** Everything a caller can see of an authentication, as comparable plain values. */
function observable(auth: ManifestAuthentication) {
  const { built } = auth;
  return {
    ok: auth.ok,
    reason: auth.ok ? undefined : auth.reason,
    problems: auth.ok ? [] : auth.problems,
    manifest: auth.manifest,
    built:
      built === undefined
        ? undefined
        : {
            root: built.root,
            leafCount: built.leafCount,
            manifest: built.manifest,
            manifestBytes: bytesToHex(built.manifestBytes),
            manifestHash: built.manifestHash,
            leaves: built.leaves,
            proofs: built.proofs,
          },
  };
}

type Json = { anchor: string; chainId: unknown; readings: Record<string, unknown>[]; v: unknown } & Record<string, unknown>;

function flipCase(s: string, at: number): string {
  const c = s[at];
  const flipped = c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
  return s.slice(0, at) + flipped + s.slice(at + 1);
}

/** Mutants of a real manifest: item order, duplicates, hex case, whitespace, key order, number spellings, extra fields. */
function mutants(bytes: Uint8Array, seed: number): { name: string; bytes: Uint8Array }[] {
  const rand = seededRandom(seed);
  const pick = (n: number) => Math.floor(rand() * n);
  const text = dec.decode(bytes);
  const base = JSON.parse(text) as Json;
  const n = base.readings.length;
  const out: { name: string; bytes: Uint8Array }[] = [];
  const canonical = (name: string, f: (m: Json) => void) => {
    const m = structuredClone(base);
    f(m);
    out.push({ name, bytes: enc.encode(canonicalize(m)) });
  };
  const raw = (name: string, s: string) => out.push({ name, bytes: enc.encode(s) });

  canonical("unchanged", () => {});
  const i = pick(n);
  const j = (i + 1 + pick(n - 1)) % n;
  canonical(`swap ${i},${j}`, (m) => ([m.readings[i], m.readings[j]] = [m.readings[j], m.readings[i]]));
  canonical("reverse", (m) => m.readings.reverse());
  canonical("shuffle", (m) => {
    for (let k = n - 1; k > 0; k--) {
      const r = pick(k + 1);
      [m.readings[k], m.readings[r]] = [m.readings[r], m.readings[k]];
    }
  });
  canonical(`move ${i} to end`, (m) => m.readings.push(...m.readings.splice(i, 1)));
  canonical(`duplicate ${i} next to itself`, (m) => m.readings.splice(i, 0, structuredClone(m.readings[i])));
  canonical(`duplicate ${i} at ${j}`, (m) => m.readings.splice(j, 0, structuredClone(m.readings[i])));
  canonical(`drop ${i}`, (m) => m.readings.splice(i, 1));
  // Same reading (same leaf) under another signature: the tie is settled by input order, both ways.
  const otherSig = `0x${"ab".repeat(64)}1c`;
  canonical(`same leaf as ${i}, other signature after`, (m) => m.readings.splice(i + 1, 0, { ...m.readings[i], signature: otherSig }));
  canonical(`same leaf as ${i}, other signature before`, (m) => m.readings.splice(i, 0, { ...m.readings[i], signature: otherSig }));
  for (const field of ["dataHash", "signature", "device"]) {
    canonical(`${field} of ${i} upper case`, (m) => (m.readings[i][field] = `0x${String(m.readings[i][field]).slice(2).toUpperCase()}`));
    canonical(`${field} of ${i} lower case`, (m) => (m.readings[i][field] = String(m.readings[i][field]).toLowerCase()));
    const s = String(base.readings[i][field]);
    canonical(`${field} of ${i}, one letter's case flipped`, (m) => (m.readings[i][field] = flipCase(s, 2 + pick(s.length - 2))));
  }
  canonical("anchor lower case", (m) => (m.anchor = m.anchor.toLowerCase()));
  canonical(`seq of ${i} leading zero`, (m) => (m.readings[i].seq = `0${String(m.readings[i].seq)}`));
  canonical(`seq of ${i} as a number`, (m) => (m.readings[i].seq = Number(m.readings[i].seq)));
  canonical(`timestamp of ${i} +1`, (m) => (m.readings[i].timestamp = String(BigInt(String(m.readings[i].timestamp)) + 1n)));
  canonical("chainId as a string", (m) => (m.chainId = String(m.chainId)));
  canonical("chainId 1", (m) => (m.chainId = 1));
  canonical("v 2", (m) => (m.v = 2));
  canonical(`extra field in ${i}`, (m) => (m.readings[i].extra = "1"));
  canonical("extra top-level field", (m) => (m.x = 1));
  canonical(`missing field in ${i}`, (m) => delete m.readings[i].seq);
  // Byte-level spellings of the same value (not canonical).
  const at = 1 + pick(text.length - 1);
  raw(`whitespace at ${at}`, `${text.slice(0, at)} ${text.slice(at)}`);
  raw("trailing newline", `${text}\n`);
  raw("chainId 31337.0", text.replace('"chainId":31337', '"chainId":31337.0'));
  raw("chainId 3.1337e4", text.replace('"chainId":31337', '"chainId":3.1337e4'));
  raw("top-level key order", text.replace(/^\{("anchor":"0x[0-9a-fA-F]{40}"),("chainId":31337)/, "{$2,$1"));
  raw("reading key order", text.replace(/\{("dataHash":"0x[0-9a-f]{64}"),("device":"0x[0-9a-fA-F]{40}")/, "{$2,$1"));
  raw("escaped hex digit", text.replace(/"dataHash":"0x([0-9])/, '"dataHash":"0x\\u003$1'));
  const hexAt = [...text.matchAll(/0x[0-9a-fA-F]+/g)];
  const m = hexAt[pick(hexAt.length)];
  raw("a hex letter's case flipped in place", flipCase(text, m.index + 2 + pick(m[0].length - 2)));
  return out;
}

function realItems(n: number, rand: () => number): BatchItem[] {
  return Array.from({ length: n }, () => ({
    reading: randomReading(),
    signature: bytesToHex(crypto.getRandomValues(new Uint8Array(rand() < 0.5 ? 65 : 64))),
  }));
}

describe("authenticateManifest (leaf order checked without re-serializing)", () => {
  it("gives the same verdicts, problems and rebuilt batch as the full re-serialization on every mutant of real manifests", () => {
    const rand = seededRandom(13);
    let compared = 0;
    const reasons = new Map<string, number>();
    for (let round = 0; round < 40; round++) {
      const n = 1 + Math.floor(rand() * 12);
      const batch = buildBatch({ chainId: DOMAIN.chainId, anchor: ANCHOR, items: realItems(n, rand) });
      for (const mutant of mutants(batch.manifestBytes, round + 1)) {
        // Anchored as the original, and as if the mutant itself had been anchored (hash passes: the
        // leaf-order and root checks then decide).
        const anchorings = [
          { root: batch.root, manifestHash: batch.manifestHash, leafCount: batch.leafCount },
          { root: batch.root, manifestHash: keccak256Hex(mutant.bytes), leafCount: n },
        ];
        for (const anchored of anchorings) {
          const expected = observable(referenceAuthentication(mutant.bytes, anchored));
          const actual = observable(authenticateManifest(mutant.bytes, anchored, DOMAIN));
          assert.deepEqual(actual, expected, `round ${round}, mutant "${mutant.name}"`);
          const key = expected.problems
            .map((p) => (p.message.startsWith("manifest bytes are not in leaf order") ? "LEAF_ORDER" : p.issue))
            .join("+");
          reasons.set(key || "OK", (reasons.get(key || "OK") ?? 0) + 1);
          compared++;
        }
      }
    }
    // The mutants reach every outcome that matters here (so this test can fail).
    assert.ok(compared > 2000, `${compared} comparisons`);
    assert.ok((reasons.get("OK") ?? 0) > 0, "some mutants authenticate");
    assert.ok(
      [...reasons.keys()].some((k) => k.includes("LEAF_ORDER")),
      `some mutants are out of leaf order: ${[...reasons.keys()]}`,
    );
    assert.ok(
      [...reasons.keys()].some((k) => k === "MANIFEST_INVALID"),
      "some mutants do not parse",
    );
  });

  it("builds proofs only when read, equal to buildBatch's", () => {
    const batch = buildBatch({ chainId: DOMAIN.chainId, anchor: ANCHOR, items: realItems(9, seededRandom(7)) });
    const auth = authenticateManifest(batch.manifestBytes, batch, DOMAIN);
    assert.ok(auth.ok);
    const descriptor = Object.getOwnPropertyDescriptor(auth.built, "proofs");
    assert.equal(typeof descriptor?.get, "function");
    assert.deepEqual(auth.built.proofs, buildBatch(auth.manifest).proofs);
    assert.equal(auth.built.proofs, auth.built.proofs, "built once");
  });

  it("calls onParsed with the parsed manifest before the checks, and only when the bytes parse", () => {
    const batch = buildBatch({ chainId: DOMAIN.chainId, anchor: ANCHOR, items: realItems(3, seededRandom(5)) });
    const seen: Manifest[] = [];
    const tampered = { ...batch, manifestHash: keccak256Hex(enc.encode("other")) };
    const auth = authenticateManifest(batch.manifestBytes, tampered, DOMAIN, (m) => seen.push(m));
    assert.equal(auth.ok, false);
    assert.equal(seen.length, 1);
    assert.equal(seen[0], auth.manifest);
    const bad = enc.encode(`${dec.decode(batch.manifestBytes)} `);
    const refused = authenticateManifest(bad, batch, DOMAIN, (m) => seen.push(m));
    assert.deepEqual(refused.ok ? [] : refused.problems.map((p) => p.issue), [
      ManifestIssue.MANIFEST_HASH_MISMATCH,
      ManifestIssue.MANIFEST_INVALID,
    ]);
    assert.equal(seen.length, 1);
  });
});
