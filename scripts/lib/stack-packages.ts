/**
 * What `npm start` prints for adding your own device to the running stack: the values the
 * docs/examples scripts (and any SDK user) need, and how to get the packages.
 */

/** The stack's values a device maker needs. */
export type OwnDeviceInfo = {
  rpcUrl: string;
  chainId: number;
  registry: string;
  anchor: string;
  platformUrl: string;
  relayerUrl: string;
  /** The local dev chain's registrar key (a public Hardhat test key: never use it on a real network). */
  registrarKey: string;
  secretsFile: string;
  /** The operator's provisioning service, and an eSIM id it issued that no simulated device uses. */
  provisioningUrl: string;
  spareEsimId: string;
  /** The token's `npm run provision` flags and environment, or undefined for a key file. */
  token?: { conf: string; label: string; pin: string; modulePath: string };
  beneficiary: string;
};

/**
 * The "add your own device" lines of the stack's banner.
 *
 * @example
 * console.log(ownDeviceLines({ rpcUrl: "http://127.0.0.1:8545", chainId: 31337, … }));
 */
export function ownDeviceLines(i: OwnDeviceInfo): string {
  const key =
    i.token === undefined
      ? `SENSORSEAL_KEY_PASSWORD=choose-one npm run provision -- device --key-file my-device.json`
      : `SOFTHSM2_CONF=${i.token.conf} SENSORSEAL_PKCS11_PIN=${i.token.pin} npm run provision -- device \\
    --token "pkcs11:token=${i.token.label};object=my-device?module-path=${i.token.modulePath}"`;
  return `Provision your own device (docs/PROVISIONING.md; eSIM ids ${i.spareEsimId} and up are issued and unused):
  ${key} \\
    --esim ${i.spareEsimId} --beneficiary ${i.beneficiary} --provisioning ${i.provisioningUrl} --relayer ${i.relayerUrl}
Add your own device (README "Use the SDK"):
  npm run build:packages && (cd oracle/core && npm pack) && (cd oracle/device && npm pack) && (cd oracle/verifier && npm pack)
  then in your project: npm install <those three .tgz files>, and with docs/examples/device-send.mjs:
  RPC_URL=${i.rpcUrl} CHAIN_ID=${i.chainId} REGISTRY=${i.registry} ANCHOR=${i.anchor} \\
  PLATFORM_URL=${i.platformUrl} RELAYER_URL=${i.relayerUrl} \\
  REGISTRAR_PRIVATE_KEY=${i.registrarKey} node device-send.mjs
  verify it: the same variables plus PLATFORM_API_KEY (consumerKey in ${i.secretsFile}) and DEVICE=<address>, node verify.mjs
`;
}
