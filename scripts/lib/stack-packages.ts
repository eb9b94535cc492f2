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
};

/**
 * The "add your own device" lines of the stack's banner.
 *
 * @example
 * console.log(ownDeviceLines({ rpcUrl: "http://127.0.0.1:8545", chainId: 31337, … }));
 */
export function ownDeviceLines(i: OwnDeviceInfo): string {
  return `Add your own device (README "Use the SDK"):
  npm run build:packages && (cd oracle/core && npm pack) && (cd oracle/device && npm pack) && (cd oracle/verifier && npm pack)
  then in your project: npm install <those three .tgz files>, and with docs/examples/device-send.mjs:
  RPC_URL=${i.rpcUrl} CHAIN_ID=${i.chainId} REGISTRY=${i.registry} ANCHOR=${i.anchor} \\
  PLATFORM_URL=${i.platformUrl} RELAYER_URL=${i.relayerUrl} \\
  REGISTRAR_PRIVATE_KEY=${i.registrarKey} node device-send.mjs
  verify it: the same variables plus PLATFORM_API_KEY (consumerKey in ${i.secretsFile}) and DEVICE=<address>, node verify.mjs
`;
}
