import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { ApiKeyring, generateApiKey, hashApiKey } from "../../oracle/platform/auth.js";
import { parsePlatformConfig, readApiKeysFile } from "../../oracle/platform/config.js";
import { ConfigError } from "../../oracle/service/errors.js";
import { DEFAULT_PLATFORM_LIMITS } from "../../oracle/platform/platform.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("platform configuration", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-platform-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("has defaults for everything", () => {
    const config = parsePlatformConfig({ SENSORSEAL_DATA_DIR: dir });
    assert.deepEqual(config, {
      host: "127.0.0.1",
      port: 8080,
      databaseUrl: path.join(dir, "platform.sqlite"),
      audit: { rpcUrl: "http://127.0.0.1:8545", registryPollMs: 2000, registryConfirmations: 0 },
      apiKeysFile: path.join(dir, "platform-api-keys.json"),
      logLevel: "info",
      limits: DEFAULT_PLATFORM_LIMITS,
    });
  });

  it("reads every variable", () => {
    const config = parsePlatformConfig({
      HOST: "0.0.0.0",
      PORT: "9000",
      DATABASE_URL: "postgres://u:p@127.0.0.1:5432/platform",
      AUDIT_RPC_URL: "https://audit.example:8545",
      AUDIT_CHAIN_ID: "31337",
      ANCHOR_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      REGISTRY_ADDRESS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
      REGISTRY_DEPLOY_BLOCK: "7",
      REGISTRY_POLL_MS: "500",
      REGISTRY_CONFIRMATIONS: "2",
      PLATFORM_API_KEYS_FILE: "/etc/keys.json",
      LOG_LEVEL: "warn",
      TRUST_PROXY: "1",
      PLATFORM_BODY_LIMIT: "2mb",
      PLATFORM_MAX_PAYLOAD_BYTES: "8192",
      PLATFORM_MAX_BULK_ITEMS: "50",
      PLATFORM_READING_CHECKS_PER_SECOND: "5",
      PLATFORM_READING_CHECK_BURST: "50",
      PLATFORM_MAX_READING_CHECKS_IN_FLIGHT: "300",
      PLATFORM_MAX_EVENT_LOOP_LAG_MS: "250",
      PLATFORM_IP_RATE_PER_SECOND: "2.5",
      PLATFORM_IP_BURST: "10",
      PLATFORM_DEVICE_READINGS_PER_MINUTE: "30",
      PLATFORM_DEVICE_BURST: "60",
      PLATFORM_QUOTA_STORE_TIMEOUT_MS: "50",
      PLATFORM_MAX_CLOCK_SKEW_SECONDS: "60",
      PLATFORM_SHUTDOWN_TIMEOUT_MS: "2000",
    });
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.port, 9000);
    assert.equal(config.databaseUrl, "postgres://u:p@127.0.0.1:5432/platform");
    assert.equal(config.audit.expectedChainId, 31337);
    assert.equal(config.audit.anchor, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert.equal(config.audit.registry, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512");
    assert.equal(config.audit.registryDeployBlock, 7);
    assert.equal(config.trustProxy, 1);
    assert.equal(config.apiKeysFile, "/etc/keys.json");
    assert.deepEqual(config.limits, {
      ...DEFAULT_PLATFORM_LIMITS,
      bodyLimit: "2mb",
      maxPayloadBytes: 8192,
      maxBulkItems: 50,
      readingChecksPerSecond: 5,
      readingCheckBurst: 50,
      maxReadingChecksInFlight: 300,
      maxEventLoopLagMs: 250,
      ipRatePerSecond: 2.5,
      ipBurst: 10,
      deviceReadingsPerMinute: 30,
      deviceBurst: 60,
      quotaStoreTimeoutMs: 50,
      maxClockSkewSeconds: 60,
      shutdownTimeoutMs: 2000,
    });
  });

  it("fails with one message naming every bad variable", () => {
    assert.throws(
      () =>
        parsePlatformConfig({
          PORT: "http",
          AUDIT_RPC_URL: "ftp://x",
          PLATFORM_IP_BURST: "0",
          LOG_LEVEL: "loud",
          ANCHOR_ADDRESS: "0x12",
          REGISTRY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ["PORT", "AUDIT_RPC_URL", "PLATFORM_IP_BURST", "LOG_LEVEL", "ANCHOR_ADDRESS"]) {
          assert.match(error.message, new RegExp(`^  ${name}=`, "m"), name);
        }
        assert.doesNotMatch(error.message, /REGISTRY_ADDRESS/);
        return true;
      },
    );
    assert.throws(
      () => parsePlatformConfig({ REGISTRY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3" }),
      /ANCHOR_ADDRESS and REGISTRY_ADDRESS go together/,
    );
  });

  it("refuses TRUST_PROXY=true (anyone could spoof X-Forwarded-For); takes a hop count or proxy addresses/subnets", () => {
    for (const value of ["true", " true ", "10.0.0.1, nonsense", "10.0.0.0/33", "*"]) {
      assert.throws(
        () => parsePlatformConfig({ SENSORSEAL_DATA_DIR: dir, TRUST_PROXY: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, value);
          assert.match(error.message, /^ {2}TRUST_PROXY=/m, value);
          return true;
        },
      );
    }
    assert.match(
      (() => {
        try {
          parsePlatformConfig({ TRUST_PROXY: "true" });
        } catch (error) {
          return (error as Error).message;
        }
        return "";
      })(),
      /TRUST_PROXY="true": true is refused .*hop count/,
    );
    const trusted = (value: string) => parsePlatformConfig({ SENSORSEAL_DATA_DIR: dir, TRUST_PROXY: value }).trustProxy;
    assert.equal(trusted("2"), 2);
    assert.equal(trusted("false"), false);
    assert.equal(trusted(""), undefined);
    assert.equal(trusted("10.0.0.1,10.0.0.0/8 , loopback,::1,fd00::/8"), "10.0.0.1, 10.0.0.0/8, loopback, ::1, fd00::/8");
  });

  it("reads the API keys file (hashes only) and fails clearly on a missing or bad one", async () => {
    const { key, entry } = generateApiKey("agency", "consumer");
    assert.match(key, /^ssk_[A-Za-z0-9_-]{43}$/);
    assert.equal(entry.sha256, hashApiKey(key));
    const file = path.join(dir, "keys.json");
    await writeFile(file, JSON.stringify([{ ...entry, sha256: entry.sha256.toUpperCase() }]));
    assert.deepEqual(await readApiKeysFile(file), [entry]);

    await assert.rejects(readApiKeysFile(path.join(dir, "missing.json")), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /missing\.json/);
      assert.match(error.message, /platform-key\.ts/);
      return true;
    });
    await writeFile(file, JSON.stringify([{ id: "x", role: "root", sha256: entry.sha256 }]));
    await assert.rejects(readApiKeysFile(file), /invalid at \[0\.role\]/);
    await writeFile(file, "{");
    await assert.rejects(readApiKeysFile(file), /not JSON/);
  });

  it("identifies keys by their hash and refuses a key listed twice", () => {
    const a = generateApiKey("a", "admin");
    const keyring = new ApiKeyring([a.entry, generateApiKey("b", "device").entry]);
    assert.equal(keyring.size, 2);
    assert.deepEqual(keyring.identify(a.key), { id: "a", role: "admin" });
    assert.equal(keyring.identify(`${a.key}x`), undefined);
    assert.throws(() => new ApiKeyring([a.entry, { ...a.entry, id: "again" }]), /listed twice/);
  });
});

