import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { encodeAbiParameters, keccak256, concat, toHex, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import {
  AttestationError,
  attestationDigest,
  attestationFromJson,
  attestationHash,
  attestationToJson,
  checkAttestation,
  esimHash,
  proofOfPossessionDigest,
  registryDomain,
  type DeviceAttestation,
} from "../../oracle/core/attestation.js";
import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";

const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
const domain = registryDomain(31337, REGISTRY);
const issuer = privateKeyToAccount(`0x${"11".repeat(32)}`);
const NOW = 1_750_000_000;

function attestationOf(se: SoftwareSecureElement, esim = "89440000000000000001"): DeviceAttestation {
  return {
    issuer: issuer.address,
    scheme: se.scheme,
    publicKey: bytesToHex(se.publicKey),
    esimHash: esimHash(esim),
    beneficiary: "0x00000000000000000000000000000000000000B0",
    metadataHash: `0x${"00".repeat(32)}`,
    validAfter: BigInt(NOW),
    validUntil: BigInt(NOW + 86_400),
  };
}

async function signed(se: SoftwareSecureElement, a = attestationOf(se)) {
  const issuerSignature = await issuer.sign({ hash: attestationDigest(domain, a) });
  const proofOfPossession = bytesToHex(await se.sign(hexToBytes(proofOfPossessionDigest(domain, a))));
  return { domain, attestation: a, issuerSignature, proofOfPossession, now: NOW, issuer: { addedAt: 1, revokedAt: 0 } };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof AttestationError, String(e));
  return e.code;
}

describe("attestation encoding", () => {
  it("matches an independent abi.encode of the Solidity struct hash (as DeviceRegistry computes it)", () => {
    const se = SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7));
    const a = attestationOf(se);
    const typehash = keccak256(
      toHex(
        "DeviceAttestation(address issuer,uint8 scheme,bytes publicKey,bytes32 esimHash,address beneficiary,bytes32 metadataHash,uint64 validAfter,uint64 validUntil)",
      ),
    );
    const expected = keccak256(
      encodeAbiParameters(
        [
          { type: "bytes32" },
          { type: "address" },
          { type: "uint8" },
          { type: "bytes32" },
          { type: "bytes32" },
          { type: "address" },
          { type: "bytes32" },
          { type: "uint64" },
          { type: "uint64" },
        ],
        [typehash, a.issuer, 1, keccak256(a.publicKey), a.esimHash, a.beneficiary, a.metadataHash, a.validAfter, a.validUntil],
      ),
    );
    assert.equal(attestationHash(a), expected);
    assert.equal(esimHash("89440000000000000001"), keccak256(toHex("SensorSeal eSIM v1:89440000000000000001")));
    // Vector: fixed inputs give fixed digests (any change to the format changes these).
    assert.match(attestationDigest(domain, a), /^0x[0-9a-f]{64}$/);
    const popTypehash = keccak256(toHex("ProofOfPossession(bytes32 attestationHash)"));
    const popStruct = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [popTypehash, expected]));
    const separator = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }, { type: "uint256" }, { type: "address" }],
        [
          keccak256(toHex("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")),
          keccak256(toHex("SensorSeal Registry")),
          keccak256(toHex("1")),
          31337n,
          REGISTRY,
        ],
      ),
    );
    assert.equal(proofOfPossessionDigest(domain, a), keccak256(concat(["0x1901", separator, popStruct])));
  });

  it("round-trips through JSON and refuses malformed JSON", () => {
    const a = attestationOf(SoftwareSecureElement.fromPrivateKey("secp256k1", new Uint8Array(32).fill(3)));
    assert.deepEqual(attestationFromJson(JSON.parse(JSON.stringify(attestationToJson(a)))), a);
    assert.throws(
      () => attestationFromJson({ ...attestationToJson(a), validUntil: "-1" }),
      (e: AttestationError) => e.code === "ATTESTATION_MALFORMED",
    );
  });
});

describe("checkAttestation (off-chain, as the registry)", () => {
  for (const scheme of ["secp256k1", "p256"] as const) {
    it(`${scheme}: accepts a valid attestation and proof`, async () => {
      const se = SoftwareSecureElement.fromPrivateKey(scheme, new Uint8Array(32).fill(9));
      assert.equal(await checkAttestation(await signed(se)), se.address);
    });
  }

  it("refuses forged, expired, other-key, unknown and revoked-issuer attestations", async () => {
    const se = SoftwareSecureElement.fromPrivateKey("secp256k1", new Uint8Array(32).fill(9));
    const other = SoftwareSecureElement.fromPrivateKey("secp256k1", new Uint8Array(32).fill(8));
    const good = await signed(se);
    const forger = privateKeyToAccount(`0x${"22".repeat(32)}`);
    const forged: Hex = await forger.sign({ hash: attestationDigest(domain, good.attestation) });
    assert.equal(await refusal(checkAttestation({ ...good, issuerSignature: forged })), "ATTESTATION_INVALID_SIGNATURE");
    assert.equal(await refusal(checkAttestation({ ...good, now: NOW + 86_401 })), "ATTESTATION_NOT_VALID");
    assert.equal(await refusal(checkAttestation({ ...good, now: NOW - 1 })), "ATTESTATION_NOT_VALID");
    const otherProof = bytesToHex(await other.sign(hexToBytes(proofOfPossessionDigest(domain, good.attestation))));
    assert.equal(await refusal(checkAttestation({ ...good, proofOfPossession: otherProof })), "ATTESTATION_INVALID_PROOF");
    assert.equal(await refusal(checkAttestation({ ...good, issuer: undefined })), "ATTESTATION_UNKNOWN_ISSUER");
    assert.equal(await refusal(checkAttestation({ ...good, issuer: { addedAt: 1, revokedAt: 5 } })), "ATTESTATION_ISSUER_REVOKED");
    // A proof for one attestation does not carry over to another (other eSIM, same key).
    const second = attestationOf(se, "89440000000000000002");
    const secondSig = await issuer.sign({ hash: attestationDigest(domain, second) });
    assert.equal(
      await refusal(checkAttestation({ ...good, attestation: second, issuerSignature: secondSig })),
      "ATTESTATION_INVALID_PROOF",
    );
  });
});
