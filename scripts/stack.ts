/**
 * The local stack, `npm start`: two local chains (audit :8545, reward :8546), both Ignition
 * modules deployed, the platform, the relayer, the operator's provisioning service, the oracle committee
 * (2 of 3) and the web dashboard with its claim page as their own processes, and the device simulator
 * replaying the real Sensor.Community data in ../shared/data (synthetic data when it is absent). The
 * simulated devices are provisioned as a real device is (issue 14): their keys in a SoftHSM2 token
 * (key files when SoftHSM2 is not installed), an attestation from the provisioning service for an
 * eSIM id it issued, registration relayed gas-free. Everything it writes lives in the data folder
 * (SENSORSEAL_DATA_DIR, default ./data), so a second start resumes: the chains replay their
 * journals, the services reopen their stores, the simulator its outbox. Ctrl-C stops everything.
 *
 * Environment: SENSORSEAL_DATA_DIR, STACK_DEVICES (simulated devices, default 20 synthetic, 10 replayed),
 * STACK_KEYSTORE=files (key files even when SoftHSM2 is installed), STACK_SPEEDUP (simulated seconds per second, default 60),
 * STACK_RUN_SECONDS (stop by itself after this long; for smoke tests), AUDIT_PORT, REWARD_PORT,
 * PLATFORM_PORT, RELAYER_PORT, PROVISIONING_PORT, WEB_PORT, ORACLE_BASE_PORT; AUDIT_RPC_URL and REWARD_RPC_URL (both):
 * run on those chains instead of starting two (./lib/stack-external.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, createWriteStream } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { network } from "hardhat";
import { createPublicClient, createWalletClient, http, type PublicClient } from "viem";

import { privateKeyToAccount } from "viem/accounts";

import AuditChainModule from "../ignition/modules/AuditChain.js";
import { readingAnchorAbi } from "../oracle/chain/abis.js";
import RewardChainModule from "../ignition/modules/RewardChain.js";
import { AUDIT_CHAIN_ID, REWARD_CHAIN_ID } from "../oracle/core/chains.js";
import {
  dataDir,
  findDeployBlock,
  readAuditDeployment,
  readRewardDeployment,
  writeAuditDeployment,
  writeRewardDeployment,
  type AuditDeployment,
  type RewardDeployment,
} from "../oracle/chain/deployments.js";
import { currentFees, detectFeeModel } from "../oracle/chain/fee-model.js";
import { generateApiKey } from "../oracle/platform/auth.js";
import { startStackMarket } from "./lib/stack-market.js";
import { externalChain } from "./lib/stack-external.js";
import { startStackMqtt } from "./lib/stack-mqtt.js";
import { ensureIssuer, simulatorKeyArgs, stackKeyStore, writeStackEsims } from "./lib/stack-provisioning.js";
import { SOFTHSM2_MODULE } from "../oracle/device/pkcs11-module.js";
import { ownDeviceLines } from "./lib/stack-packages.js";
import { DEV_KEYS } from "./lib/dev-keys.js";
import { auditorEnv, auditorUrl } from "./lib/stack-auditor.js";
import { oracleEnv } from "./lib/stack-committee.js";
import { startStatusLine } from "./lib/stack-status.js";
import { journalGenesis, startLocalChain, type LocalChain } from "./lib/local-chain.js";
import { dashboardOrigins } from "./lib/rpc-server.js";

const root = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const data = dataDir();
const env = process.env;
const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
const PORTS = {
  audit: port("AUDIT_PORT", 8545),
  reward: port("REWARD_PORT", 8546),
  platform: port("PLATFORM_PORT", 8080),
  relayer: port("RELAYER_PORT", 8547),
  provisioning: port("PROVISIONING_PORT", 8620),
  web: port("WEB_PORT", 8090),
  oracle: port("ORACLE_BASE_PORT", 8601),
};
const SHARED_DATA = path.resolve(root, "../shared/data/sensor-community-aberdeen");
const BLOCK_INTERVAL_MS = 2000;

const log = (line: string) => console.log(`[stack] ${line}`);
await mkdir(path.join(data, "logs"), { recursive: true });
log(`data folder ${data}`);

// Ctrl-C works at any moment, during start-up too: whatever has started is stopped, in order.
const children = new Map<string, ChildProcess>();
const closers: Array<() => Promise<unknown>> = [];
let stopping = false;
const runSeconds = env.STACK_RUN_SECONDS === undefined ? undefined : Number(env.STACK_RUN_SECONDS);
const stopRequested = new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
  if (runSeconds !== undefined) setTimeout(resolve, runSeconds * 1000).unref();
});
void stopRequested.then(async () => {
  await stopAll();
  process.exit(0);
});

// --- chains -----------------------------------------------------------------------------------
async function startChain(
  name: "audit" | "reward",
  chainPort: number,
): Promise<{ chain: LocalChain; connection: Awaited<ReturnType<typeof network.create>> }> {
  // AUDIT_RPC_URL and REWARD_RPC_URL: external chains (e.g. Besu), deployed with Ignition where absent.
  const external = await externalChain(name, env, data, log);
  if (external !== undefined) return external;
  const journal = path.join(data, "chains", `${name}.jsonl`);
  const genesis = await journalGenesis(journal);
  const connection = await network.create(genesis === undefined ? name : { network: name, override: { initialDate: genesis } });
  const chain = await startLocalChain(
    connection.provider,
    journal,
    chainPort,
    "127.0.0.1",
    (n) => log(`${name} chain: replayed ${n} calls…`),
    dashboardOrigins(PORTS.web),
  );
  log(`${name} chain ${chain.url}${chain.replayed > 0 ? ` (resumed: ${chain.replayed} calls replayed)` : ""}`);
  return { chain, connection };
}
const audit = await startChain("audit", PORTS.audit);
closers.push(
  () => audit.chain.close(),
  () => audit.connection.provider.close(),
);
const reward = await startChain("reward", PORTS.reward);
closers.push(
  () => reward.chain.close(),
  () => reward.connection.provider.close(),
);
const blockTimer = setInterval(() => {
  // Empty blocks keep confirmations moving when nothing is sent.
  if (stopping) return;
  void Promise.all([audit.chain.mine(), reward.chain.mine()]).catch((error: unknown) => log(`mining failed: ${String(error)}`));
}, BLOCK_INTERVAL_MS);
closers.push(async () => clearInterval(blockTimer));

// --- audit-chain deployment (skipped when the journal already holds it) --------------------------
async function deployedAudit(): Promise<AuditDeployment | undefined> {
  const record = await readAuditDeployment(AUDIT_CHAIN_ID, data).catch(() => undefined);
  if (record === undefined) return undefined;
  const client = createPublicClient({ transport: http(audit.chain.url) });
  const code = await client.getCode({ address: record.anchor });
  return code !== undefined && code !== "0x" ? record : undefined;
}
let auditDeployment = await deployedAudit();
if (auditDeployment === undefined) {
  const { registry, anchor } = await audit.connection.ignition.deploy(AuditChainModule, {
    parameters: path.join(root, "ignition/parameters/local.json"),
  });
  const client = createPublicClient({ transport: http(audit.chain.url) });
  auditDeployment = {
    chainId: AUDIT_CHAIN_ID,
    registry: registry.address,
    anchor: anchor.address,
    deployBlock: await findDeployBlock(client, registry.address),
  };
  await writeAuditDeployment(auditDeployment, data);
  log(`audit chain deployed: registry ${registry.address}, anchor ${anchor.address}`);
}
await registerStackRelayer(auditDeployment.anchor);
// The operator's eSIM issuer (issue 14): recorded once, so the registry takes its attestations.
const issuer = await ensureIssuer(audit.chain.url, auditDeployment.registry, DEV_KEYS.admin, DEV_KEYS.issuer);

/**
 * The anchor records the relayer's manifest URL (Ignition registers the default port 8547): when the
 * relayer listens elsewhere, the admin records its actual URL, or the relayer refuses to start.
 */
