import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import {
  attestationDigest,
  checkAttestation,
  esimHash,
  proofOfPossessionDigest,
  registryDomain,
  type DeviceAttestation,
} from "../../oracle/core/attestation.js";
import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { DeviceStatus } from "../../oracle/core/device-status.js";
import { keySchemeId } from "../../oracle/core/keys.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";

describe("registerWithAttestation on a real chain, followed by the registry index", () => {
  let chain: AuditChain;
  let index: RegistryIndex;
  const issuer = privateKeyToAccount(`0x${"5e".repeat(32)}`);

  before(async () => {
    chain = await startAuditChain();
    index = await RegistryIndex.start({ client: chain.publicClient, registry: chain.registry, deployBlock: chain.deployBlock, pollMs: 0 });
  });
  after(async () => {
    index.stop();
    await chain.close();
  });

  function wallet(key: Hex) {
    return createWalletClient({
      account: privateKeyToAccount(key),
      chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
      transport: http(chain.rpcUrl),
    });
  }
  async function send(key: Hex, functionName: "addIssuer" | "revokeIssuer", arg: Hex): Promise<void> {
    const hash = await wallet(key).writeContract({ address: chain.registry, abi: deviceRegistryAbi, functionName, args: [arg] });
    await chain.publicClient.waitForTransactionReceipt({ hash });
  }
  const onchain = (a: DeviceAttestation) => ({ ...a, scheme: keySchemeId(a.scheme) });

  it("registers on the core's attestation (same digests as the contract); revoking the issuer revokes the device from then on", async () => {
    await send(chain.keys.admin as Hex, "addIssuer", issuer.address);
    const se = SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(42));
    const now = Number((await chain.publicClient.getBlock()).timestamp);
    const attestation: DeviceAttestation = {
      issuer: issuer.address,
      scheme: "p256",
      publicKey: bytesToHex(se.publicKey),
      esimHash: esimHash("89440000000000000042"),
      beneficiary: privateKeyToAccount(chain.keys.stranger as Hex).address,
      metadataHash: `0x${"00".repeat(32)}`,
      validAfter: BigInt(now - 60),
      validUntil: BigInt(now + 3600),
    };
    const domain = registryDomain(chain.chainId, chain.registry);
    const read = (functionName: "attestationDigest" | "proofOfPossessionDigest") =>
      chain.publicClient.readContract({ address: chain.registry, abi: deviceRegistryAbi, functionName, args: [onchain(attestation)] });
    assert.equal(await read("attestationDigest"), attestationDigest(domain, attestation));
    assert.equal(await read("proofOfPossessionDigest"), proofOfPossessionDigest(domain, attestation));

    const issuerSignature = await issuer.sign({ hash: attestationDigest(domain, attestation) });
    const proofOfPossession = bytesToHex(await se.sign(hexToBytes(proofOfPossessionDigest(domain, attestation))));
    await index.sync();
    const record = index.issuer(issuer.address);
    assert.ok(record);
    assert.equal(await checkAttestation({ domain, attestation, issuerSignature, proofOfPossession, now, issuer: record }), se.address);
    // Anyone submits (here the relayer's account).
    const hash = await wallet(chain.keys.relayer as Hex).writeContract({
      address: chain.registry,
      abi: deviceRegistryAbi,
      functionName: "registerWithAttestation",
      args: [onchain(attestation), issuerSignature, proofOfPossession],
    });
    await chain.publicClient.waitForTransactionReceipt({ hash });
    await index.sync();
    assert.equal(index.device(se.address)?.issuer, issuer.address);
    assert.equal(index.device(se.address)?.status, DeviceStatus.Active);

    await chain.mine(1, 10);
    await send(chain.keys.admin as Hex, "revokeIssuer", issuer.address);
    const revokedAt = Number((await chain.publicClient.getBlock()).timestamp);
    await index.sync();
    assert.equal(index.issuer(issuer.address)?.revokedAt, revokedAt);
    assert.equal(index.device(se.address)?.status, DeviceStatus.Revoked);
    for (const t of [revokedAt - 1, revokedAt, revokedAt + 100]) {
      const onChain = await chain.publicClient.readContract({
        address: chain.registry,
        abi: deviceRegistryAbi,
        functionName: "statusAt",
        args: [se.address, BigInt(t)],
      });
      assert.equal(index.statusAt(se.address, t), onChain, `statusAt(${t})`);
    }
    assert.equal(index.isActiveAt(se.address, revokedAt - 1), true);
    assert.equal(index.isActiveAt(se.address, revokedAt), false);
  });
});
