/* global process, console, TextEncoder */
// Verifier: check a device's readings against the audit chain and the platform, export one proof
// bundle and check it as a browser would. Plain JavaScript with @sensorseal/verifier installed.
import { parsePayload } from "@sensorseal/core";
import { exportBundle, Verifier } from "@sensorseal/verifier";
import { checkBundleOnChain } from "@sensorseal/verifier/browser";

const env = process.env;
const verifier = await Verifier.create({
  rpc: env.RPC_URL,
  anchor: env.ANCHOR,
  platform: { url: env.PLATFORM_URL, apiKey: env.PLATFORM_API_KEY },
  relayer: env.RELAYER_URL,
  threads: 1,
});
const statuses = [];
for (const seq of [1, 2, 3]) statuses.push((await verifier.verifyReading(env.DEVICE, seq)).status);
const { bundle } = await exportBundle(verifier, env.DEVICE, 2);
const bundleVerdict = (await checkBundleOnChain(bundle, env.RPC_URL)).status;
const payload = parsePayload(new TextEncoder().encode(bundle.payload));
await verifier.close();
console.log(JSON.stringify({ node: process.version, statuses, bundleVerdict, no2: payload.no2_ugm3 ?? null }));
