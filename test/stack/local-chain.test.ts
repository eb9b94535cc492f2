/**
 * The local chains' RPC (npm start) and web pages: the dev accounts are unlocked, so a page must not
 * be able to use them. Attacks as a malicious page makes them: a `text/plain` POST (no CORS
 * preflight), a DNS-rebinding Host, and an allowed page asking for account methods.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { network } from "hardhat";

import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { startLocalChain, type LocalChain } from "../../scripts/lib/local-chain.js";
import { dashboardOrigins } from "../../scripts/lib/rpc-server.js";
import { edrNetworkNow } from "../helpers/test-node.js";
import { privateKeyToAccount } from "viem/accounts";

const DASHBOARD = dashboardOrigins(18090)[0];
const admin = privateKeyToAccount(DEV_KEYS.admin).address;

describe("local chain RPC and web pages", () => {
  let chain: LocalChain;
  let dir: string;
  let close: () => Promise<void>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-chain-"));
    const connection = await network.create(edrNetworkNow("audit"));
    chain = await startLocalChain(connection.provider, path.join(dir, "audit.jsonl"), 0, "127.0.0.1", undefined, [DASHBOARD]);
    close = () => connection.provider.close();
  });
  after(async () => {
    await chain.close();
    await close();
    await rm(dir, { recursive: true, force: true });
  });

  async function rpc(method: string, params: unknown[], headers: Record<string, string> = {}) {
    const response = await fetch(chain.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as { result?: unknown; error?: { code: number; data?: { code?: string } } },
    };
  }
  const nonce = async () => Number((await rpc("eth_getTransactionCount", [admin, "latest"])).body.result);
  const send = (headers: Record<string, string>) => rpc("eth_sendTransaction", [{ from: admin, to: admin, value: "0x1" }], headers);

  it("a page of any other origin is refused before the call runs, even as a text/plain simple request", async () => {
    const before = await nonce();
    const response = await fetch(chain.url, {
      method: "POST",
      headers: { "content-type": "text/plain", origin: "http://evil.example" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendTransaction", params: [{ from: admin, to: admin, value: "0x1" }] }),
    });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("access-control-allow-origin"), null);
    assert.equal(await nonce(), before, "the admin account sent nothing");
  });

  it("a DNS-rebinding Host is refused", async () => {
    // fetch may not set Host; a raw request can, as a rebinding browser's would carry it.
    const url = new URL(chain.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, method: "POST", headers: { host: "evil.example:8545", "content-type": "application/json" } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }));
    });
    assert.equal(status, 403);
  });

  it("the dashboard may read and gets its origin back, but may not use the node's accounts or dev methods", async () => {
    const read = await rpc("eth_chainId", [], { origin: DASHBOARD });
    assert.equal(read.status, 200);
    assert.equal(read.body.result, "0x7a69");
    assert.equal(read.headers.get("access-control-allow-origin"), DASHBOARD);
    const before = await nonce();
    for (const [method, params] of [
      ["eth_sendTransaction", [{ from: admin, to: admin, value: "0x1" }]],
      ["eth_sign", [admin, "0x00"]],
      ["evm_mine", []],
      ["hardhat_setBalance", [admin, "0x0"]],
      ["eth_accounts", []],
    ] as const) {
      const { body } = await rpc(method, [...params], { origin: DASHBOARD });
      assert.equal(body.error?.code, -32601, method);
      assert.equal(body.error?.data?.code, "BROWSER_METHOD_NOT_ALLOWED", method);
    }
    assert.equal(await nonce(), before);
  });

  it("a wallet extension may send a transaction it signed itself; services without an Origin keep full access", async () => {
    const wallet = await rpc("eth_blockNumber", [], { origin: "chrome-extension://abcdefghijklmnop" });
    assert.equal(wallet.status, 200);
    assert.equal(typeof wallet.body.result, "string");
    const before = await nonce();
    const sent = await send({});
    assert.equal(typeof sent.body.result, "string", "a service (no Origin) may still use the dev accounts");
    assert.equal(await nonce(), before + 1);
  });
});
