/**
 * The relayer's on-chain registration (TRUST-MODEL §1, §6): a relayer whose public URL or receipt key
 * differs from the anchor's `relayerInfo` record refuses to start, so every receipt it issues is binding.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { privateKeyToAccount } from "viem/accounts";

import { ConfigError } from "../../oracle/service/errors.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { RECEIPT_KEY, startTestRelayer, tempDir } from "./fixtures.js";

describe("relayer registration on the anchor", () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };

  before(async () => {
    chain = await startAuditChain();
    tmp = await tempDir();
  });
  after(async () => {
    await chain?.close();
    await tmp?.remove();
  });

  const start = (file: string, publicUrl: string) =>
    startTestRelayer(chain, { databaseUrl: path.join(tmp.dir, file), start: false, register: false, publicUrl });

  it("starts when the registered URL and receipt signer are its own (the Ignition record of the dev relayer)", async () => {
    const t = await start("ok.sqlite", "http://127.0.0.1:8547/");
    await t.close();
  });

  it("refuses to start (ConfigError) when its public URL differs from the registered one", async () => {
    await assert.rejects(start("url.sqlite", "http://127.0.0.1:9999"), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(
        error.message,
        /RELAYER_PUBLIC_URL http:\/\/127\.0\.0\.1:9999 differs from the registered manifest URL http:\/\/127\.0\.0\.1:8547/,
      );
      return true;
    });
  });

  it("refuses to start when its receipt key is not the registered receipt signer (it could disown its receipts)", async () => {
    const other = privateKeyToAccount(`0x${"42".repeat(32)}`).address;
    await chain.registerRelayer({ manifestUrl: "http://127.0.0.1:8547", receiptSigner: other });
    await assert.rejects(start("key.sqlite", "http://127.0.0.1:8547"), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, new RegExp(`differs from the registered receipt signer ${other}`));
      return true;
    });
    await chain.registerRelayer({ manifestUrl: "http://127.0.0.1:8547", receiptSigner: privateKeyToAccount(RECEIPT_KEY).address });
  });

  it("refuses to start when its account is not registered at all", async () => {
    const stranger = `0x${"77".repeat(32)}` as const;
    await assert.rejects(
      startTestRelayer(chain, {
        databaseUrl: path.join(tmp.dir, "none.sqlite"),
        start: false,
        register: false,
        publicUrl: "http://127.0.0.1:8547",
        relayerKey: stranger,
      }),
      /is not registered on anchor/,
    );
  });
});