async function registerStackRelayer(anchor: `0x${string}`): Promise<void> {
  const url = `http://127.0.0.1:${PORTS.relayer}`;
  const client = createPublicClient({ transport: http(audit.chain.url) });
  const relayer = privateKeyToAccount(DEV_KEYS.relayer).address;
  const receiptSigner = privateKeyToAccount(DEV_KEYS.receipt).address;
  const info = await client.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "relayerInfo", args: [relayer] });
  if (info.manifestUrl === url && info.receiptSigner === receiptSigner) return;
  const admin = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.admin), transport: http(audit.chain.url) });
  // Priced by the chain's fee model, as the services price theirs (an external chain may have free gas or legacy only).
  const fees = await currentFees(client as PublicClient, await detectFeeModel(client as PublicClient, { from: admin.account.address }));
  const hash = await admin.writeContract({
    chain: null,
    address: anchor,
    abi: readingAnchorAbi,
    functionName: "registerRelayer",
    args: [relayer, url, receiptSigner],
    ...fees,
  });
  await client.waitForTransactionReceipt({ hash });
  log(`relayer ${relayer} registered at ${url}`);
}

// --- reward-chain deployment ----------------------------------------------------------------------------
async function deployedReward(): Promise<RewardDeployment | undefined> {
  const record = await readRewardDeployment(REWARD_CHAIN_ID, data).catch(() => undefined);
  if (record === undefined) return undefined;
  const client = createPublicClient({ transport: http(reward.chain.url) });
  const code = await client.getCode({ address: record.distributor });
  return code !== undefined && code !== "0x" ? record : undefined;
}
let rewardDeployment = await deployedReward();
if (rewardDeployment === undefined) {
  const { token, distributor } = await reward.connection.ignition.deploy(RewardChainModule, {
    parameters: path.join(root, "ignition/parameters/local.json"),
  });
  const client = createPublicClient({ transport: http(reward.chain.url) });
  rewardDeployment = {
    chainId: REWARD_CHAIN_ID,
    token: token.address,
    distributor: distributor.address,
    deployBlock: await findDeployBlock(client, distributor.address),
  };
  await writeRewardDeployment(rewardDeployment, data);
  log(`reward chain deployed: token ${token.address}, distributor ${distributor.address}`);
}

