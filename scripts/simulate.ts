/**
 * Simulates a fleet of air-quality devices that sign readings and send them to the platform and
 * the relayer (see oracle/device/simulator.ts).
 *
 *   node_modules/.bin/node --import tsx scripts/simulate.ts --devices 1000 --speedup 60 --duration 3600 --register
 *   node_modules/.bin/node --import tsx scripts/simulate.ts --source replay \
 *     --data /work/shared/data/sensor-community-aberdeen --speedup 600 --register
 *
 * Flags (defaults in brackets):
 *   --devices N            1 to 100000 [10]
 *   --scheme S             p256 | secp256k1 | mixed [p256]
 *   --source S             synthetic | replay [synthetic]
 *   --data PATH            replay: a folder of CSVs, or a file (repeatable)
 *   --format F             replay: sensor-community | openaq | epa-aqs [sensor-community]
 *   --gas-units M          replay openaq / epa-aqs: ppm, ppb gases: eu-reference | refuse [eu-reference]
 *   --loop                 replay: start a series over when it ends
 *   --saturation M         replay sensor-community: PM ≥ 999 µg/m³: flag | drop [flag]
 *   --humidity-pinned M    replay sensor-community: humidity ≥ 99.9 %: flag | drop [flag]
 *   --interval S           synthetic: simulated seconds between readings of a device [60]
 *   --speedup X            simulated seconds per second [1]
 *   --duration S           simulated seconds to run [until Ctrl-C / end of data]
 *   --max-readings N       stop after N readings
 *   --timestamps T         payload ts: wall | simulated [wall]
 *   --keys K               seed | files | pkcs11 [seed; files for encrypted key files]
 *   --token LABEL          pkcs11: the token (SoftHSM2 module; PIN from SENSORSEAL_PKCS11_PIN) [SensorSeal]
 *   --key-dir DIR          files: where device-<i>.json live [<data>/sim-keys]
 *   --outbox FILE          the fleet's outbox [<data>/sim-outbox.sqlite]
 *   --no-deliver           only fill the outbox
 *   --register             register the devices first (needs REGISTRAR_PRIVATE_KEY)
 *   --beneficiary 0x…      register: who earns the rewards; repeat it to spread devices over several [registrar]
 *   --provisioning URL     register through this provisioning service and the relayer, gas-free, instead of
 *                          REGISTRAR_PRIVATE_KEY (device i's eSIM id: --esim-prefix + i, 20 digits; needs --beneficiary)
 *   --esim-prefix P        provisioning: eSIM ids' leading digits [8944]
 *   --chain-id N --anchor 0x… --registry 0x…   [from <data>/deployments/audit-<chainId>.json]
 *   --concurrency N        readings in flight [64]
 *   --drain-timeout MS     wait at the end for the outbox to empty [60000]
 *
 * Environment: PLATFORM_URL [http://127.0.0.1:8080], RELAYER_URL [http://127.0.0.1:8547],
 * AUDIT_RPC_URL [http://127.0.0.1:8545], REGISTRAR_PRIVATE_KEY (for --register),
 * SIM_SEED (seed keys; SIMULATION ONLY: whoever knows it has every device key) [sensorseal-sim],
 * SIM_KEY_PASSWORD (files keys), SENSORSEAL_DATA_DIR [./data].
 *
 * Progress goes to stderr; the summary is printed as JSON on stdout. Ctrl-C stops taking
 * readings and drains the outbox; a second Ctrl-C quits at once (the outbox keeps the rest).
 */
import path from "node:path";
import { parseArgs } from "node:util";

import { getAddress, isAddress, type Address, type Hex } from "viem";

import { AUDIT_CHAIN_ID } from "../oracle/core/chains.js";
import { dataDir, readAuditDeployment } from "../oracle/chain/deployments.js";
import { SensorSealError } from "../oracle/core/errors.js";
import type { KeyScheme } from "../oracle/core/keys.js";
import { loadEpaAqsHourly } from "../oracle/device/epa-aqs.js";
import { loadOpenAq } from "../oracle/device/openaq.js";
import { createChainRegistrar } from "../oracle/device/registrar.js";
import { loadSensorCommunity } from "../oracle/device/sensor-community.js";
import { Simulator, type SimulatorKeys, type SimulatorSource } from "../oracle/device/simulator.js";
import { createProvisioningRegistrar } from "../oracle/provisioning/fleet.js";
import { stackEsimId } from "./lib/stack-provisioning.js";

