/**
 * `npm run build:packages`: builds oracle/core, oracle/device and oracle/verifier into their dist/
 * folders (JavaScript + declarations), ready for `npm pack` in each folder.
 */
import { buildPackages } from "./lib/package-build.js";

const started = Date.now();
const built = buildPackages();
console.log(`built ${built.length} packages in ${((Date.now() - started) / 1000).toFixed(1)} s: ${built.join(", ")}`);
