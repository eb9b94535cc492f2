/**
 * The provisioning service (operator side, docs/PROVISIONING.md "Provisioning service"): it holds the
 * operator's issuer key, knows which eSIM ids it issued, and signs one attestation per eSIM id for the
 * key generated in that device's token. An unknown id is refused, and so is an id already used for
 * another key; the same request for the same key is answered again with the same attestation, so a
 * device that lost the answer can ask again.
 *
 * - `GET /v1/info` `{ issuer, chainId, registry, validitySeconds, esims: { issued, used } }`.
 * - `POST /v1/attestations` `{ esimId, scheme, publicKey, beneficiary, metadataHash? }` or an array
 *   of them (up to `maxBulk`): 201 `{ attestation, issuerSignature }` (200 when answered again); for an
 *   array 201 when all were answered, else 207, with `{ results: [...] }` in request order.
 *
 * @module
 */
import express, { type Express, type Request, type Response } from "express";
import { getAddress, isAddress, type Address, type Hex, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  attestationDigest,
  attestationToJson,
  esimHash,
  registryDomain,
  type DeviceAttestation,
  type RegistryDomain,
} from "../core/attestation.js";
import { deviceIdFromPublicKey, type KeyScheme } from "../core/keys.js";
import { createServiceApp, handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import type { EsimStore, IssuedAttestation } from "./store.js";

/** The default port of the provisioning service. */
export const PROVISIONING_PORT = 8620;

/** Options of {@link createProvisioningService}. */
export interface ProvisioningOptions {
  store: EsimStore;
  /** The issuer key (recorded on-chain with `addIssuer`). */
  issuerKey: Hex | LocalAccount;
  chainId: number;
  registry: Address;
  /** How long an attestation is valid, seconds (default 7 days). */
  validitySeconds?: number;
  /** Most attestations in one request (default 500). */
  maxBulk?: number;
  logger: Logger;
  now?: () => number;
}

/** A running provisioning service's parts. */
export interface ProvisioningService {
  app: Express;
  issuer: Address;
  domain: RegistryDomain;
  /** Signs (or answers again) the attestation for one request body. */
  attest(body: unknown): Promise<{ issued: IssuedAttestation; again: boolean }>;
}

const ESIM_ID = /^[0-9A-Za-z-]{1,64}$/;
const ZERO32: Hex = `0x${"00".repeat(32)}`;

/**
 * Builds the provisioning service.
 *
 * @example
 * const store = await EsimStore.open(await openDatabase("data/provisioning.sqlite"));
 * await store.add(["89440000000000000001"], Date.now() / 1000);
 * const service = createProvisioningService({ store, issuerKey, chainId: 31337, registry, logger: createLogger("provisioning") });
 * const server = await listen(service.app, PROVISIONING_PORT);
 */
export function createProvisioningService(o: ProvisioningOptions): ProvisioningService {
  const account = typeof o.issuerKey === "string" ? privateKeyToAccount(o.issuerKey) : o.issuerKey;
  const domain = registryDomain(o.chainId, o.registry);
  const validity = o.validitySeconds ?? 7 * 24 * 3600;
  const maxBulk = o.maxBulk ?? 500;
  const now = o.now ?? Date.now;

  async function attest(body: unknown): Promise<{ issued: IssuedAttestation; again: boolean }> {
    const request = parseRequest(body);
    for (;;) {
      const record = await o.store.get(request.esimId);
      if (record.state === "unknown") throw new ServiceError("ESIM_UNKNOWN", "this operator did not issue this eSIM id");
      if (record.state === "used") {
        const same =
          record.publicKey.toLowerCase() === request.publicKey.toLowerCase() &&
          record.beneficiary.toLowerCase() === request.beneficiary.toLowerCase() &&
          record.issued.attestation.scheme === request.scheme &&
          record.issued.attestation.metadataHash === request.metadataHash;
        if (!same) throw new ServiceError("ESIM_ALREADY_USED", "this eSIM id was already provisioned for another key");
        return { issued: record.issued, again: true };
      }
      const t = Math.floor(now() / 1000);
      const attestation: DeviceAttestation = {
        issuer: account.address,
        scheme: request.scheme,
        publicKey: request.publicKey,
        esimHash: esimHash(request.esimId),
        beneficiary: request.beneficiary,
        metadataHash: request.metadataHash,
        // A little slack before now: the chain's clock may lag the operator's.
        validAfter: BigInt(Math.max(0, t - 300)),
        validUntil: BigInt(t + validity),
      };
      const issuerSignature = await account.sign!({ hash: attestationDigest(domain, attestation) });
      const issued = { attestation: attestationToJson(attestation), issuerSignature };
      if (await o.store.use(request.esimId, issued, t)) {
        o.logger.info({ device: deviceIdFromPublicKey(request.publicKey), scheme: request.scheme }, "attestation issued");
        return { issued, again: false };
      }
      // Taken meanwhile by a concurrent request: judge against what it stored.
    }
  }

  const router = express.Router();
  router.get(
    "/v1/info",
    handle(async (_req: Request, res: Response) => {
      res.json({
        issuer: account.address,
        chainId: o.chainId,
        registry: domain.verifyingContract,
        validitySeconds: validity,
        esims: await o.store.counts(),
      });
    }),
  );
  router.post(
    "/v1/attestations",
    handle(async (req: Request, res: Response) => {
      const body: unknown = req.body;
      if (!Array.isArray(body)) {
        const { issued, again } = await attest(body);
        res.status(again ? 200 : 201).json(issued);
        return;
      }
      const results = await attestAll(body, maxBulk, attest);
      res.status(results.every((r) => r.status === "issued") ? 201 : 207).json({ results });
    }),
  );
  const app = createServiceApp({ name: "provisioning", logger: o.logger, router, bodyLimit: "1mb" });
  return { app, issuer: account.address, domain, attest };
}

/** A bulk request: each item answered in place, in order (two items naming one eSIM id are judged in order). */
async function attestAll(body: unknown[], maxBulk: number, attest: ProvisioningService["attest"]): Promise<Record<string, unknown>[]> {
  if (body.length === 0) throw new ServiceError("EMPTY_BULK", "no requests in the array");
  if (body.length > maxBulk) throw new ServiceError("INVALID_BODY", `at most ${maxBulk} requests at once`);
  const results: Record<string, unknown>[] = [];
  for (const item of body) {
    results.push(
      await attest(item).then(
        ({ issued }) => ({ status: "issued", ...issued }),
        (error: unknown) => {
          if (!(error instanceof ServiceError)) throw error;
          return { status: "rejected", error: { ...error.body().error, status: error.status } };
        },
      ),
    );
  }
  return results;
}

type AttestationRequest = { esimId: string; scheme: KeyScheme; publicKey: Hex; beneficiary: Address; metadataHash: Hex };

function parseRequest(body: unknown): AttestationRequest {
  const o = body as Partial<Record<keyof AttestationRequest, unknown>> | null;
  if (typeof o !== "object" || o === null || Array.isArray(o))
    throw new ServiceError("INVALID_BODY", "an attestation request is { esimId, scheme, publicKey, beneficiary, metadataHash? }");
  if (typeof o.esimId !== "string" || !ESIM_ID.test(o.esimId))
    throw new ServiceError("INVALID_BODY", "esimId must be 1 to 64 letters, digits or dashes");
  if (o.scheme !== "p256" && o.scheme !== "secp256k1") throw new ServiceError("INVALID_BODY", 'scheme must be "p256" or "secp256k1"');
  if (typeof o.publicKey !== "string" || !/^0x[0-9a-fA-F]{128}$/.test(o.publicKey))
    throw new ServiceError("INVALID_BODY", "publicKey must be 0x + 64 bytes x ‖ y");
  if (typeof o.beneficiary !== "string" || !isAddress(o.beneficiary, { strict: false }) || BigInt(o.beneficiary) === 0n)
    throw new ServiceError("INVALID_ADDRESS", "beneficiary must be a non-zero address");
  const metadataHash = o.metadataHash ?? ZERO32;
  if (typeof metadataHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(metadataHash))
    throw new ServiceError("INVALID_BODY", "metadataHash must be 32 bytes of hex");
  const publicKey = o.publicKey.toLowerCase() as Hex;
  try {
    deviceIdFromPublicKey(publicKey);
  } catch {
    throw new ServiceError("INVALID_BODY", "publicKey is not a key");
  }
  return {
    esimId: o.esimId,
    scheme: o.scheme,
    publicKey,
    beneficiary: getAddress(o.beneficiary),
    metadataHash: metadataHash.toLowerCase() as Hex,
  };
}
