/* global process, console */
// A library user's script, plain JavaScript, run by the pack-install test in a fresh project with
// the installed packages: make a device key, register it, sign and send three readings.
import { createChainRegistrar, DeviceClient, SoftwareSecureElement } from "@sensorseal/device";

const env = JSON.parse(process.env.SENSORSEAL_PACK_CHECK);
const element = await SoftwareSecureElement.create("p256", `${env.dir}/device.json`, "pw", { scrypt: { N: 1 << 12 } });
const register = await createChainRegistrar({ rpcUrl: env.rpc, registry: env.registry, privateKey: env.registrarKey });
await register([element]);
const client = DeviceClient.open({
  element,
  chainId: env.chainId,
  anchor: env.anchor,
  platformUrl: env.platformUrl,
  relayerUrl: env.relayerUrl,
  outbox: `${env.dir}/outbox`,
});
const sent = [];
for (const temperature_c of [9.1, 9.3, 9.5]) {
  sent.push(
    await client.record({ temperature_c, humidity_pct: 71.5, pm2_5_ugm3: 3.2, pm10_ugm3: 5.5, no2_ugm3: 21.4, pressure_hpa: 1012.3 }),
  );
}
await client.drain(60_000);
const counts = client.outbox.counts();
const storage = client.outbox.storage;
await client.close();
console.log(JSON.stringify({ node: process.version, storage, device: element.address, seqs: sent.map((r) => r.seq), counts }));
