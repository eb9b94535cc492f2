import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";

import { parseRelayerConfig } from "../../oracle/relayer/config.js";
import { bumpFee } from "../../oracle/relayer/anchorer.js";
import { Counter, Gauge, Histogram, MetricsRegistry } from "../../oracle/service/metrics.js";

const KEYS = {
  RELAYER_PRIVATE_KEY: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  RECEIPT_PRIVATE_KEY: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
};

describe("relayer configuration (zod, from the environment)", () => {
  it("applies the documented defaults", () => {
    const config = parseRelayerConfig({ ...KEYS, SENSORSEAL_DATA_DIR: "/var/lib/sensorseal" });
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8547);
    assert.equal(config.databaseUrl, path.join("/var/lib/sensorseal", "relayer.sqlite"));
    assert.equal(config.audit.rpcUrl, "http://127.0.0.1:8545");
    assert.deepEqual(config.batch, { maxSize: 1000, maxAgeMs: 10_000 });
    assert.equal(config.confirmations, 2);
    assert.deepEqual(config.anchoring, { marginSeconds: 600, stuckTimeoutMs: 60_000, maxInFlight: 4, pollMs: 1000, recheckBlocks: 256 });
    assert.equal(config.limits.maxBulk, 1000);
    assert.equal(config.limits.maxConcurrentSubmissions, 64);
    assert.equal(config.limits.maxEventLoopLagMs, 500);
    assert.deepEqual(config.limits.deviceQuota, { ratePerSecond: 2, burst: 120 });
    assert.equal(config.limits.quotaStoreTimeoutMs, 200);
    assert.equal(config.audit.anchor, undefined);
    assert.equal(config.logLevel, "info");
  });

  it("reads every variable", () => {
    const config = parseRelayerConfig({
      ...KEYS,
      PORT: "9000",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://u:p@db/relayer",
      AUDIT_RPC_URL: "ws://node:8546",
      AUDIT_CHAIN_ID: "1337",
      ANCHOR_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      REGISTRY_ADDRESS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
      REGISTRY_DEPLOY_BLOCK: "12",
      BATCH_MAX_SIZE: "500",
      BATCH_MAX_AGE_MS: "2500",
      CONFIRMATIONS: "6",
      RECEIPT_MARGIN_SECONDS: "900",
      STUCK_TX_TIMEOUT_MS: "30000",
      MAX_IN_FLIGHT: "2",
      ANCHOR_POLL_MS: "250",
      CONFIRMED_RECHECK_BLOCKS: "1000",
      MAX_FEE_PER_GAS_WEI: "500000000000",
      RELAYER_MAX_BULK: "50",
      RELAYER_MAX_QUEUE_DEPTH: "999",
      RELAYER_MAX_CONCURRENT_SUBMISSIONS: "16",
      RELAYER_MAX_EVENT_LOOP_LAG_MS: "0",
      RELAYER_DEVICE_READINGS_PER_MINUTE: "6",
      RELAYER_QUOTA_STORE_TIMEOUT_MS: "50",
      TRUST_PROXY: "1",
      LOG_LEVEL: "debug",
    });
    assert.equal(config.port, 9000);
    assert.equal(config.databaseUrl, "postgres://u:p@db/relayer");
    assert.equal(config.audit.expectedChainId, 1337);
    assert.equal(config.audit.anchor, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert.equal(config.audit.registryDeployBlock, 12);
    assert.deepEqual(config.batch, { maxSize: 500, maxAgeMs: 2500 });
    assert.equal(config.confirmations, 6);
    assert.deepEqual(config.anchoring, {
      marginSeconds: 900,
      stuckTimeoutMs: 30_000,
      maxInFlight: 2,
      pollMs: 250,
      maxFeePerGasCap: 500_000_000_000n,
      recheckBlocks: 1000,
    });
    assert.equal(config.limits.maxBulk, 50);
    assert.equal(config.limits.maxQueueDepth, 999);
    assert.equal(config.limits.maxConcurrentSubmissions, 16);
    assert.equal(config.limits.maxEventLoopLagMs, 0);
    assert.deepEqual(config.limits.deviceQuota, { ratePerSecond: 0.1, burst: 120 });
    assert.equal(config.limits.quotaStoreTimeoutMs, 50);
    assert.equal(config.trustProxy, 1);
  });

  it("fails fast naming every bad variable, never echoing a private key", () => {
    assert.throws(
      () =>
        parseRelayerConfig({ RELAYER_PRIVATE_KEY: "0xsecretsecret", BATCH_MAX_SIZE: "0", CONFIRMATIONS: "two", AUDIT_RPC_URL: "ftp://x" }),
      (error: Error & { code?: string; details?: { issues: string[] } }) => {
        assert.equal(error.code, "INVALID_CONFIG");
        const text = error.message;
        for (const name of ["RELAYER_PRIVATE_KEY", "RECEIPT_PRIVATE_KEY", "BATCH_MAX_SIZE", "CONFIRMATIONS", "AUDIT_RPC_URL"])
          assert.match(text, new RegExp(name));
        assert.doesNotMatch(text, /secretsecret/);
        assert.match(text, /RELAYER_PRIVATE_KEY="<redacted>"/);
        return true;
      },
    );
    assert.throws(() => parseRelayerConfig({ ...KEYS, ANCHOR_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3" }), /go together/);
  });
});

describe("relayer metrics (Prometheus text format)", () => {
  it("renders counters, labelled gauges and cumulative histograms", () => {
    const registry = new MetricsRegistry();
    const c = registry.add(new Counter("x_total", "things"));
    const g = registry.add(new Gauge("depth", "depth"));
    const h = registry.add(new Histogram("lat_seconds", "latency", [1, 5]));
    c.inc({ code: 'A"B' });
    c.inc({ code: 'A"B' }, 2);
    g.set(3, { status: "queued" });
    h.observe(0.5);
    h.observe(3);
    h.observe(10);
    assert.equal(
      registry.render(),
      [
        "# HELP x_total things",
        "# TYPE x_total counter",
        'x_total{code="A\\"B"} 3',
        "# HELP depth depth",
        "# TYPE depth gauge",
        'depth{status="queued"} 3',
        "# HELP lat_seconds latency",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{le="1"} 1',
        'lat_seconds_bucket{le="5"} 2',
        'lat_seconds_bucket{le="+Inf"} 3',
        "lat_seconds_sum 13.5",
        "lat_seconds_count 3",
        "",
      ].join("\n"),
    );
    assert.throws(() => registry.add(new Counter("x_total", "again")), /twice/);
  });

  it("bumps fees by at least 12.5 % (rounded up) and at least 1 wei", () => {
    assert.equal(bumpFee(0n), 1n);
    assert.equal(bumpFee(1n), 2n);
    assert.equal(bumpFee(8n), 9n);
    assert.equal(bumpFee(9n), 11n);
    assert.equal(bumpFee(1_000_000_000n), 1_125_000_000n);
    for (const x of [3n, 17n, 999_999_999n, 123_456_789_012_345n]) assert.ok(bumpFee(x) * 8n >= x * 9n);
  });
});
