/**
 * `npm start`'s provisioning (issue 14): the operator's issuer recorded on the registry, the eSIM ids
 * issued for the simulated devices, and where the devices' keys live — a SoftHSM2 token initialised
 * under the data folder when `softhsm2-util` and the module are installed, encrypted key files else.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { currentFees, detectFeeModel } from "../../oracle/chain/fee-model.js";
import { SOFTHSM2_MODULE } from "../../oracle/device/pkcs11-module.js";

const run = promisify(execFile);

/** The stack's token label, and its PINs (a local demo token: the banner prints the PIN; not secrets). */
export const STACK_TOKEN = { label: "SensorSealStack", pin: "1234", soPin: "87654321" } as const;

/**
 * Simulated device `index`'s eSIM id: `prefix` then the index, 20 digits in all (an ICCID's length).
 *
 * @example
 * stackEsimId("8944", 7); // "89440000000000000007"
 */
export function stackEsimId(prefix: string, index: number): string {
  return `${prefix}${String(index).padStart(20 - prefix.length, "0")}`;
}

/** Where the simulated devices' keys are, and what the simulator and the banner need to know. */
export type StackKeyStore =
  | { kind: "softhsm2"; conf: string; tokenDir: string; label: string; pin: string; describe: string }
  | { kind: "key-files"; dir: string; password: string; describe: string };

async function softHsmInstalled(): Promise<boolean> {
  if (!existsSync(SOFTHSM2_MODULE)) return false;
  try {
    await run("softhsm2-util", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The device key store for `npm start`: a SoftHSM2 token in `<data>/softhsm` (its own softhsm2.conf;
 * initialised on the first start, reused after) or, without SoftHSM2, encrypted key files in
 * `<data>/sim-keys`. `STACK_KEYSTORE=files` forces the key files.
 */
export async function stackKeyStore(data: string, env: NodeJS.ProcessEnv): Promise<StackKeyStore> {
  const filesFallback = (why: string): StackKeyStore => ({
    kind: "key-files",
    dir: path.join(data, "sim-keys"),
    password: "sensorseal-stack",
    describe: `encrypted key files in ${path.join(data, "sim-keys")} (${why})`,
  });
  if (env.STACK_KEYSTORE === "files") return filesFallback("STACK_KEYSTORE=files");
  if (!(await softHsmInstalled()))
    return filesFallback(`SoftHSM2 not installed: apt-get install softhsm2 for ${SOFTHSM2_MODULE} and softhsm2-util`);
  const dir = path.join(data, "softhsm");
  const tokenDir = path.join(dir, "tokens");
  const conf = path.join(dir, "softhsm2.conf");
  await mkdir(tokenDir, { recursive: true });
  await writeFile(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  if ((await readdir(tokenDir)).length === 0) {
    await run(
      "softhsm2-util",
      ["--init-token", "--free", "--label", STACK_TOKEN.label, "--pin", STACK_TOKEN.pin, "--so-pin", STACK_TOKEN.soPin],
      { env: { ...process.env, SOFTHSM2_CONF: conf } },
    );
  }
  return {
    kind: "softhsm2",
    conf,
    tokenDir,
    label: STACK_TOKEN.label,
    pin: STACK_TOKEN.pin,
    describe: `SoftHSM2 token "${STACK_TOKEN.label}" in ${tokenDir} (SOFTHSM2_CONF=${conf}, PIN ${STACK_TOKEN.pin})`,
  };
}

/** The simulator's flags and environment for `store`. */
export function simulatorKeyArgs(store: StackKeyStore): { args: string[]; env: Record<string, string> } {
  return store.kind === "softhsm2"
    ? { args: ["--keys", "pkcs11", "--token", store.label], env: { SOFTHSM2_CONF: store.conf, SENSORSEAL_PKCS11_PIN: store.pin } }
    : { args: ["--keys", "files", "--key-dir", store.dir], env: { SIM_KEY_PASSWORD: store.password } };
}

/**
 * Writes `<data>/provisioning-esims.txt`, the eSIM ids the stack's operator issued (the provisioning
 * service adds them at start): one per simulated device (prefix 8944) and ten spare ones for devices
 * a user provisions by hand (prefix 8949, so a larger STACK_DEVICES never takes them).
 */
export async function writeStackEsims(data: string, devices: number): Promise<{ file: string; prefix: string; spareId: string }> {
  const file = path.join(data, "provisioning-esims.txt");
  const ids = [
    ...Array.from({ length: devices }, (_, i) => stackEsimId("8944", i)),
    ...Array.from({ length: 10 }, (_, i) => stackEsimId("8949", i)),
  ];
  await writeFile(file, `# eSIM ids issued by the local stack's operator\n${ids.join("\n")}\n`);
  return { file, prefix: "8944", spareId: stackEsimId("8949", 0) };
}

/**
 * Records `issuerKey`'s address with `addIssuer` as the registry's admin, unless it is already
 * recorded (a resumed stack).
 */
export async function ensureIssuer(rpcUrl: string, registry: Address, adminKey: Hex, issuerKey: Hex): Promise<Address> {
  const issuer = privateKeyToAccount(issuerKey).address;
  const client = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  const record = await client.readContract({ address: registry, abi: deviceRegistryAbi, functionName: "getIssuer", args: [issuer] });
  if (record.addedAt !== 0) return issuer;
  const admin = createWalletClient({ account: privateKeyToAccount(adminKey), transport: http(rpcUrl) });
  const fees = await currentFees(client, await detectFeeModel(client, { from: admin.account.address }));
  const hash = await admin.writeContract({
    chain: null,
    address: registry,
    abi: deviceRegistryAbi,
    functionName: "addIssuer",
    args: [issuer],
    ...fees,
  });
  await client.waitForTransactionReceipt({ hash });
  return issuer;
}
