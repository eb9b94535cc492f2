import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { getAddress, keccak256, toBytes } from "viem";

import {
  assertScopeDevicesKnown,
  inScope,
  normalizeScope,
  parseScopeBytes,
  scopeBytes,
  scopeHash,
  scopeWindow,
  MAX_SCOPE_DEVICES,
} from "../../oracle/core/scope.js";

const A = "0x00000000000000000000000000000000000000aa";
const B = "0x00000000000000000000000000000000000000bb";
const base = { v: 1, devices: [getAddress(B), A], fields: ["pm2_5_ugm3", "pm10_ugm3"], window: { from: 100, to: 200 } };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("market scope (oracle/core/scope.ts)", () => {
  it("normalizes to one canonical form whatever the order and case, and hashes it with keccak256", () => {
    const text = new TextDecoder().decode(scopeBytes(base));
    assert.equal(text, `{"devices":["${A}","${B}"],"fields":["pm10_ugm3","pm2_5_ugm3"],"v":1,"window":{"from":100,"to":200}}`);
    const reordered = {
      window: { to: 200, from: 100 },
      fields: ["pm10_ugm3", "pm2_5_ugm3"],
      devices: [A.toUpperCase().replace("0X", "0x"), B],
      v: 1,
    };
    assert.equal(scopeHash(reordered), scopeHash(base));
    assert.equal(scopeHash(base), keccak256(toBytes(text)));
  });

  it("pins a test vector (other implementations must reproduce this hash)", () => {
    assert.equal(
      scopeHash({ v: 1, devices: [A], fields: ["pm2_5_ugm3"], live: { seconds: 86_400 } }),
      keccak256(toBytes(`{"devices":["${A}"],"fields":["pm2_5_ugm3"],"live":{"seconds":86400},"v":1}`)),
    );
  });

  it("reads stored bytes back only in normalized form and against the expected hash", () => {
    const bytes = scopeBytes(base);
    assert.deepEqual(parseScopeBytes(bytes, scopeHash(base)).devices, [A, B]);
    assert.equal(
      code(() => parseScopeBytes(bytes, `0x${"00".repeat(32)}`)),
      "INVALID_SCOPE",
    );
    const unsorted = toBytes(`{"devices":["${B}","${A}"],"fields":["pm10_ugm3"],"v":1,"window":{"from":100,"to":200}}`);
    assert.equal(
      code(() => parseScopeBytes(unsorted)),
      "INVALID_SCOPE",
    );
    assert.equal(
      code(() => parseScopeBytes(toBytes('{ "v": 1 }'))),
      "INVALID_SCOPE",
    );
  });

  it("refuses malformed scopes with INVALID_SCOPE naming the path", () => {
    const cases: [unknown, string][] = [
      [null, "$"],
      [{ ...base, v: 2 }, "$.v"],
      [{ ...base, extra: 1 }, "$.extra"],
      [{ ...base, devices: [] }, "$.devices"],
      [{ ...base, devices: ["0x12"] }, "$.devices[0]"],
      [{ ...base, devices: [A, A.toUpperCase().replace("0X", "0x")] }, "$.devices"],
      [{ ...base, devices: Array.from({ length: MAX_SCOPE_DEVICES + 1 }, () => A) }, "$.devices"],
      [{ ...base, fields: ["PM25"] }, "$.fields[0]"],
      [{ ...base, fields: ["pm10_ugm3", "pm10_ugm3"] }, "$.fields"],
      [{ ...base, window: { from: 200, to: 200 } }, "$.window"],
      [{ ...base, window: { from: 1.5, to: 200 } }, "$.window.from"],
      [{ ...base, live: { seconds: 60 } }, "$"],
      [{ v: 1, devices: [A], fields: ["t"] }, "$"],
      [{ v: 1, devices: [A], fields: ["t"], live: { seconds: 0 } }, "$.live.seconds"],
      [{ v: 1, devices: [A], fields: ["t"], live: { seconds: 5, x: 1 } }, "$.live"],
      [{ ...base, region: { west: 1, south: 2, east: 0, north: 3 } }, "$.region"],
      [{ ...base, region: { west: 0, south: 91, east: 1, north: 92 } }, "$.region.south"],
    ];
    for (const [value, path] of cases) {
      try {
        normalizeScope(value);
        assert.fail(`accepted ${JSON.stringify(value)?.slice(0, 80)}`);
      } catch (error) {
        assert.equal((error as { code: string }).code, "INVALID_SCOPE", path);
        assert.equal((error as { details: { path: string } }).details.path, path);
      }
    }
  });

  it("keeps an informative region next to the resolved device list", () => {
    const s = normalizeScope({ ...base, region: { west: -0.5, south: 51.3, east: 0.3, north: 51.7 } });
    assert.deepEqual(s.region, { west: -0.5, south: 51.3, east: 0.3, north: 51.7 });
  });

  it("refuses unknown devices at listing time with UNKNOWN_SCOPE_DEVICE listing them", () => {
    const scope = normalizeScope(base);
    assert.doesNotThrow(() => assertScopeDevicesKnown(scope, () => true));
    try {
      assertScopeDevicesKnown(scope, (d) => d === getAddress(A));
      assert.fail("accepted an unknown device");
    } catch (error) {
      assert.equal((error as { code: string }).code, "UNKNOWN_SCOPE_DEVICE");
      assert.deepEqual((error as { details: { devices: string[] } }).details.devices, [getAddress(B)]);
    }
  });

  it("covers [from, to) of a fixed window, and [purchase, purchase + seconds) of a live one", () => {
    const fixed = normalizeScope(base);
    const w = scopeWindow(fixed, 999n);
    assert.deepEqual(w, { from: 100n, to: 200n });
    assert.equal(inScope(fixed, w, getAddress(A), 100n), true);
    assert.equal(inScope(fixed, w, getAddress(A), 200n), false);
    assert.equal(inScope(fixed, w, "0x00000000000000000000000000000000000000cc", 150n), false);
    const live = normalizeScope({ v: 1, devices: [A], fields: ["t"], live: { seconds: 60 } });
    assert.deepEqual(scopeWindow(live, 1000n), { from: 1000n, to: 1060n });
  });
});
