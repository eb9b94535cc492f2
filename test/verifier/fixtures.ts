/**
 * A real stack for the verifier tests: audit chain (EDR over JSON-RPC), platform and relayer on
 * SQLite files, HTTP on 127.0.0.1; devices that send each reading to both; helpers that tamper with
 * the stores and anchor batches directly. Importing this file does nothing.
 */
import http from "node:http";
import path from "node:path";

import Database from "better-sqlite3";
import { createWalletClient, http as httpTransport, parseEventLogs, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { signDigest } from "../../oracle/core/keys.js";
import { buildBatch, type Batch } from "../../oracle/core/manifest.js";
import { buildPayload, dataHash } from "../../oracle/core/payload.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { generateApiKey } from "../../oracle/platform/auth.js";
import { createPlatform, type Platform } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import type { TestNode } from "../helpers/test-node.js";
import {
  chainTime,
  postJson,
  registeredDevice,
  request,
  startTestRelayer,
  tempDir,
  waitFor,
  type TestDevice,
  type TestRelayer,
  type TestRelayerOptions,
} from "../relayer/fixtures.js";

export { chainTime, registeredDevice, request, waitFor, type TestDevice };

/** A signed reading with its payload. */
export interface SignedPayload {
  text: string;
  reading: Reading;
  signature: Hex;
}

export interface Stack {
  chain: AuditChain;
  dir: string;
  platformDbPath: string;
  platform: Platform;
  platformServer: RunningServer;
  platformUrl: string;
  apiKey: string;
  relayer: TestRelayer;
  relayerUrl: string;
  /**
   * The relayer's registered manifestUrl: a stable front (as a deployment's reverse proxy) that
   * forwards to whichever relayer process currently serves `relayerUrl`, so a relayer restarted on a
   * new ephemeral port still serves the manifests of the batches it anchored before.
   */
  manifestUrl: string;
  /** While false, the front answers 503 (the relayer withholds its manifests). */
  serveManifests: boolean;
  /**
   * The next this-many manifest requests are asked of the relayer for a batch it does not know, so they
   * get its real 404 BATCH_NOT_FOUND (a relayer restored from an older backup, a proxy in front of the
   * wrong instance, or one asked by on-chain id before it saw the batch mined).
   */
  manifestsNotFound: number;
  digester: ReadingDigester;
  sign(device: TestDevice, seq: number, ts: number, extra?: Record<string, unknown>): SignedPayload;
  /** Sends to the platform and the relayer, as a device client does. */
  send(device: TestDevice, seq: number, ts: number): Promise<SignedPayload>;
  /** Sends to the platform only (answers the HTTP status). */
  sendPlatform(signed: SignedPayload): Promise<number>;
  waitAnchored(device: Address, seqs: number[]): Promise<void>;
  /** Opens the platform's SQLite file for tampering. */
  platformDb(): Database.Database;
  /** Inserts a payload row straight into the platform's table. */
  insertRaw(signed: SignedPayload): void;
  /** anchorBatch with the relayer key; answers the batch id and the built batch. */
  anchorDirect(items: SignedPayload[], manifestHash?: Hex): Promise<{ batchId: number; batch: Batch; txHash: Hex }>;
  close(): Promise<void>;
}

/** A stack on EDR (default) or another client (`options.node`, see ../helpers/test-node.ts). */
export async function startStack(options: { node?: TestNode; relayer?: Partial<TestRelayerOptions> } = {}): Promise<Stack> {
  const chain = await startAuditChain({ node: options.node });
  const tmp = await tempDir();
  const platformDbPath = path.join(tmp.dir, "platform.sqlite");
  const registry = await RegistryIndex.start({ client: chain.publicClient, registry: chain.registry, deployBlock: 0, pollMs: 100 });
  const { key: apiKey, entry } = generateApiKey("agency", "consumer");
  const platform = await createPlatform({
    store: await openDatabase(platformDbPath),
    registry,
    domain: { chainId: chain.chainId, anchor: chain.anchor },
    apiKeys: [entry],
    logger: createLogger("platform-test", process.env.TEST_LOG_LEVEL ?? "silent"),
    limits: { ipRatePerSecond: 10_000, ipBurst: 10_000, deviceReadingsPerMinute: 60_000, deviceBurst: 10_000 },
  });
  const platformServer = await listen(platform.app, 0);
  const relayer = await startTestRelayer(chain, {
    batch: { maxSize: 8, maxAgeMs: 200 },
    ...options.relayer,
    databaseUrl: path.join(tmp.dir, "relayer.sqlite"),
  });
  const front = await startFront(() => stack);
  await chain.registerRelayer({ manifestUrl: front.url });
  const digester = new ReadingDigester(chain.chainId, chain.anchor);
  const wallet = createWalletClient({
    account: privateKeyToAccount(chain.keys.relayer),
    chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
    transport: httpTransport(chain.rpcUrl),
  });

  const sign = (device: TestDevice, seq: number, ts: number, extra: Record<string, unknown> = {}): SignedPayload => {
    const p = buildPayload({
      device: device.address,
      seq,
      ts,
      temperature_c: 20 + seq / 10,
      humidity_pct: 40,
      pm2_5_ugm3: 8.5,
      pm10_ugm3: 12,
      ...extra,
    });
    const reading: Reading = { device: device.address, seq: BigInt(seq), timestamp: BigInt(ts), dataHash: dataHash(p.bytes) };
    return { text: p.text, reading, signature: bytesToHex(signDigest(device.scheme, device.privateKey, digester.digest(reading))) };
  };
  const sendPlatform = async (s: SignedPayload) =>
    (await postJson(`${platformServer.url}/v1/readings`, { payload: s.text, signature: s.signature })).status;

  const stack: Stack = {
    chain,
    dir: tmp.dir,
    platformDbPath,
    platform,
    platformServer,
    platformUrl: platformServer.url,
    apiKey,
    relayer,
    relayerUrl: relayer.url,
    manifestUrl: front.url,
    serveManifests: true,
    manifestsNotFound: 0,
    digester,
    sign,
    sendPlatform,
    async send(device, seq, ts) {
      const s = sign(device, seq, ts);
      const p = await sendPlatform(s);
      if (p !== 201) throw new Error(`platform answered ${p}`);
      const r = await postJson(`${relayer.url}/v1/readings`, {
        device: s.reading.device,
        seq: String(seq),
        timestamp: String(ts),
        dataHash: s.reading.dataHash,
        signature: s.signature,
      });
      if (r.status !== 202) throw new Error(`relayer answered ${r.status} ${r.text}`);
      return s;
    },
    async waitAnchored(device, seqs) {
      await waitFor(
        async () => {
          await chain.mine(1);
          const all = await Promise.all(seqs.map((seq) => request(`${relayer.url}/v1/readings/${device}/${seq}`)));
          return all.every((a) => a.body?.status === "confirmed" || a.body?.status === "anchored");
        },
        `readings of ${device} anchored`,
        60_000,
        100,
      );
    },
    platformDb() {
      return new Database(platformDbPath);
    },
    insertRaw(s) {
      const db = new Database(platformDbPath);
      try {
        db.prepare("INSERT INTO readings (device, seq, ts, data_hash, payload, signature, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)").run(
          s.reading.device.toLowerCase(),
          Number(s.reading.seq),
          Number(s.reading.timestamp),
          Buffer.from(hexToBytes(s.reading.dataHash)),
          Buffer.from(s.text, "utf8"),
          Buffer.from(hexToBytes(s.signature)),
          Date.now(),
        );
      } finally {
        db.close();
      }
    },
    async anchorDirect(items, manifestHash) {
      const batch = buildBatch({
        chainId: chain.chainId,
        anchor: chain.anchor,
        items: items.map((s) => ({ reading: s.reading, signature: s.signature })),
      });
      const txHash = await wallet.writeContract({
        address: chain.anchor,
        abi: readingAnchorAbi,
        functionName: "anchorBatch",
        args: [batch.root, batch.leafCount, manifestHash ?? batch.manifestHash],
      });
      const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: txHash });
      const [event] = parseEventLogs({ abi: readingAnchorAbi, logs: receipt.logs, eventName: "BatchAnchored" });
      return { batchId: Number(event.args.batchId), batch, txHash };
    },
    async close() {
      await relayer.close();
      await stack.relayer.close();
      await platformServer.close();
      await front.close();
      await platform.close();
      registry.stop();
      await chain.close();
      await tmp.remove();
    },
  };
  return stack;
}

/** An HTTP front forwarding GETs to the stack's current relayer URL (503 while `serveManifests` is false; see `manifestsNotFound`). */
async function startFront(current: () => Stack): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const stack = current();
    if (!stack.serveManifests) {
      res.writeHead(503).end();
      return;
    }
    let url = req.url ?? "/";
    if (stack.manifestsNotFound > 0 && /^\/v1\/batches\/[^/]+\/manifest$/.test(url)) {
      stack.manifestsNotFound--;
      url = `/v1/batches/0x${"0".repeat(63)}1/manifest`;
    }
    fetch(`${stack.relayerUrl}${url}`)
      .then(async (upstream) => {
        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/octet-stream" });
        res.end(Buffer.from(await upstream.arrayBuffer()));
      })
      .catch(() => res.writeHead(502).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
