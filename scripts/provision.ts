/**
 * Provisioning (docs/PROVISIONING.md), both sides:
 *
 *   npm run provision -- serve                     # the operator's provisioning service (env: oracle/provisioning/main.ts)
 *   npm run provision -- device --esim 8944… --beneficiary 0x… \
 *     (--token "pkcs11:token=SensorSeal;object=device-1?module-path=/usr/lib/softhsm/libsofthsm2.so" | --key-file device.json) \
 *     [--scheme p256|secp256k1] [--metadata-hash 0x…] [--provisioning http://127.0.0.1:8620] [--relayer http://127.0.0.1:8547]
 *
 * `device` does the whole flow: opens the device key in its token (generated there when the label is
 * new; PIN from SENSORSEAL_PKCS11_PIN) or its key file (created when missing; password from
 * SENSORSEAL_KEY_PASSWORD), asks the provisioning service for the attestation, signs the proof of
 * possession, and has the relayer register the device gas-free. Prints the device id and the
 * transaction as JSON on stdout.
 *
 * Exit codes: 0 registered (or already registered with this key by this eSIM's issuer), 1 refused
 * (the service's code and message on stderr), 2 usage or configuration error, 3 the token or key
 * file cannot be used, 4 a service cannot be reached.
 */
import { parseArgs } from "node:util";

import { getAddress, isAddress, type Address, type Hex } from "viem";

import { SensorSealError } from "../oracle/core/errors.js";
import type { KeyScheme } from "../oracle/core/keys.js";
import { KeyFileNotFoundError } from "../oracle/device/errors.js";
import { TokenError } from "../oracle/device/pkcs11-errors.js";
import { Pkcs11SecureElement } from "../oracle/device/pkcs11-secure-element.js";
import { SoftwareSecureElement, type SecureElement } from "../oracle/device/secure-element.js";
import { provisionDevices, ProvisioningError, registeredDevice } from "../oracle/provisioning/client.js";
import { parseProvisioningConfig, startProvisioning } from "../oracle/provisioning/main.js";
import { runService } from "../oracle/service/run.js";

const KEY_PASSWORD_ENV = "SENSORSEAL_KEY_PASSWORD";

function fail(code: number, message: string): never {
  console.error(`provision: ${message}`);
  process.exit(code);
}

const [command, ...rest] = process.argv.slice(2);
if (command === "serve") {
  await runService({
    name: "provisioning",
    parse: parseProvisioningConfig,
    start: startProvisioning,
    logLevel: (c) => c.logLevel,
    shutdownTimeoutMs: () => 10_000,
  });
} else if (command === "device") {
  await device(rest);
} else {
  fail(2, `usage: provision serve | provision device --esim ID --beneficiary 0x… (--token URI | --key-file FILE) (got "${command ?? ""}")`);
}

async function openElement(values: { token?: string; "key-file"?: string; scheme: string }): Promise<SecureElement> {
  const scheme = values.scheme as KeyScheme;
  if (values.token !== undefined) {
    try {
      return await Pkcs11SecureElement.open({ uri: values.token });
    } catch (error) {
      if (!(error instanceof TokenError && error.code === "TOKEN_OBJECT_NOT_FOUND")) throw error;
      console.error(`provision: generating a ${scheme} key in the token (${values.token})`);
      return Pkcs11SecureElement.generate(scheme, { uri: values.token });
    }
  }
  const password = process.env[KEY_PASSWORD_ENV];
  if (!password) fail(2, `--key-file needs ${KEY_PASSWORD_ENV}`);
  const file = values["key-file"]!;
  try {
    return await SoftwareSecureElement.open(file, password);
  } catch (error) {
    if (!(error instanceof KeyFileNotFoundError)) throw error;
    console.error(`provision: creating a ${scheme} key file ${file}`);
    return SoftwareSecureElement.create(scheme, file, password);
  }
}

async function device(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        esim: { type: "string" },
        beneficiary: { type: "string" },
        token: { type: "string" },
        "key-file": { type: "string" },
        scheme: { type: "string", default: "p256" },
        "metadata-hash": { type: "string" },
        provisioning: { type: "string", default: process.env.PROVISIONING_URL ?? "http://127.0.0.1:8620" },
        relayer: { type: "string", default: process.env.RELAYER_URL ?? "http://127.0.0.1:8547" },
      },
      strict: true,
    }));
  } catch (error) {
    fail(2, (error as Error).message);
  }
  if (!values.esim) fail(2, "--esim is required (the eSIM id the operator issued)");
  if (!values.beneficiary || !isAddress(values.beneficiary)) fail(2, "--beneficiary must be the address that earns the device's rewards");
  if ((values.token === undefined) === (values["key-file"] === undefined))
    fail(2, "give exactly one of --token (PKCS#11 URI) or --key-file");
  if (values.scheme !== "p256" && values.scheme !== "secp256k1") fail(2, '--scheme must be "p256" or "secp256k1"');
  const metadataHash = values["metadata-hash"];
  if (metadataHash !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(metadataHash)) fail(2, "--metadata-hash must be 32 bytes of hex");

  let element: SecureElement;
  try {
    element = await openElement(values);
  } catch (error) {
    if (error instanceof SensorSealError) fail(3, `${error.code}: ${error.shortMessage}`);
    throw error;
  }
  try {
    const [result] = await provisionDevices(
      [
        {
          element,
          esimId: values.esim,
          beneficiary: getAddress(values.beneficiary) as Address,
          ...(metadataHash === undefined ? {} : { metadataHash: metadataHash as Hex }),
        },
      ],
      { provisioningUrl: values.provisioning, relayerUrl: values.relayer },
    );
    if (result!.ok) {
      console.log(
        JSON.stringify({
          status: "registered",
          device: result!.device,
          scheme: element.scheme,
          txHash: result!.txHash,
          blockNumber: result!.blockNumber,
        }),
      );
      return;
    }
    // A retry after a lost answer: the registry already holds this very key.
    if (result!.error.code === "ATTESTATION_ESIM_USED" || result!.error.code === "DEVICE_ALREADY_REGISTERED") {
      const view = await registeredDevice(values.relayer, element.address);
      if (view.status === "active") {
        console.log(JSON.stringify({ status: "already-registered", device: element.address, scheme: element.scheme, issuer: view.issuer }));
        return;
      }
    }
    fail(1, `${result!.step} refused: ${result!.error.code}: ${result!.error.shortMessage} (device ${element.address})`);
  } catch (error) {
    if (error instanceof ProvisioningError) fail(error.code === "SERVICE_UNREACHABLE" ? 4 : 1, `${error.code}: ${error.shortMessage}`);
    if (error instanceof SensorSealError) fail(3, `${error.code}: ${error.shortMessage}`);
    throw error;
  } finally {
    if (element instanceof Pkcs11SecureElement) await element.close();
  }
}