// --- API keys for the dashboard and the verifier ---------------------------------------------------
const secretsFile = path.join(data, "stack-secrets.json");
const keysFile = path.join(data, "platform-api-keys.json");
let secrets: { consumerKey: string };
if (existsSync(secretsFile)) {
  secrets = JSON.parse(await readFile(secretsFile, "utf8")) as typeof secrets;
} else {
  const consumer = generateApiKey("stack-dashboard", "consumer");
  await writeFile(keysFile, `${JSON.stringify([consumer.entry], null, 2)}\n`, { mode: 0o600 });
  secrets = { consumerKey: consumer.key };
  await writeFile(secretsFile, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
}

// --- services as processes ---------------------------------------------------------------------------
const common: Record<string, string> = {
  SENSORSEAL_DATA_DIR: data,
  AUDIT_RPC_URL: audit.chain.url,
  AUDIT_CHAIN_ID: String(AUDIT_CHAIN_ID),
  ANCHOR_ADDRESS: auditDeployment.anchor,
  REGISTRY_ADDRESS: auditDeployment.registry,
  REGISTRY_DEPLOY_BLOCK: String(auditDeployment.deployBlock),
  REGISTRY_POLL_MS: "1000",
  LOG_LEVEL: env.LOG_LEVEL ?? "info",
};

// --- the data market (issue 12): deployed once, given to every service; the demo sale runs in the background ---
const market = await startStackMarket({
  data,
  connection: reward.connection,
  rewardRpcUrl: reward.chain.url,
  rewardChainId: REWARD_CHAIN_ID,
  distributor: rewardDeployment.distributor,
  audit: { rpcUrl: audit.chain.url, registry: auditDeployment.registry, deployBlock: auditDeployment.deployBlock },
  platformUrl: `http://127.0.0.1:${PORTS.platform}`,
  oracleUrl: `http://127.0.0.1:${PORTS.oracle}`,
  keysFile,
  serviceEnv: common,
  log,
});
closers.push(() => market.close());

function startProcess(name: string, script: string, extraEnv: Record<string, string>, args: string[] = []): ChildProcess | undefined {
  if (stopping) return undefined; // Ctrl-C during start-up: start nothing more
  const out = createWriteStream(path.join(data, "logs", `${name}.log`), { flags: "a" });
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, script), ...args], {
    cwd: root,
    env: { ...env, ...common, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  child.once("exit", (code, signal) => {
    children.delete(name);
    if (!stopping) log(`${name} exited (${signal ?? code}); see ${path.join(data, "logs", `${name}.log`)}`);
  });
  children.set(name, child);
  return child;
}

async function waitForHttp(url: string, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Ctrl-C during start-up: start-up halts here while stopAll runs and exits.
    if (stopping) await new Promise(() => {});
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} did not come up at ${url} within ${timeoutMs / 1000} s: see ${path.join(data, "logs")}`);
}

const platformUrl = `http://127.0.0.1:${PORTS.platform}`;
const relayerUrl = `http://127.0.0.1:${PORTS.relayer}`;
startProcess("platform", "scripts/platform.ts", { PORT: String(PORTS.platform), PLATFORM_API_KEYS_FILE: keysFile });
startProcess("relayer", "scripts/relayer.ts", {
  PORT: String(PORTS.relayer),
  RELAYER_PRIVATE_KEY: DEV_KEYS.relayer,
  RECEIPT_PRIVATE_KEY: DEV_KEYS.receipt,
  BATCH_MAX_SIZE: "500",
  BATCH_MAX_AGE_MS: "5000",
  CONFIRMATIONS: "2",
  // Gas-free device registration (provisioning): the relayer pays with this key.
  DEVICE_REGISTRATION_PRIVATE_KEY: DEV_KEYS.deviceRegistrar,
});

// --- provisioning (issue 14): the operator's service, having issued an eSIM id per simulated device ---
const replay = existsSync(SHARED_DATA);
const simulatedDevices = Number(env.STACK_DEVICES ?? (replay ? 10 : 20));
const esims = await writeStackEsims(data, simulatedDevices);
const provisioningUrl = `http://127.0.0.1:${PORTS.provisioning}`;
startProcess(
  "provisioning",
  "scripts/provision.ts",
  { PORT: String(PORTS.provisioning), ISSUER_PRIVATE_KEY: DEV_KEYS.issuer, PROVISIONING_ESIMS_FILE: esims.file },
  ["serve"],
);
const keyStore = await stackKeyStore(data, env);
await Promise.all([
  waitForHttp(`${platformUrl}/readyz`, "platform"),
  waitForHttp(`${relayerUrl}/readyz`, "relayer"),
  waitForHttp(`${provisioningUrl}/v1/info`, "provisioning"),
]);
log(`platform ${platformUrl}   relayer ${relayerUrl}   provisioning ${provisioningUrl} (issuer ${issuer})`);
log(`device keys: ${keyStore.describe}`);

// --- MQTT: the embedded broker and the services' consumers (docs/MQTT.md) ---------------------------
const mqtt = await startStackMqtt({ data, platformUrl, relayerUrl });
closers.push(() => mqtt.close());
log(`mqtt ${mqtt.url} (device passwords: HMAC of ${mqtt.secretFile})`);

// --- the oracle committee: 2 of 3 -----------------------------------------------------------------
const oracleUrls = DEV_KEYS.oracles.map((_, i) => `http://127.0.0.1:${PORTS.oracle + i}`);
DEV_KEYS.oracles.forEach((key, i) => {
  startProcess(
    `oracle-${i}`,
    "scripts/oracle.ts",
    oracleEnv({
      key,
      port: PORTS.oracle + i,
      peers: oracleUrls.filter((_, j) => j !== i),
      databaseFile: path.join(data, `oracle-${i}.sqlite`),
      reward: { ...rewardDeployment, rpcUrl: reward.chain.url },
      // 30 blocks of 2 s: a reward epoch a minute.
      epochBlocks: 30,
    }),
  );
});
await Promise.all(oracleUrls.map((url, i) => waitForHttp(`${url}/healthz`, `oracle ${i}`)));
log(`oracle committee ${oracleUrls.join(" ")}`);

// --- the dashboard and the claim page ---------------------------------------------------------------
const webUrl = `http://127.0.0.1:${PORTS.web}`;
startProcess("web", "scripts/web.ts", {
  PORT: String(PORTS.web),
  // No consumer key: the dashboard holds none of its own; a consumer signs in with theirs. One
  // inherited from the shell (exported for the verify CLI) is blanked, or the web service would refuse it.
  PLATFORM_URL: platformUrl,
  PLATFORM_API_KEY: "",
  RELAYER_URL: relayerUrl,
  AUDITOR_URL: auditorUrl(env),
  ORACLE_URL: oracleUrls[0]!,
  REWARD_RPC_URL: reward.chain.url,
  REWARD_CHAIN_ID: String(REWARD_CHAIN_ID),
  DISTRIBUTOR_ADDRESS: rewardDeployment.distributor,
  REWARD_TOKEN_ADDRESS: rewardDeployment.token,
});
await waitForHttp(`${webUrl}/healthz`, "web");
log(`dashboard ${webUrl} (sign in with the consumer API key in ${secretsFile}, field consumerKey)`);

// --- the auditor (issue 15) and the live status line ------------------------------------------------
const auditorStack = auditorEnv({ platformUrl, consumerKey: secrets.consumerKey, keysFile, env });
startProcess("auditor", "scripts/auditor.ts", auditorStack.env);
log(`auditor ${auditorStack.url} (/v1/status, /metrics; API with the consumer key)`);
const stopStatus = startStatusLine(
  {
    relayerUrl,
    auditorUrl: auditorStack.url,
    oracleUrl: oracleUrls[0],
    rewardRpcUrl: reward.chain.url,
    distributor: rewardDeployment.distributor,
    distributorDeployBlock: rewardDeployment.deployBlock,
  },
  Number(env.STACK_STATUS_MS ?? 5000),
  console.log,
);
closers.push(async () => stopStatus());

// --- simulated devices: their rewards go to five contributors (dev accounts #10–#14) ---------------
const contributors = DEV_KEYS.contributors.map((key) => privateKeyToAccount(key).address);
// Registered through the provisioning service and the relayer, as a real device (scripts/simulate.ts --provisioning).
const simulatorKeys = simulatorKeyArgs(keyStore);
startProcess("simulator", "scripts/simulate.ts", { PLATFORM_URL: platformUrl, RELAYER_URL: relayerUrl, ...simulatorKeys.env }, [
  "--register",
  "--provisioning",
  provisioningUrl,
  "--esim-prefix",
  esims.prefix,
  ...simulatorKeys.args,
  ...contributors.flatMap((address) => ["--beneficiary", address]),
  "--scheme",
  "mixed",
  "--chain-id",
  String(AUDIT_CHAIN_ID),
  "--anchor",
  auditDeployment.anchor,
  "--registry",
  auditDeployment.registry,
  "--speedup",
  env.STACK_SPEEDUP ?? "60",
  "--devices",
  String(simulatedDevices),
  ...(replay ? ["--source", "replay", "--data", SHARED_DATA, "--loop"] : []),
]);
log(`simulator: ${replay ? `replaying ${SHARED_DATA}` : "synthetic data"} (log: ${path.join(data, "logs", "simulator.log")})`);

console.log(`
SensorSeal local stack
  audit chain    ${audit.chain.url}  (chain ${AUDIT_CHAIN_ID}; registry ${auditDeployment.registry}, anchor ${auditDeployment.anchor})
  reward chain   ${reward.chain.url}  (chain ${REWARD_CHAIN_ID}; token ${rewardDeployment.token}, distributor ${rewardDeployment.distributor})
  oracles        ${oracleUrls.join("  ")}  (2 of 3; epoch every 30 audit blocks)
  contributors   ${contributors.join(" ")}  (dev accounts #10–#14)
  dashboard      ${webUrl}          claim page ${webUrl}/claim (a wallet on chain ${REWARD_CHAIN_ID} at ${reward.chain.url}; contributor keys are Hardhat's dev accounts #10–#14)
                 values and proofs: sign in with the consumer API key in ${secretsFile} ("consumerKey")
  platform       ${platformUrl}   (consumer API key in ${secretsFile})
  relayer        ${relayerUrl}    (/metrics, /v1/batches/:id; registers provisioned devices gas-free)
  provisioning   ${provisioningUrl}   (issuer ${issuer}; ${simulatedDevices} simulated devices provisioned with eSIM ids from ${esims.file})
  device keys    ${keyStore.describe}
  logs           ${path.join(data, "logs")}
  claim          CLAIM_SENDER_PRIVATE_KEY=${DEV_KEYS.contributors[0]} npm run claim -- --oracle ${oracleUrls[0]} --rpc ${reward.chain.url} --account ${contributors[0]}
${market.banner}
  verify         PLATFORM_API_KEY=$(node -p "require('${secretsFile}').consumerKey") npm run verify -- all --platform ${platformUrl} --relayer ${relayerUrl}
Ctrl-C stops everything; \`npm start\` again resumes from ${data}.
`);
console.log(
  ownDeviceLines({
    rpcUrl: audit.chain.url,
    chainId: AUDIT_CHAIN_ID,
    registry: auditDeployment.registry,
    anchor: auditDeployment.anchor,
    platformUrl,
    relayerUrl,
    registrarKey: DEV_KEYS.registrar,
    secretsFile,
    provisioningUrl,
    spareEsimId: esims.spareId,
    ...(keyStore.kind === "softhsm2"
      ? { token: { conf: keyStore.conf, label: keyStore.label, pin: keyStore.pin, modulePath: SOFTHSM2_MODULE } }
      : {}),
    beneficiary: contributors[0]!,
  }),
);

// --- shutdown ---------------------------------------------------------------------------------------
async function stopAll(): Promise<void> {
  if (stopping) return;
  stopping = true;
  log("stopping…");
  // Devices first (their outbox keeps what is unsent), then the services, then the chains.
  for (const group of [["simulator"], ["web", "auditor", "oracle-0", "oracle-1", "oracle-2"], ["relayer", "platform", "provisioning"]]) {
    await Promise.all(
      group.map((name) => {
        const child = children.get(name);
        if (child === undefined || child.exitCode !== null) return undefined;
        return new Promise<void>((resolve) => {
          const force = setTimeout(() => child.kill("SIGKILL"), 40_000);
          child.once("exit", () => {
            clearTimeout(force);
            resolve();
          });
          child.kill("SIGTERM");
        });
      }),
    );
  }
  for (const close of closers.reverse()) await close();
  log("stopped");
}

await stopRequested;
