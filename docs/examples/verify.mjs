/* global process, console, TextEncoder */
// A verifier's script, plain JavaScript: check a device's readings against the chain and the
// platform, and a proof bundle through the browser entry.
import { parsePayload } from "@sensorseal/core";
import { exportBundle, Verifier } from "@sensorseal/verifier";
import { checkBundleOnChain } from "@sensorseal/verifier/browser";

const env = JSON.parse(process.env.SENSORSEAL_PACK_CHECK);
const verifier = await Verifier.create({
  rpc: env.rpc,
  anchor: env.anchor,
  platform: { url: env.platformUrl, apiKey: env.apiKey },
  relayer: env.relayerUrl,
  threads: 1,
});
const statuses = [];
for (const seq of [1, 2, 3]) statuses.push((await verifier.verifyReading(env.device, seq)).status);
const { bundle } = await exportBundle(verifier, env.device, 2);
const bundleVerdict = (await checkBundleOnChain(bundle, env.rpc)).status;
const payload = parsePayload(new TextEncoder().encode(bundle.payload));
await verifier.close();
console.log(JSON.stringify({ node: process.version, statuses, bundleVerdict, no2: payload.no2_ugm3 ?? null }));
