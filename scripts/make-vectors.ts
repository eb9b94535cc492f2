/**
 * Writes test/vectors/readings.json (reading-format test vectors from fixed keys) and
 * test/vectors/vocabulary.json (payload schema v2). Run: npx tsx scripts/make-vectors.ts.
 * test/core/vectors.test.ts and test/core/vocabulary.test.ts fail when a file is stale.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

import { renderReadingVectors } from "./lib/vectors.js";
import { renderVocabularyVectors } from "./lib/vocabulary-vectors.js";

for (const [file, text] of [
  ["readings.json", renderReadingVectors()],
  ["vocabulary.json", renderVocabularyVectors()],
] as const) {
  const target = fileURLToPath(new URL(`../test/vectors/${file}`, import.meta.url));
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
