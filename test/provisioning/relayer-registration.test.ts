import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { revertName } from "../../oracle/chain/rpc.js";
import { attestationFromJson } from "../../oracle/core/attestation.js";
import { generatePrivateKey, keySchemeId, type KeyScheme } from "../../oracle/core/keys.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { postJson, request, startTestRelayer, type tempDir, type TestRelayer } from "../relayer/fixtures.js";
import { chainNow, registration, setIssuer, startRegistrationRelayer, type RegistrationBody } from "./fixtures.js";

const element = (scheme: KeyScheme) => SoftwareSecureElement.fromPrivateKey(scheme, generatePrivateKey(scheme));

describe("gas-free registration through the relayer (POST /v1/devices/register), on a real chain", () => {
  let chain: AuditChain;
  let relayer: TestRelayer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const issuer = privateKeyToAccount(`0x${"1e".repeat(32)}`);
  const revoked = privateKeyToAccount(`0x${"2e".repeat(32)}`);
  const forger = privateKeyToAccount(`0x${"3e".repeat(32)}`);
  let sender: Address;
  let esim = 0;
  const nextEsim = () => `8944000000000000${String(++esim).padStart(4, "0")}`;

  before(async () => {
    chain = await startAuditChain();
    ({ relayer, tmp } = await startRegistrationRelayer(chain));
    sender = privateKeyToAccount(chain.keys.stranger as Hex).address;
    await setIssuer(chain, "addIssuer", issuer.address);
    await setIssuer(chain, "addIssuer", revoked.address);
    await setIssuer(chain, "revokeIssuer", revoked.address);
  });
  after(async () => {
    await relayer.close();
    await chain.close();
    await tmp.remove();
  });

  const register = (body: unknown) => postJson(`${relayer.url}/v1/devices/register`, body);
  const nonce = () => chain.publicClient.getTransactionCount({ address: sender });
  /** The registry's own verdict on the same registration (eth_call from the sender). */
  async function onChainRevert(body: RegistrationBody): Promise<string | undefined> {
    const a = attestationFromJson(body.attestation);
    try {
      await chain.publicClient.simulateContract({
        account: sender,
        address: chain.registry,
        abi: deviceRegistryAbi,
        functionName: "registerWithAttestation",
        args: [{ ...a, scheme: keySchemeId(a.scheme) }, body.issuerSignature, body.proofOfPossession],
      });
      return undefined;
    } catch (error) {
      return revertName(error);
    }
  }

  it("registers devices of both schemes in one request, paid by the relayer's registration account", async () => {
    const now = await chainNow(chain);
    const p256 = element("p256");
    const k1 = element("secp256k1");
    const bodies = [
      await registration(chain, { issuer, element: p256, esimId: nextEsim(), now }),
      await registration(chain, { issuer, element: k1, esimId: nextEsim(), now }),
    ];
    const answer = await register(bodies);
    assert.equal(answer.status, 201, answer.text);
    assert.deepEqual(
      answer.body.results.map((r: { status: string; device: string }) => [r.status, r.device]),
      [
        ["registered", p256.address],
        ["registered", k1.address],
      ],
    );
    for (const device of [p256.address, k1.address]) {
      const view = await request(`${relayer.url}/v1/devices/${device}`);
      assert.deepEqual(view.body, { device, status: "active", issuer: issuer.address });
    }
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: answer.body.results[0].txHash });
    assert.equal(receipt.from.toLowerCase(), sender.toLowerCase());
  });

  it("refuses every bad registration off-chain with the registry's code, spending no gas; the registry refuses the same", async () => {
    const now = await chainNow(chain);
    const used = element("p256");
    const usedBody = await registration(chain, { issuer, element: used, esimId: nextEsim(), now });
    assert.equal((await register(usedBody)).status, 201);
    const other = element("p256");
    const cases: { name: string; body: RegistrationBody; code: string; status: number; revert: string }[] = [
      {
        name: "forged attestation (signed by a key that is no issuer)",
        body: await registration(chain, { issuer, signer: forger, element: element("p256"), esimId: nextEsim(), now }),
        code: "ATTESTATION_INVALID_SIGNATURE",
        status: 400,
        revert: "DeviceRegistryInvalidAttestationSignature",
      },
      {
        name: "expired attestation",
        body: await registration(chain, {
          issuer,
          element: element("secp256k1"),
          esimId: nextEsim(),
          now,
          override: { validAfter: BigInt(now - 7200), validUntil: BigInt(now - 3600) },
        }),
        code: "ATTESTATION_NOT_VALID",
        status: 400,
        revert: "DeviceRegistryAttestationNotValid",
      },
      {
        name: "attestation for another key (proof signed by a different device)",
        body: await registration(chain, { issuer, element: other, prover: element("p256"), esimId: nextEsim(), now }),
        code: "ATTESTATION_INVALID_PROOF",
        status: 400,
        revert: "DeviceRegistryInvalidProofOfPossession",
      },
      {
        name: "replayed proof of possession",
        body: usedBody,
        code: "ATTESTATION_ESIM_USED",
        status: 409,
        revert: "DeviceRegistryEsimAlreadyUsed",
      },
      {
        name: "revoked issuer",
        body: await registration(chain, { issuer: revoked, element: element("p256"), esimId: nextEsim(), now }),
        code: "ATTESTATION_ISSUER_REVOKED",
        status: 403,
        revert: "DeviceRegistryIssuerRevoked",
      },
      {
        name: "unknown issuer",
        body: await registration(chain, { issuer: forger, element: element("p256"), esimId: nextEsim(), now }),
        code: "ATTESTATION_UNKNOWN_ISSUER",
        status: 403,
        revert: "DeviceRegistryUnknownIssuer",
      },
      {
        name: "already registered (the same key on a second eSIM)",
        body: await registration(chain, { issuer, element: used, esimId: nextEsim(), now }),
        code: "DEVICE_ALREADY_REGISTERED",
        status: 409,
        revert: "DeviceRegistryAlreadyRegistered",
      },
    ];
    const before = await nonce();
    for (const c of cases) {
      const answer = await register(c.body);
      assert.equal(answer.status, c.status, `${c.name}: ${answer.text}`);
      assert.equal(answer.body.error.code, c.code, c.name);
      assert.equal(await onChainRevert(c.body), c.revert, `on-chain: ${c.name}`);
    }
    assert.equal(await nonce(), before, "no transaction was sent for a refused registration");
    assert.equal((await request(`${relayer.url}/v1/devices/${other.address}`)).body.status, "unknown");
  });

  it("in a bulk, registers the good ones and answers each refusal in place (207); a duplicate within the request is a replay", async () => {
    const now = await chainNow(chain);
    const good = await registration(chain, { issuer, element: element("p256"), esimId: nextEsim(), now });
    const malformed = { ...good, attestation: { ...good.attestation, publicKey: "0x1234" } };
    const answer = await register([good, malformed, good, "nonsense"]);
    assert.equal(answer.status, 207, answer.text);
    assert.deepEqual(
      answer.body.results.map((r: { status: string; error?: { code: string } }) => r.error?.code ?? r.status),
      ["registered", "ATTESTATION_MALFORMED", "ATTESTATION_ESIM_USED", "INVALID_BODY"],
    );
    assert.equal(answer.body.registered, 1);
    assert.equal((await register([])).body.error.code, "EMPTY_BULK");
  });

  it("answers 501 REGISTRATION_DISABLED on a relayer without a registration account", async () => {
    const plain = await startTestRelayer(chain, { databaseUrl: `${tmp.dir}/plain.sqlite`, register: false, start: false });
    try {
      const answer = await postJson(`${plain.url}/v1/devices/register`, {});
      assert.equal(answer.status, 501);
      assert.equal(answer.body.error.code, "REGISTRATION_DISABLED");
    } finally {
      await plain.close();
    }
  });
});
