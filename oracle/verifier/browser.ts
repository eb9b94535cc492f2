/**
 * The verifier's browser entry (`@sensorseal/verifier/browser`, and what a bundler picks for
 * `@sensorseal/verifier` under its `browser` condition): check a portable proof bundle against
 * nothing but an audit-chain RPC endpoint, as the dashboard does. No files, no workers, no
 * services: the bundle carries the payload, signature, proof and anchoring references.
 *
 * A bundler maps the core's two node built-ins (`node:crypto` for random bytes and P-256,
 * `node:module` for the optional native secp256k1) to browser stand-ins; oracle/web/assets.ts
 * shows the esbuild setup the dashboard uses.
 *
 * @example
 * import { checkAnyBundleOnChain, parseAnyBundle } from "@sensorseal/verifier/browser";
 * const verdict = await checkAnyBundleOnChain(parseAnyBundle(text), "https://rpc.example");
 * verdict.status; // "VERIFIED"
 *
 * @module
 */
export { checkBundleOnChain, type BundleCheckResult, type BundleVerdict } from "./bundle.js";
export { checkAnyBundleOnChain } from "./evidence-bundle.js";
export {
  anyBundleToJson,
  bundleToJson,
  checkBundle,
  checkReadingEvidence,
  InvalidBundleError,
  parseAnyBundle,
  parseBundle,
  type AnyBundle,
  type BundleCheck,
  type CensoredEvidenceBundle,
  type DirectProofBundle,
  type ProofBundle,
} from "../core/bundle.js";
export { ReadingVerdict } from "./types.js";