function fail(message: string): never {
  console.error(`simulate: ${message}`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    devices: { type: "string", default: "10" },
    scheme: { type: "string", default: "p256" },
    source: { type: "string", default: "synthetic" },
    data: { type: "string", multiple: true },
    format: { type: "string", default: "sensor-community" },
    "gas-units": { type: "string", default: "eu-reference" },
    loop: { type: "boolean", default: false },
    saturation: { type: "string", default: "flag" },
    "humidity-pinned": { type: "string", default: "flag" },
    interval: { type: "string", default: "60" },
    speedup: { type: "string", default: "1" },
    duration: { type: "string" },
    "max-readings": { type: "string" },
    timestamps: { type: "string", default: "wall" },
    keys: { type: "string", default: "seed" },
    token: { type: "string", default: "SensorSeal" },
    "key-dir": { type: "string" },
    outbox: { type: "string" },
    "no-deliver": { type: "boolean", default: false },
    register: { type: "boolean", default: false },
    beneficiary: { type: "string", multiple: true },
    provisioning: { type: "string" },
    "esim-prefix": { type: "string", default: "8944" },
    "chain-id": { type: "string" },
    anchor: { type: "string" },
    registry: { type: "string" },
    concurrency: { type: "string", default: "64" },
    "drain-timeout": { type: "string", default: "60000" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (values.help) {
  console.log("usage: see the comment at the top of scripts/simulate.ts");
  process.exit(0);
}

const number = (name: string, text: string | undefined): number | undefined => {
  if (text === undefined) return undefined;
  const x = Number(text);
  if (!Number.isFinite(x)) fail(`--${name} must be a number, got "${text}"`);
  return x;
};
const oneOf = <T extends string>(name: string, value: string, allowed: readonly T[]): T => {
  if (!(allowed as readonly string[]).includes(value)) fail(`--${name} must be one of ${allowed.join(", ")}`);
  return value as T;
};

const env = process.env;
const scheme = oneOf("scheme", values.scheme, ["p256", "secp256k1", "mixed"] as const) as KeyScheme | "mixed";
const chainId = number("chain-id", values["chain-id"]) ?? AUDIT_CHAIN_ID;

let anchor: Address;
let registry: Address | undefined;
if (values.registry !== undefined) {
  if (!isAddress(values.registry)) fail("--registry must be an address");
  registry = getAddress(values.registry);
}
if (values.anchor !== undefined) {
  if (!isAddress(values.anchor)) fail("--anchor must be an address");
  anchor = getAddress(values.anchor);
} else {
  try {
    const deployment = await readAuditDeployment(chainId);
    anchor = deployment.anchor;
    registry ??= deployment.registry;
  } catch (error) {
    fail(`${(error as Error).message} (or pass --anchor)`);
  }
}

let source: SimulatorSource;
if (oneOf("source", values.source, ["synthetic", "replay"] as const) === "replay") {
  if (!values.data?.length) fail("--source replay needs --data <folder or file>");
  const format = oneOf("format", values.format, ["sensor-community", "openaq", "epa-aqs"] as const);
  if (format !== "sensor-community") {
    const gasUnits = oneOf("gas-units", values["gas-units"], ["eu-reference", "refuse"] as const);
    const load = format === "openaq" ? loadOpenAq : loadEpaAqsHourly;
    const { series, reports } = await load(values.data, { gasUnits });
    const rejected = reports.flatMap((r) => r.rejected);
    const count = (k: "imported" | "duplicates" | "converted") => reports.reduce((n, r) => n + r[k], 0);
    console.error(
      `simulate: replay of ${reports.length} ${format} files: ${series.length} stations, ${count("imported")} values ` +
        `(${count("converted")} converted from ppm/ppb, ${count("duplicates")} duplicates dropped, ${rejected.length} rows refused)`,
    );
    // Refused rows are never signed; say which.
    for (const r of rejected.slice(0, 20)) console.error(`simulate: refused ${r.file}:${r.line}: ${r.reason}`);
    if (rejected.length > 20) console.error(`simulate: … and ${rejected.length - 20} more refused rows`);
    if (series.length === 0) fail(`no ${format} readings in --data`);
    source = { kind: "stations", series, loop: values.loop };
  } else {
    const { series, reports } = await loadSensorCommunity(values.data, {
      saturation: oneOf("saturation", values.saturation, ["flag", "drop"] as const),
      humidityPinned: oneOf("humidity-pinned", values["humidity-pinned"], ["flag", "drop"] as const),
    });
    const sum = (k: "rows" | "emptyRows" | "duplicateTimestamps" | "midnightWraps" | "outOfOrder" | "badLines") =>
      reports.reduce((n, r) => n + r[k], 0);
    console.error(
      `simulate: replay of ${reports.length} files: ${series.length} particulate series, ${sum("rows")} rows kept ` +
        `(dropped: ${sum("emptyRows")} empty, ${sum("outOfOrder")} out of order, ${sum("badLines")} bad; ` +
        `${sum("duplicateTimestamps")} duplicate timestamps merged, ${sum("midnightWraps")} midnight wraps fixed)`,
    );
    const bad = reports.flatMap((r) => r.rejected.map(({ line, reason }) => `${r.file}:${line}: ${reason}`));
    for (const b of bad.slice(0, 20)) console.error(`simulate: bad line ${b}`);
    source = { kind: "replay", series, loop: values.loop };
  }
} else {
  source = { kind: "synthetic", seed: env.SIM_SEED ?? "sensorseal-sim" };
}

let keys: SimulatorKeys;
const keyKind = oneOf("keys", values.keys, ["seed", "files", "pkcs11"] as const);
if (keyKind === "pkcs11") {
  keys = { kind: "pkcs11", token: values.token };
} else if (keyKind === "files") {
  const password = env.SIM_KEY_PASSWORD;
  if (!password) fail("--keys files needs SIM_KEY_PASSWORD");
  keys = { kind: "files", dir: path.resolve(values["key-dir"] ?? path.join(dataDir(), "sim-keys")), password };
} else {
  keys = { kind: "seed", seed: env.SIM_SEED ?? "sensorseal-sim" };
}

const beneficiaries = values.beneficiary?.map((b) => (isAddress(b) ? getAddress(b) : fail(`--beneficiary: ${b} is not an address`)));
let register: Awaited<ReturnType<typeof createChainRegistrar>> | Awaited<ReturnType<typeof createProvisioningRegistrar>> | undefined;
// Filled in once the simulator exists: the provisioning registrar signs proofs of possession with its elements.
let simulator: Simulator | undefined;
if (values.register && values.provisioning !== undefined) {
  if (beneficiaries === undefined) fail("--provisioning needs --beneficiary (whom the attestations name)");
  if (registry === undefined) fail("--provisioning needs --registry (or a deployment record)");
  const prefix = values["esim-prefix"];
  if (!/^[0-9]{1,12}$/.test(prefix)) fail("--esim-prefix must be 1 to 12 digits");
  register = await createProvisioningRegistrar({
    provisioningUrl: values.provisioning,
    relayerUrl: env.RELAYER_URL ?? "http://127.0.0.1:8547",
    rpcUrl: env.AUDIT_RPC_URL ?? "http://127.0.0.1:8545",
    registry,
    element: (i) => simulator!.element(i),
    esimId: (i) => stackEsimId(prefix, i),
    beneficiaries,
    onProgress: ({ registered, skipped }) => console.error(`simulate: provisioned ${registered}, already registered ${skipped}`),
  });
} else if (values.register) {
  const privateKey = env.REGISTRAR_PRIVATE_KEY;
  if (!privateKey || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) fail("--register needs REGISTRAR_PRIVATE_KEY (0x + 64 hex)");
  if (registry === undefined) {
    try {
      registry = (await readAuditDeployment(chainId)).registry;
    } catch (error) {
      fail(`--register: ${(error as Error).message}`);
    }
  }
  register = await createChainRegistrar({
    rpcUrl: env.AUDIT_RPC_URL ?? "http://127.0.0.1:8545",
    registry,
    privateKey: privateKey as Hex,
    ...(beneficiaries === undefined ? {} : { beneficiary: beneficiaries }),
    onProgress: ({ registered, skipped }) => console.error(`simulate: registered ${registered}, already registered ${skipped}`),
  });
}

let sim: Simulator;
try {
  sim = await Simulator.create({
    devices: number("devices", values.devices)!,
    scheme,
    keys,
    source,
    intervalSeconds: number("interval", values.interval)!,
    speedup: number("speedup", values.speedup)!,
    ...(values.duration === undefined ? {} : { durationSeconds: number("duration", values.duration)! }),
    ...(values["max-readings"] === undefined ? {} : { maxReadings: number("max-readings", values["max-readings"])! }),
    timestamps: oneOf("timestamps", values.timestamps, ["wall", "simulated"] as const),
    chainId,
    anchor,
    platformUrl: env.PLATFORM_URL ?? "http://127.0.0.1:8080",
    relayerUrl: env.RELAYER_URL ?? "http://127.0.0.1:8547",
    outboxFile: path.resolve(values.outbox ?? path.join(dataDir(), "sim-outbox.sqlite")),
    deliver: !values["no-deliver"],
    concurrency: number("concurrency", values.concurrency)!,
    drainTimeoutMs: number("drain-timeout", values["drain-timeout"])!,
    ...(register === undefined ? {} : { register }),
  });
} catch (error) {
  if (error instanceof SensorSealError) fail(`${error.code}: ${error.message}`);
  throw error;
}
simulator = sim;

if (register !== undefined) {
  await sim.registerAll();
  const waited = await register.settle();
  if (waited > 1) console.error(`simulate: waited ${waited.toFixed(0)} s for the wall clock to pass the chain's last registration block`);
}

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.error("\nsimulate: stopping (Ctrl-C again to quit now; the outbox keeps what is not sent)");
  sim.stop();
});
process.on("SIGTERM", () => sim.stop());

const summary = await sim.run();
console.log(JSON.stringify(summary, null, 2));
