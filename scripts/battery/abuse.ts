/**
 * One abusive client against honest traffic on the platform (ISSUE-11 attack 9), measured; prints a
 * table, asserts nothing (`npm run bench:abuse`, i.e. `npx hardhat run scripts/battery/abuse.ts`).
 *
 * Honest: `ABUSE_DEVICES` registered devices behind one carrier address, sending single readings,
 * paced open-loop at `ABUSE_HONEST_RATE` readings/s in total. Abusive: `ABUSE_CONNECTIONS` loops from
 * another address sending bulks of 200 readings with bad signatures back to back, never waiting.
 * The two addresses are told apart by X-Forwarded-For behind one trusted hop (TRUST_PROXY=1).
 * Phases of `ABUSE_SECONDS` each, each on a fresh platform (SQLite) over the same chain:
 *   quiet  — honest traffic alone (charge and shedding on);
 *   before — with the abuser, charge-before-check and load shedding off (the old platform);
 *   after  — with the abuser, the default limits (refused readings charged per address, load shedding).
 * Platform, clients and chain share this machine (and the platform shares this process), as a small
 * deployment would; the figures to compare are the ratios within one run.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { pino } from "pino";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest } from "../../oracle/core/keys.js";
import { buildPayload, dataHash } from "../../oracle/core/payload.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { createPlatform, DEFAULT_PLATFORM_LIMITS, type PlatformLimits } from "../../oracle/platform/platform.js";
import { listen } from "../../oracle/service/app.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain } from "../../test/helpers/audit-chain.js";

const envNumber = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SECONDS = envNumber("ABUSE_SECONDS", 6);
const DEVICES = envNumber("ABUSE_DEVICES", 40);
const HONEST_RATE = envNumber("ABUSE_HONEST_RATE", 60);
const CONNECTIONS = envNumber("ABUSE_CONNECTIONS", 8);
const CARRIER = "198.51.100.1";
const ABUSER = "203.0.113.66";

interface Body {
  payload: string;
  signature: string;
}

interface BenchDevice {
  privateKey: Uint8Array;
  address: `0x${string}`;
  seq: number;
}

interface PhaseFigures {
  phase: string;
  honestSent: number;
  honestStored: number;
  honestErrors: Record<string, number>;
  p50: number;
  p99: number;
  abuseRequests: number;
  abuseChecked: number;
  abuse429: number;
}

const chain = await startAuditChain();
const registry = await RegistryIndex.start({
  client: chain.publicClient,
  registry: chain.registry,
  deployBlock: chain.deployBlock,
  pollMs: 0,
});
const digester = new ReadingDigester(chain.chainId, chain.anchor);
const devices: BenchDevice[] = [];
for (let i = 0; i < DEVICES; i++) {
  const privateKey = generatePrivateKey("secp256k1");
  const publicKey = publicKeyFromPrivate("secp256k1", privateKey);
  await chain.registerDevice({ scheme: "secp256k1", publicKey });
  devices.push({ privateKey, address: deviceIdFromPublicKey(publicKey), seq: 0 });
}
await registry.sync();
const ts = Number((await chain.publicClient.getBlock()).timestamp);

function sign(device: BenchDevice, signer = device): Body {
  const seq = ++device.seq;
  const { text } = buildPayload({ device: device.address, seq, ts, temperature_c: 21.5 });
  const reading = { device: device.address, seq: BigInt(seq), timestamp: BigInt(ts), dataHash: dataHash(new TextEncoder().encode(text)) };
  return { payload: text, signature: bytesToHex(signDigest("secp256k1", signer.privateKey, digester.digest(reading))) };
}

// The abuser's bulk: 200 readings of a registered device, each signed by another device's key.
const abuseBody = JSON.stringify(Array.from({ length: 200 }, (_, i) => sign(devices[i % DEVICES]!, devices[(i + 1) % DEVICES]!)));

async function runPhase(phase: string, limits: Partial<PlatformLimits>, abuse: boolean): Promise<PhaseFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-abuse-"));
  const platform = await createPlatform({
    store: await openDatabase(path.join(dir, "platform.sqlite")),
    registry,
    domain: { chainId: chain.chainId, anchor: chain.anchor },
    apiKeys: [],
    logger: pino({ level: "silent" }),
    limits,
    trustProxy: 1,
  });
  const server = await listen(platform.app, 0);
  const honestBodies = Array.from({ length: Math.ceil(HONEST_RATE * SECONDS) }, (_, i) => JSON.stringify(sign(devices[i % DEVICES]!)));
  const figures: PhaseFigures = {
    phase,
    honestSent: 0,
    honestStored: 0,
    honestErrors: {},
    p50: 0,
    p99: 0,
    abuseRequests: 0,
    abuseChecked: 0,
    abuse429: 0,
  };
  const post = (body: string, from: string) =>
    fetch(`${server.url}/v1/readings`, { method: "POST", headers: { "content-type": "application/json", "x-forwarded-for": from }, body });

  const deadline = performance.now() + SECONDS * 1000;
  const abusers = abuse
    ? Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < deadline) {
          const res = await post(abuseBody, ABUSER).catch(() => undefined);
          figures.abuseRequests++;
          if (res === undefined) continue;
          const json = (await res.json().catch(() => ({}))) as { results?: { error?: { code: string } }[] };
          if (res.status === 429) figures.abuse429++;
          figures.abuseChecked += json.results?.filter((r) => r.error?.code === "INVALID_SIGNATURE").length ?? 0;
        }
      })
    : [];

  const latencies: number[] = [];
  const honest: Promise<void>[] = [];
  const start = performance.now();
  for (const [i, body] of honestBodies.entries()) {
    const due = start + (i * 1000) / HONEST_RATE;
    while (performance.now() < due) await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    figures.honestSent++;
    const sent = performance.now();
    honest.push(
      post(body, CARRIER).then(
        async (res) => {
          latencies.push(performance.now() - sent);
          const json = (await res.json().catch(() => ({}))) as { error?: { code: string } };
          if (res.status === 201) figures.honestStored++;
          else
            figures.honestErrors[json.error?.code ?? String(res.status)] =
              (figures.honestErrors[json.error?.code ?? String(res.status)] ?? 0) + 1;
        },
        (error: Error) => {
          latencies.push(performance.now() - sent);
          figures.honestErrors[error.name] = (figures.honestErrors[error.name] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all([...honest, ...abusers]);
  latencies.sort((a, b) => a - b);
  figures.p50 = Math.round(latencies[Math.floor(latencies.length * 0.5)] ?? 0);
  figures.p99 = Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0);
  await server.close();
  await platform.close();
  await rm(dir, { recursive: true, force: true });
  return figures;
}

const OLD: Partial<PlatformLimits> = { readingChecksPerSecond: 0, maxReadingChecksInFlight: 0, maxEventLoopLagMs: 0 };
const results = [
  await runPhase("quiet", {}, false),
  await runPhase("before", OLD, true),
  await runPhase("after", DEFAULT_PLATFORM_LIMITS, true),
];
registry.stop();
await chain.close();

console.log(
  `\n${DEVICES} honest devices behind ${CARRIER} at ${HONEST_RATE} readings/s; abuser ${ABUSER}, ${CONNECTIONS} loops of 200 bad signatures; ${SECONDS} s per phase\n`,
);
console.log(
  "| phase | honest sent | honest stored | honest errors | error rate | p50 ms | p99 ms | abuse requests | abuse 429 | abuse sigs checked/s |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  const errors = r.honestSent - r.honestStored;
  console.log(
    `| ${r.phase} | ${r.honestSent} | ${r.honestStored} | ${JSON.stringify(r.honestErrors)} | ${((100 * errors) / Math.max(1, r.honestSent)).toFixed(1)} % | ${r.p50} | ${r.p99} | ${r.abuseRequests} | ${r.abuse429} | ${Math.round(r.abuseChecked / SECONDS)} |`,
  );
}
const [, before, after] = results as [PhaseFigures, PhaseFigures, PhaseFigures];
console.log(
  `\nhonest p99 before/after: ${(before.p99 / Math.max(1, after.p99)).toFixed(1)}×; abuser's signature checks before/after: ${(before.abuseChecked / Math.max(1, after.abuseChecked)).toFixed(0)}×`,
);