/** Runs scripts/platform.ts with the pinned Node (this process's) and tsx, as an operator would. */
function runCli(env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/platform.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    async line(match: (entry: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const text of stdout.split("\n")) {
          if (!text.startsWith("{")) continue;
          const entry = JSON.parse(text) as Record<string, unknown>;
          if (match(entry)) return entry;
        }
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no such log line; stdout:\n${stdout}\nstderr:\n${stderr}`);
    },
  };
}

describe("platform CLI (scripts/platform.ts)", { timeout: 120_000 }, () => {
  let dir: string;
  let chain: AuditChain;
  let keysFile: string;
  let adminKey: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-platform-cli-"));
    chain = await startAuditChain();
    const admin = generateApiKey("ops", "admin");
    adminKey = admin.key;
    keysFile = path.join(dir, "keys.json");
    await writeFile(keysFile, JSON.stringify([admin.entry]));
  });
  after(async () => {
    await chain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to start on a bad variable, naming it (exit 2)", async () => {
    const cli = runCli({ PORT: "eighty", SENSORSEAL_DATA_DIR: dir });
    assert.equal(await cli.exited, 2);
    assert.match(cli.output().stderr, /Invalid platform configuration:\n {2}PORT="eighty"/);
  });

  it("refuses to start with TRUST_PROXY=true, naming it (exit 2)", async () => {
    const cli = runCli({ TRUST_PROXY: "true", SENSORSEAL_DATA_DIR: dir });
    assert.equal(await cli.exited, 2);
    assert.match(cli.output().stderr, /Invalid platform configuration:\n {2}TRUST_PROXY="true": true is refused/);
  });

  it("refuses to start without an API keys file or a reachable chain (exit 2)", async () => {
    const noKeys = runCli({ SENSORSEAL_DATA_DIR: dir, AUDIT_RPC_URL: chain.rpcUrl });
    assert.equal(await noKeys.exited, 2);
    assert.match(noKeys.output().stderr, /Cannot read the API keys file .*platform-api-keys\.json/);

    const noChain = runCli({ SENSORSEAL_DATA_DIR: dir, PLATFORM_API_KEYS_FILE: keysFile, AUDIT_RPC_URL: "http://127.0.0.1:9" });
    assert.equal(await noChain.exited, 2);
    assert.match(noChain.output().stderr, /audit chain at AUDIT_RPC_URL=http:\/\/127\.0\.0\.1:9 does not answer/);

    const wrongChain = runCli({
      SENSORSEAL_DATA_DIR: dir,
      PLATFORM_API_KEYS_FILE: keysFile,
      AUDIT_RPC_URL: chain.rpcUrl,
      AUDIT_CHAIN_ID: String(chain.chainId + 1),
    });
    assert.equal(await wrongChain.exited, 2);
    assert.match(wrongChain.output().stderr, new RegExp(`serves chain ${chain.chainId}`));
  });

  it("serves, then stops gracefully on SIGTERM (exit 0, store closed)", async () => {
    const cli = runCli({
      SENSORSEAL_DATA_DIR: dir,
      PORT: "0",
      DATABASE_URL: path.join(dir, "db", "platform.sqlite"),
      AUDIT_RPC_URL: chain.rpcUrl,
      ANCHOR_ADDRESS: chain.anchor,
      REGISTRY_ADDRESS: chain.registry,
      PLATFORM_API_KEYS_FILE: keysFile,
    });
    try {
      const listening = await cli.line((entry) => entry.msg === "platform listening");
      assert.equal(listening.anchor, chain.anchor);
      assert.equal(listening.chainId, chain.chainId);
      const url = String(listening.url);
      assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), { status: "ready", service: "platform" });
      const stats = await fetch(`${url}/v1/stats`, { headers: { authorization: `Bearer ${adminKey}` } });
      assert.deepEqual(await stats.json(), { readings: 0, equivocations: 0 });
      cli.child.kill("SIGTERM");
      assert.equal(await cli.exited, 0);
      await cli.line((entry) => entry.msg === "platform closed");
    } finally {
      if (cli.child.exitCode === null) cli.child.kill("SIGKILL");
    }
  });
});
