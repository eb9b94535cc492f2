/* global process, console */
// Device maker: make a device key, register it, sign and send three readings. Plain JavaScript with
// the installed packages (npm install @sensorseal/core @sensorseal/device); `npm start` prints the
// values of the local stack. The pack-install test (test/packages) runs this very file.
import { createChainRegistrar, DeviceClient, SoftwareSecureElement } from "@sensorseal/device";

const env = process.env;
const dir = env.DATA_DIR ?? ".";
const element = await SoftwareSecureElement.create("p256", `${dir}/device.json`, env.DEVICE_PASSWORD ?? "change me", {
  scrypt: { N: 1 << 12 },
});
const register = await createChainRegistrar({ rpcUrl: env.RPC_URL, registry: env.REGISTRY, privateKey: env.REGISTRAR_PRIVATE_KEY });
await register([element]); // returns once a reading stamped now is accepted
const client = DeviceClient.open({
  element,
  chainId: Number(env.CHAIN_ID),
  anchor: env.ANCHOR,
  platformUrl: env.PLATFORM_URL,
  relayerUrl: env.RELAYER_URL,
  outbox: `${dir}/outbox`,
});
const sent = [];
for (const temperature_c of [9.1, 9.3, 9.5]) {
  sent.push(
    await client.record({ temperature_c, humidity_pct: 71.5, pm2_5_ugm3: 3.2, pm10_ugm3: 5.5, no2_ugm3: 21.4, pressure_hpa: 1012.3 }),
  );
}
const backlog = await client.flush({ onProgress: (b) => console.error(`pending ${JSON.stringify(b.pending)}, ~${b.drainSeconds} s`) });
const storage = client.outbox.storage;
const counts = client.outbox.counts(); // per service: delivered, rejected (with the code), pending
await client.close();
console.log(JSON.stringify({ node: process.version, storage, device: element.address, seqs: sent.map((r) => r.seq), counts, backlog }));
