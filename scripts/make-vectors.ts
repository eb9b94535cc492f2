/**
 * Writes test/vectors/readings.json (reading-format test vectors from fixed keys).
 * Run: npx tsx scripts/make-vectors.ts. test/core/vectors.test.ts fails when the file is stale.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { renderReadingVectors } from "./lib/vectors.js";

const target = fileURLToPath(new URL("../test/vectors/readings.json", import.meta.url));
await writeFile(target, renderReadingVectors());
console.log(`wrote ${target}`);
