/**
 * Shared pieces of the provisioning tests: issuer records on a real chain, attestations signed by an
 * issuer key, proofs of possession signed by a device element. Importing this file does nothing.
 */
import { createWalletClient, http, type Address, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import {
  attestationDigest,
  attestationToJson,
  esimHash,
  proofOfPossessionDigest,
  registryDomain,
  type DeviceAttestation,
  type DeviceAttestationJson,
} from "../../oracle/core/attestation.js";
import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import type { SecureElement } from "../../oracle/device/secure-element.js";
import { createProvisioningService } from "../../oracle/provisioning/service.js";
import { EsimStore } from "../../oracle/provisioning/store.js";
import { listen } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase } from "../../oracle/store/sql.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { startTestRelayer, tempDir, type TestRelayer } from "../relayer/fixtures.js";

/** As the admin: `addIssuer` or `revokeIssuer`, mined. */
export async function setIssuer(chain: AuditChain, functionName: "addIssuer" | "revokeIssuer", issuer: Address): Promise<void> {
  const admin = createWalletClient({
    account: privateKeyToAccount(chain.keys.admin as Hex),
    chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
  const hash = await admin.writeContract({ address: chain.registry, abi: deviceRegistryAbi, functionName, args: [issuer] });
  await chain.publicClient.waitForTransactionReceipt({ hash });
}

/** A relayer that registers devices gas-free (paid by the chain's `stranger` key), its store in a temp dir of its own. */
export async function startRegistrationRelayer(
  chain: AuditChain,
): Promise<{ relayer: TestRelayer; tmp: Awaited<ReturnType<typeof tempDir>> }> {
  const tmp = await tempDir();
  const relayer = await startTestRelayer(chain, {
    databaseUrl: `${tmp.dir}/relayer.sqlite`,
    deviceRegistration: { registry: chain.registry, account: chain.keys.stranger as Hex },
  });
  return { relayer, tmp };
}

/**
 * The operator's provisioning service on port 0 for `issuerKey` (recorded on the chain with `addIssuer`),
 * having issued `esimIds`, its store in `dir`.
 */
export async function startTestProvisioning(
  chain: AuditChain,
  issuerKey: Hex,
  esimIds: readonly string[],
  dir: string,
): Promise<{ url: string; close(): Promise<void> }> {
  await setIssuer(chain, "addIssuer", privateKeyToAccount(issuerKey).address);
  const db = await openDatabase(`${dir}/provisioning.sqlite`);
  const store = await EsimStore.open(db);
  await store.add(esimIds, 0);
  const service = createProvisioningService({
    store,
    issuerKey,
    chainId: chain.chainId,
    registry: chain.registry,
    logger: createLogger("provisioning-test", process.env.TEST_LOG_LEVEL ?? "silent"),
  });
  const server = await listen(service.app, 0);
  return {
    url: server.url,
    async close() {
      await server.close();
      await db.close();
    },
  };
}

/** A registration body as the relayer takes it. */
export type RegistrationBody = { attestation: DeviceAttestationJson; issuerSignature: Hex; proofOfPossession: Hex };

/** The chain's latest block time, seconds. */
export async function chainNow(chain: AuditChain): Promise<number> {
  return Number((await chain.publicClient.getBlock({ blockTag: "latest" })).timestamp);
}

/**
 * An attestation of `element`'s key by `issuer` (valid an hour around `now` unless overridden), its
 * issuer signature and the element's proof of possession.
 */
export async function registration(
  chain: AuditChain,
  o: {
    issuer: PrivateKeyAccount;
    element: SecureElement;
    esimId: string;
    now: number;
    beneficiary?: Address;
    override?: Partial<DeviceAttestation>;
    /** Who signs the attestation (default the issuer): a forgery when another key. */
    signer?: PrivateKeyAccount;
    /** Who proves possession (default the attested element): another key's proof when given. */
    prover?: SecureElement;
  },
): Promise<RegistrationBody> {
  const domain = registryDomain(chain.chainId, chain.registry);
  const attestation: DeviceAttestation = {
    issuer: o.issuer.address,
    scheme: o.element.scheme,
    publicKey: bytesToHex(o.element.publicKey),
    esimHash: esimHash(o.esimId),
    beneficiary: o.beneficiary ?? privateKeyToAccount(chain.keys.stranger as Hex).address,
    metadataHash: `0x${"00".repeat(32)}`,
    validAfter: BigInt(o.now - 60),
    validUntil: BigInt(o.now + 3600),
    ...o.override,
  };
  const issuerSignature = await (o.signer ?? o.issuer).sign({ hash: attestationDigest(domain, attestation) });
  const proofOfPossession = bytesToHex(await (o.prover ?? o.element).sign(hexToBytes(proofOfPossessionDigest(domain, attestation))));
  return { attestation: attestationToJson(attestation), issuerSignature, proofOfPossession };
}
