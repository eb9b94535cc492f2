/**
 * Makes a platform API key: prints the key once and adds its sha256 to the API keys file.
 *
 *   npx tsx scripts/platform-key.ts <holder-id> <consumer|admin|device|public>
 *   PLATFORM_API_KEYS_FILE=/etc/sensorseal/platform-keys.json npx tsx scripts/platform-key.ts agency consumer
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";

import { dataDir } from "../oracle/chain/deployments.js";
import { API_KEY_ROLES, apiKeysFileSchema, generateApiKey, type ApiKeyRole } from "../oracle/platform/auth.js";

const [id, role] = process.argv.slice(2);
if (!id || !API_KEY_ROLES.includes(role as ApiKeyRole)) {
  console.error(`usage: platform-key <holder-id> <${API_KEY_ROLES.join("|")}>`);
  process.exit(2);
}
const file = path.resolve(process.env.PLATFORM_API_KEYS_FILE ?? path.join(dataDir(), "platform-api-keys.json"));
const existing = await readFile(file, "utf8").then(
  (text) => apiKeysFileSchema.parse(JSON.parse(text)),
  (error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  },
);
const { key, entry } = generateApiKey(id, role as ApiKeyRole);
await mkdir(path.dirname(file), { recursive: true });
await writeFile(`${file}.tmp`, `${JSON.stringify([...existing, entry], null, 2)}\n`, { mode: 0o600 });
await rename(`${file}.tmp`, file);
console.error(`added "${id}" (${role}) to ${file}; the key, shown only now:`);
console.log(key);
