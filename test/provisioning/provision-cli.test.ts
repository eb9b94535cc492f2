import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { createTestToken, softHsmAvailable, type TestToken } from "../device/softhsm.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { postJson, request, type tempDir, type TestRelayer } from "../relayer/fixtures.js";
import { startRegistrationRelayer, startTestProvisioning } from "./fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

type Run = { code: number; stdout: string; stderr: string };

describe("the provisioning service and the `provision` CLI, as a user runs them (real chain, relayer, SoftHSM2)", () => {
  let chain: AuditChain;
  let relayer: TestRelayer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let server: Awaited<ReturnType<typeof startTestProvisioning>>;
  let token: TestToken | undefined;
  const issuerKey: Hex = `0x${"4e".repeat(32)}`;
  const beneficiary = privateKeyToAccount(`0x${"5f".repeat(32)}`).address;
  const ids = ["89440000000000000101", "89440000000000000102", "89440000000000000103", "89440000000000000104"];

  before(async () => {
    chain = await startAuditChain();
    ({ relayer, tmp } = await startRegistrationRelayer(chain));
    server = await startTestProvisioning(chain, issuerKey, ids, tmp.dir);
    if (softHsmAvailable()) token = await createTestToken("SensorSealCli", "4321");
  });
  after(async () => {
    await server.close();
    await relayer.close();
    await chain.close();
    await token?.remove();
    await tmp.remove();
  });

  function provision(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "scripts/provision.ts", "device", "--provisioning", server.url, "--relayer", relayer.url, ...args],
        { cwd: ROOT, env: { ...process.env, SENSORSEAL_KEY_PASSWORD: "correct horse", ...env } },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });
  }

  it("registers a device whose key file it creates; asked again, answers already registered (exit 0)", async () => {
    const keyFile = path.join(tmp.dir, "device-a.json");
    const args = ["--esim", ids[0]!, "--beneficiary", beneficiary, "--key-file", keyFile, "--scheme", "secp256k1"];
    const first = await provision(args);
    assert.equal(first.code, 0, first.stderr);
    const registered = JSON.parse(first.stdout) as { status: string; device: string; txHash: string };
    assert.equal(registered.status, "registered");
    const view = await request(`${relayer.url}/v1/devices/${registered.device}`);
    assert.deepEqual(view.body, { device: registered.device, status: "active", issuer: privateKeyToAccount(issuerKey).address });

    const again = await provision(args);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), {
      status: "already-registered",
      device: registered.device,
      scheme: "secp256k1",
      issuer: view.body.issuer,
    });
  });

  it("refuses an unknown eSIM id and an eSIM id already used by another key (exit 1, the code on stderr)", async () => {
    const unknown = await provision([
      "--esim",
      "89449999999999999999",
      "--beneficiary",
      beneficiary,
      "--key-file",
      path.join(tmp.dir, "b.json"),
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /attestation refused: ESIM_UNKNOWN/);
    const reused = await provision(["--esim", ids[0]!, "--beneficiary", beneficiary, "--key-file", path.join(tmp.dir, "c.json")]);
    assert.equal(reused.code, 1);
    assert.match(reused.stderr, /ESIM_ALREADY_USED/);
  });

  it("exits 2 on bad usage and 4 when a service cannot be reached", async () => {
    const usage = await provision(["--esim", ids[1]!, "--beneficiary", "0x1234", "--key-file", "x.json"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--beneficiary/);
    const both = await provision(["--esim", ids[1]!, "--beneficiary", beneficiary]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exactly one of --token/);
    const down = await provision([
      "--esim",
      ids[1]!,
      "--beneficiary",
      beneficiary,
      "--key-file",
      path.join(tmp.dir, "d.json"),
      "--provisioning",
      "http://127.0.0.1:9",
    ]);
    assert.equal(down.code, 4);
    assert.match(down.stderr, /SERVICE_UNREACHABLE/);
  });

  it("generates the key inside a SoftHSM2 token and registers it; a wrong PIN is a clear error (exit 3)", async (t) => {
    if (token === undefined) return t.skip("softhsm2 is not installed");
    const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, SENSORSEAL_PKCS11_PIN: token.pin };
    const wrongPin = await provision(["--esim", ids[2]!, "--beneficiary", beneficiary, "--token", token.uri("cli-device")], {
      ...env,
      SENSORSEAL_PKCS11_PIN: "0000",
    });
    assert.equal(wrongPin.code, 3);
    assert.match(wrongPin.stderr, /TOKEN_PIN_INCORRECT/);
    const ok = await provision(["--esim", ids[2]!, "--beneficiary", beneficiary, "--token", token.uri("cli-device")], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /generating a p256 key in the token/);
    const { device, status } = JSON.parse(ok.stdout) as { device: string; status: string };
    assert.equal(status, "registered");
    assert.equal((await request(`${relayer.url}/v1/devices/${device}`)).body.status, "active");
  });

  it("`provision serve`: a bad configuration exits 2 naming the variable; a good one serves its eSIM ids and stops on SIGTERM (exit 0)", async () => {
    const bad = await new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "scripts/provision.ts", "serve"],
        { cwd: ROOT, env: { ...process.env, ISSUER_PRIVATE_KEY: "0x12" } },
        (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      );
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ISSUER_PRIVATE_KEY must be 0x \+ 64 hex digits/);

    const esimsFile = path.join(tmp.dir, "esims.txt");
    await writeFile(esimsFile, "# issued today\n89440000000000000901\n\n89440000000000000902\n");
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/provision.ts", "serve"], {
      cwd: ROOT,
      env: {
        ...process.env,
        ISSUER_PRIVATE_KEY: issuerKey,
        REGISTRY_ADDRESS: chain.registry,
        AUDIT_CHAIN_ID: String(chain.chainId),
        PORT: "0",
        DATABASE_URL: path.join(tmp.dir, "serve.sqlite"),
        PROVISIONING_ESIMS_FILE: esimsFile,
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = once(child, "exit");
    try {
      let url: string | undefined;
      for await (const line of createInterface({ input: child.stdout })) {
        const log = JSON.parse(line) as { msg?: string; url?: string };
        if (log.msg === "provisioning service listening") {
          url = log.url;
          break;
        }
      }
      assert.ok(url, "the service logged no listening line");
      const info = await request(`${url}/v1/info`);
      assert.equal(info.status, 200);
      assert.deepEqual(
        [info.body.issuer, info.body.registry, info.body.esims],
        [privateKeyToAccount(issuerKey).address, chain.registry, { issued: 2, used: 0 }],
      );
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await exited;
    assert.equal(code, 0);
  });

  it("the service: bad requests are 400 with a code and change nothing; the same request answers the same attestation", async () => {
    const used = async () => ((await request(`${server.url}/v1/info`)).body as { esims: { used: number } }).esims.used;
    const before = await used();
    const bad = await postJson(`${server.url}/v1/attestations`, { esimId: ids[3], scheme: "rsa", publicKey: "0x", beneficiary });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "INVALID_BODY");
    assert.equal(await used(), before);
    const body = { esimId: ids[3], scheme: "p256", publicKey: `0x${"11".repeat(64)}`, beneficiary };
    const first = await postJson(`${server.url}/v1/attestations`, body);
    assert.equal(first.status, 201, first.text);
    const again = await postJson(`${server.url}/v1/attestations`, body);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, first.body);
    assert.equal(await used(), before + 1);
    const bulk = await postJson(`${server.url}/v1/attestations`, [body, { ...body, publicKey: `0x${"22".repeat(64)}` }]);
    assert.equal(bulk.status, 207);
    assert.deepEqual(
      (bulk.body.results as { status: string; error?: { code: string } }[]).map((r) => r.error?.code ?? r.status),
      ["issued", "ESIM_ALREADY_USED"],
    );
    assert.equal(await used(), before + 1);
    assert.equal((await request(`${server.url}/v1/info`)).body.issuer, privateKeyToAccount(issuerKey).address);
  });
});
