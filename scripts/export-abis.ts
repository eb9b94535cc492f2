/**
 * Writes oracle/chain/abis.ts from the compiled artifacts, so run-time code (viem) gets typed ABIs
 * without loading artifacts. `npm run abis` after changing a contract; test/chain/abis.test.ts
 * fails when the file is stale.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { renderAbisModule } from "./lib/abis.js";

const target = fileURLToPath(new URL("../oracle/chain/abis.ts", import.meta.url));
await writeFile(target, await renderAbisModule());
console.log(`wrote ${target}`);
