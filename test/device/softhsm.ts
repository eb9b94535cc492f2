/**
 * A throw-away SoftHSM2 token for tests: a temp dir with its own softhsm2.conf (SOFTHSM2_CONF points
 * at it) and one token initialized with `softhsm2-util --init-token --free`. Importing does nothing.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { SOFTHSM2_MODULE } from "../../oracle/device/pkcs11-module.js";

/** Whether SoftHSM2 is installed (module and softhsm2-util). */
export function softHsmAvailable(): boolean {
  if (!existsSync(SOFTHSM2_MODULE)) return false;
  try {
    execFileSync("softhsm2-util", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** A token made for one test. */
export type TestToken = { dir: string; tokenDir: string; label: string; pin: string; uri(object: string): string; remove(): Promise<void> };

/** Creates a fresh token in a temp dir and points SOFTHSM2_CONF at it (before the module is initialized). */
export async function createTestToken(label = "SensorSeal", pin = "1234"): Promise<TestToken> {
  const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-hsm-"));
  const tokenDir = path.join(dir, "tokens");
  await mkdir(tokenDir);
  const conf = path.join(dir, "softhsm2.conf");
  await writeFile(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  process.env.SOFTHSM2_CONF = conf;
  execFileSync("softhsm2-util", ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "87654321"], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: "ignore",
  });
  return {
    dir,
    tokenDir,
    label,
    pin,
    uri: (object: string) =>
      `pkcs11:token=${encodeURIComponent(label)};object=${encodeURIComponent(object)}?module-path=${SOFTHSM2_MODULE}`,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
