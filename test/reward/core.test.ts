/**
 * The reward chain's formats in the core (oracle/core/oracle-message.ts, oracle/core/reward.ts),
 * checked without a chain against viem and @openzeppelin/merkle-tree.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { domainSeparator, encodeAbiParameters, getAddress, hashTypedData, recoverAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { InvalidArgumentError, InvalidSignatureError } from "../../oracle/core/errors.js";
import {
  InvalidOracleMessageError,
  ORACLE_MESSAGE_TYPES,
  OracleMessageDigester,
  encodeOracleMessage,
  oracleAddress,
  oracleMessageFromJson,
  oracleMessageToJson,
  oracleMessageTypedData,
  recoverOracleSigner,
  signOracleMessage,
  sortOracleSignatures,
  type OracleMessage,
} from "../../oracle/core/oracle-message.js";
import {
  REWARD_LEAF_ENCODING,
  buildRewardTree,
  claimDigest,
  claimTypedData,
  rewardDomain,
  rewardDomainSeparator,
  signClaim,
  verifyRewardProof,
} from "../../oracle/core/reward.js";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const UINT256_MAX = (1n << 256n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const DISTRIBUTOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DEV_ORACLE_KEYS: Hex[] = [
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
];

const hex = (n: number): Hex => `0x${randomBytes(n).toString("hex")}`;
const address = (): Address => getAddress(hex(20));

function randomUint(max: bigint): bigint {
  switch (randomInt(4)) {
    case 0:
      return 0n;
    case 1:
      return max;
    default:
      return BigInt(hex(32)) & max;
  }
}

function randomMessage(chainId = 31338): OracleMessage {
  return {
    sourceChainId: randomUint(UINT256_MAX),
    destinationChainId: BigInt(chainId),
    distributor: DISTRIBUTOR,
    epoch: randomUint(UINT64_MAX),
    root: hex(32),
    cumulativeTotal: randomUint(UINT256_MAX),
    fromBlock: randomUint(UINT64_MAX),
    toBlock: randomUint(UINT64_MAX),
    rulesVersion: randomInt(2) === 0 ? 0xffffffff : randomInt(1000),
    oracleSetVersion: randomInt(2) === 0 ? 0xffffffff : randomInt(1000),
  };
}

describe("oracle message (core)", () => {
  const digester = new OracleMessageDigester(31338, DISTRIBUTOR);

  it("the dev oracle keys are the oracles of ignition/parameters/local.json", () => {
    const params = JSON.parse(readFileSync(new URL("../../ignition/parameters/local.json", import.meta.url), "utf8")) as {
      RewardDistributor: { oracles: string[] };
    };
    assert.deepEqual(DEV_ORACLE_KEYS.map(oracleAddress), params.RewardDistributor.oracles);
  });

  it("encoding = viem's abi.encode, digest = viem's hashTypedData, for 200 random messages", () => {
    for (let i = 0; i < 200; i++) {
      const m = randomMessage();
      const fields = ORACLE_MESSAGE_TYPES.OracleMessage;
      assert.equal(bytesToHex(encodeOracleMessage(m)), encodeAbiParameters(fields, fields.map((f) => m[f.name]) as never));
      assert.equal(digester.digestHex(m), hashTypedData(oracleMessageTypedData(digester.domain, m)));
    }
  });

  it("the domain separator is viem's", () => {
    for (const chainId of [1, 31338, Number.MAX_SAFE_INTEGER]) {
      const distributor = address();
      assert.equal(
        bytesToHex(rewardDomainSeparator(chainId, distributor)),
        domainSeparator({ domain: rewardDomain(chainId, distributor) }),
      );
    }
    assert.equal(digester.domainSeparator, domainSeparator({ domain: digester.domain }));
  });

  it("signatures equal viem's signTypedData and recover to the signer", async () => {
    for (const key of DEV_ORACLE_KEYS) {
      const m = randomMessage();
      const signed = signOracleMessage(key, digester, m);
      assert.equal(signed.signer, privateKeyToAccount(key).address);
      assert.equal(signed.signature, await privateKeyToAccount(key).signTypedData(oracleMessageTypedData(digester.domain, m)));
      assert.equal(recoverOracleSigner(digester.digest(m), signed.signature), signed.signer);
      assert.equal(await recoverAddress({ hash: digester.digestHex(m), signature: signed.signature }), signed.signer);
    }
  });

  it("refuses to sign a message for another chain or distributor", () => {
    assert.throws(
      () => signOracleMessage(DEV_ORACLE_KEYS[0], digester, randomMessage(1)),
      (e: unknown) => e instanceof InvalidOracleMessageError && e.details?.field === "destinationChainId",
    );
    assert.throws(
      () => signOracleMessage(DEV_ORACLE_KEYS[0], digester, { ...randomMessage(), distributor: address() }),
      (e: unknown) => e instanceof InvalidOracleMessageError && e.details?.field === "distributor",
    );
  });

  it("recoverOracleSigner rejects what OZ's ECDSA rejects: high-s, bad v, wrong length", () => {
    const m = randomMessage();
    const { signature } = signOracleMessage(DEV_ORACLE_KEYS[1], digester, m);
    const bytes = hexToBytes(signature);
    const s = BigInt(bytesToHex(bytes.slice(32, 64)));
    const high = bytes.slice();
    high.set(hexToBytes(`0x${(SECP256K1_N - s).toString(16).padStart(64, "0")}`), 32);
    high[64] = bytes[64] === 27 ? 28 : 27;
    const badV = bytes.slice();
    badV[64] = 1;
    for (const bad of [high, badV, bytes.slice(0, 64), new Uint8Array(65)])
      assert.throws(() => recoverOracleSigner(digester.digest(m), bad), InvalidSignatureError);
  });

  it("sortOracleSignatures orders by signer address, whatever the case, and rejects a repeated signer", () => {
    const signed = DEV_ORACLE_KEYS.map((k) => signOracleMessage(k, digester, randomMessage()));
    const expected = [...signed].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1)).map((s) => s.signature);
    assert.deepEqual(sortOracleSignatures(signed), expected);
    assert.deepEqual(
      sortOracleSignatures([...signed].reverse().map((s) => ({ ...s, signer: s.signer.toLowerCase() as Address }))),
      expected,
    );
    assert.throws(
      () => sortOracleSignatures([signed[0], { ...signed[0], signer: signed[0].signer.toLowerCase() as Address }]),
      InvalidArgumentError,
    );
    assert.deepEqual(sortOracleSignatures([]), []);
  });

  it("JSON round trip, strict parsing", () => {
    for (let i = 0; i < 50; i++) {
      const m = randomMessage();
      const json = oracleMessageToJson(m);
      assert.deepEqual(oracleMessageFromJson(JSON.parse(JSON.stringify(json))), m);
    }
    const json = oracleMessageToJson(randomMessage());
    const bad: [string, unknown][] = [
      ["epoch", "01"],
      ["epoch", (UINT64_MAX + 1n).toString()],
      ["cumulativeTotal", (UINT256_MAX + 1n).toString()],
      ["distributor", DISTRIBUTOR.toLowerCase()],
      ["root", json.root.toUpperCase().replace("0X", "0x")],
      ["rulesVersion", 2 ** 32],
      ["oracleSetVersion", 1.5],
      ["extra", 1],
    ];
    for (const [field, value] of bad)
      assert.throws(
        () => oracleMessageFromJson({ ...json, [field]: value }),
        (e: unknown) => e instanceof InvalidOracleMessageError && e.details?.field === field,
        field,
      );
  });

  it("rejects malformed fields with the field's name", () => {
    const cases: [keyof OracleMessage, unknown][] = [
      ["sourceChainId", -1n],
      ["destinationChainId", 31338],
      ["distributor", "0x1234"],
      ["epoch", UINT64_MAX + 1n],
      ["root", "0x00"],
      ["cumulativeTotal", UINT256_MAX + 1n],
      ["fromBlock", 1],
      ["toBlock", -1n],
      ["rulesVersion", -1],
      ["oracleSetVersion", 1n],
    ];
    for (const [field, value] of cases)
      assert.throws(
        () => digester.digest({ ...randomMessage(), [field]: value } as OracleMessage),
        (e: unknown) => e instanceof InvalidOracleMessageError && e.details?.field === field,
        field,
      );
  });
});

describe("reward tree and claims (core)", () => {
  it("buildRewardTree = StandardMerkleTree over [address, uint256], for sizes 1…40", () => {
    for (const size of [1, 2, 3, 5, 8, 13, 40]) {
      const entries = Array.from({ length: size }, () => ({ account: address(), cumulative: randomUint(UINT256_MAX / 1000n) }));
      const tree = buildRewardTree(entries);
      const values = entries.map((e) => [e.account, e.cumulative]);
      const oz = StandardMerkleTree.of(values, [...REWARD_LEAF_ENCODING]);
      assert.equal(tree.root, oz.root);
      assert.equal(
        tree.total,
        entries.reduce((sum, e) => sum + e.cumulative, 0n),
      );
      for (let i = 0; i < size; i++) {
        assert.deepEqual(tree.proof(entries[i].account), oz.getProof(i));
        assert.equal(verifyRewardProof(tree.root, entries[i].account, entries[i].cumulative, tree.proof(entries[i].account)), true);
        assert.equal(verifyRewardProof(tree.root, entries[i].account, entries[i].cumulative + 1n, tree.proof(entries[i].account)), false);
      }
      assert.deepEqual(tree.entry(entries[0].account.toLowerCase() as Address), entries[0]);
      assert.equal(buildRewardTree([...entries].reverse()).root, tree.root, "the root does not depend on the order");
    }
  });

  it("buildRewardTree rejects no entry, a repeated account, a negative amount, a total above uint256", () => {
    const a = address();
    assert.throws(() => buildRewardTree([]), InvalidArgumentError);
    assert.throws(
      () =>
        buildRewardTree([
          { account: a, cumulative: 1n },
          { account: a.toLowerCase() as Address, cumulative: 2n },
        ]),
      InvalidArgumentError,
    );
    assert.throws(() => buildRewardTree([{ account: a, cumulative: -1n }]), InvalidArgumentError);
    assert.throws(
      () =>
        buildRewardTree([
          { account: a, cumulative: UINT256_MAX },
          { account: address(), cumulative: 1n },
        ]),
      InvalidArgumentError,
    );
    assert.throws(() => buildRewardTree([{ account: a, cumulative: 1n }]).proof(address()), InvalidArgumentError);
  });

  it("claim digest = viem's hashTypedData; signClaim = viem's signTypedData", async () => {
    const domain = rewardDomain(31338, DISTRIBUTOR);
    const key = hex(32);
    for (let i = 0; i < 20; i++) {
      const claim = {
        account: address(),
        cumulative: randomUint(UINT256_MAX),
        recipient: address(),
        nonce: randomUint(UINT256_MAX),
        deadline: randomUint(UINT256_MAX),
      };
      assert.equal(bytesToHex(claimDigest(domain, claim)), hashTypedData(claimTypedData(domain, claim)));
      assert.equal(signClaim(key, domain, claim), await privateKeyToAccount(key).signTypedData(claimTypedData(domain, claim)));
    }
  });
});
