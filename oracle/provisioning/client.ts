/**
 * The device side of provisioning (docs/PROVISIONING.md): ask the operator's provisioning service for
 * an attestation of the key in the device's token, sign the proof of possession with that key, and have
 * the relayer register the device gas-free. Works for one device or a batch (one request to each service).
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { attestationFromJson, proofOfPossessionDigest, registryDomain, type DeviceAttestationJson } from "../core/attestation.js";
import { bytesToHex, hexToBytes } from "../core/bytes.js";
import { SensorSealError } from "../core/errors.js";
import type { SecureElement } from "../device/secure-element.js";

/** A provisioning step was refused or failed; `code` is the service's machine-readable code. */
export class ProvisioningError extends SensorSealError {
  override name = "ProvisioningError" as const;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }
}

/** One device to provision. */
export type ProvisionRequest = { element: SecureElement; esimId: string; beneficiary: Address; metadataHash?: Hex };

/** What became of one device. */
export type ProvisionResult =
  | { ok: true; device: Address; txHash: Hex; blockNumber: string }
  | { ok: false; device: Address; step: "attestation" | "registration"; error: ProvisioningError };

/** Where the services are. */
export type ProvisioningEndpoints = { provisioningUrl: string; relayerUrl: string; fetch?: typeof fetch };

type ErrorJson = { error?: { code?: string; message?: string; details?: Record<string, unknown> } };

async function call(f: typeof fetch, url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await f(
      url,
      body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) },
    );
  } catch (cause) {
    throw new ProvisioningError("SERVICE_UNREACHABLE", `${new URL(url).origin} cannot be reached (${(cause as Error).message}).`, { url });
  }
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    throw new ProvisioningError("INVALID_ANSWER", `${url} answered ${res.status} without JSON.`, { url, status: res.status });
  }
}

function refusal(json: unknown, status: number): ProvisioningError {
  const e = (json as ErrorJson).error;
  return new ProvisioningError(e?.code ?? `HTTP_${status}`, e?.message ?? `HTTP ${status}`, e?.details ?? {});
}

/**
 * Provisions devices: one attestation request (bulk) to the provisioning service, a proof of
 * possession from each device's element, one registration request (bulk) to the relayer. Answers a
 * result per device, in order; throws only when a service cannot be reached or answers nonsense.
 *
 * @example
 * const [result] = await provisionDevices([{ element, esimId: "89440000000000000001", beneficiary }], {
 *   provisioningUrl: "http://127.0.0.1:8620", relayerUrl: "http://127.0.0.1:8547" });
 * if (!result.ok) console.error(result.error.code);
 */
export async function provisionDevices(requests: readonly ProvisionRequest[], e: ProvisioningEndpoints): Promise<ProvisionResult[]> {
  const f = e.fetch ?? fetch;
  const info = await call(f, `${e.provisioningUrl}/v1/info`);
  if (info.status !== 200) throw refusal(info.json, info.status);
  const { chainId, registry } = info.json as { chainId: number; registry: Address };
  const domain = registryDomain(chainId, registry);

  const asked = await call(
    f,
    `${e.provisioningUrl}/v1/attestations`,
    requests.map((r) => ({
      esimId: r.esimId,
      scheme: r.element.scheme,
      publicKey: bytesToHex(r.element.publicKey),
      beneficiary: r.beneficiary,
      ...(r.metadataHash === undefined ? {} : { metadataHash: r.metadataHash }),
    })),
  );
  if (asked.status !== 201 && asked.status !== 207) throw refusal(asked.json, asked.status);
  const attested = (asked.json as { results: ({ status: string; attestation: DeviceAttestationJson; issuerSignature: Hex } & ErrorJson)[] })
    .results;

  const results: (ProvisionResult | undefined)[] = [];
  const registrations: { index: number; body: unknown }[] = [];
  for (const [i, r] of requests.entries()) {
    const answer = attested[i]!;
    if (answer.status !== "issued") {
      results.push({ ok: false, device: r.element.address, step: "attestation", error: refusal(answer, 400) });
      continue;
    }
    const attestation = attestationFromJson(answer.attestation);
    if (attestation.publicKey !== bytesToHex(r.element.publicKey).toLowerCase())
      throw new ProvisioningError("INVALID_ANSWER", "The provisioning service attested another key.", { device: r.element.address });
    const proofOfPossession = bytesToHex(await r.element.sign(hexToBytes(proofOfPossessionDigest(domain, attestation))));
    registrations.push({ index: i, body: { attestation: answer.attestation, issuerSignature: answer.issuerSignature, proofOfPossession } });
    results.push(undefined);
  }
  if (registrations.length > 0) {
    const sent = await call(
      f,
      `${e.relayerUrl}/v1/devices/register`,
      registrations.map((r) => r.body),
    );
    if (sent.status !== 201 && sent.status !== 207) throw refusal(sent.json, sent.status);
    const answers = (sent.json as { results: ({ status: string; device: Address; txHash: Hex; blockNumber: string } & ErrorJson)[] })
      .results;
    registrations.forEach(({ index }, j) => {
      const a = answers[j]!;
      const device = requests[index]!.element.address;
      results[index] =
        a.status === "registered"
          ? { ok: true, device: getAddress(a.device), txHash: a.txHash, blockNumber: a.blockNumber }
          : { ok: false, device, step: "registration", error: refusal(a, 400) };
    });
  }
  return results as ProvisionResult[];
}

/**
 * The registry's view of a device through the relayer (`GET /v1/devices/:device`).
 *
 * @example
 * (await registeredDevice("http://127.0.0.1:8547", device)).status; // "active"
 */
export async function registeredDevice(
  relayerUrl: string,
  device: Address,
  f: typeof fetch = fetch,
): Promise<{ status: string; issuer: Address | null }> {
  const { status, json } = await call(f, `${relayerUrl}/v1/devices/${device}`);
  if (status !== 200) throw refusal(json, status);
  return json as { status: string; issuer: Address | null };
}
