/**
 * The reward chain's formats in the core (oracle/core/oracle-message.ts, oracle/core/reward.ts),
 * checked without a chain against viem and @openzeppelin/merkle-tree.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import {
  concat,
  domainSeparator,
  encodeAbiParameters,
  getAddress,
  hashTypedData,
  keccak256,
  recoverAddress,
  toHex,
  type Address,
  type Hex,
} from "viem";
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
    tokenTotals: [],
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
      const tokens = Array.from({ length: i % 4 }, () => BigInt(address())).sort((a, b) => (a < b ? -1 : 1));
      const m = {
        ...randomMessage(),
        tokenTotals: tokens.map((t) => ({
          token: getAddress(`0x${t.toString(16).padStart(40, "0")}`),
          cumulativeTotal: randomUint(UINT256_MAX),
        })),
      };
      // encodeData: the ten static fields as abi.encode, then keccak256 of the token totals' struct hashes.
      const fields = ORACLE_MESSAGE_TYPES.OracleMessage.filter((f) => f.name !== "tokenTotals");
      const totalsHash = keccak256(
        concat(
          m.tokenTotals.map((t) =>
            keccak256(
              encodeAbiParameters(
                [{ type: "bytes32" }, { type: "address" }, { type: "uint256" }],
                [keccak256(toHex("TokenTotal(address token,uint256 cumulativeTotal)")), t.token, t.cumulativeTotal],
              ),
            ),
          ),
        ),
      );
      assert.equal(
        bytesToHex(encodeOracleMessage(m)),
        concat([encodeAbiParameters(fields, fields.map((f) => m[f.name]) as never), totalsHash]),
      );
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
  it("buildRewardTree = StandardMerkleTree over [address, address, uint256], for sizes 1…40 and two tokens", () => {
    const tokens = [address(), address()];
    for (const size of [1, 2, 3, 5, 8, 13, 40]) {
      const entries = Array.from({ length: size }, (_, i) => ({
        account: address(),
        token: tokens[i % 2],
        cumulative: randomUint(UINT256_MAX / 1000n),
      }));
      const tree = buildRewardTree(entries);
      const values = entries.map((e) => [e.account, e.token, e.cumulative]);
      const oz = StandardMerkleTree.of(values, [...REWARD_LEAF_ENCODING]);
      assert.equal(tree.root, oz.root);
      for (const token of tokens)
        assert.equal(
          tree.totalOf(token),
          entries.filter((e) => e.token === token).reduce((sum, e) => sum + e.cumulative, 0n),
        );
      assert.deepEqual(
        tree.totals.map((t) => t.token),
        [...new Set(entries.map((e) => e.token))].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
        "totals ascending by token",
      );
      for (let i = 0; i < size; i++) {
        const { account, token, cumulative } = entries[i];
        assert.deepEqual(tree.proof(account, token), oz.getProof(i));
        assert.equal(verifyRewardProof(tree.root, account, token, cumulative, tree.proof(account, token)), true);
        assert.equal(verifyRewardProof(tree.root, account, token, cumulative + 1n, tree.proof(account, token)), false);
        const other = token === tokens[0] ? tokens[1] : tokens[0];
        assert.equal(verifyRewardProof(tree.root, account, other, cumulative, tree.proof(account, token)), false, "bound to its token");
      }
      assert.deepEqual(tree.entry(entries[0].account.toLowerCase() as Address, entries[0].token), entries[0]);
      assert.equal(buildRewardTree([...entries].reverse()).root, tree.root, "the root does not depend on the order");
    }
  });

  it("one account holds one leaf per token; entriesOf lists them", () => {
    const [a, t1, t2] = [address(), address(), address()];
    const tree = buildRewardTree([
      { account: a, token: t1, cumulative: 5n },
      { account: a, token: t2, cumulative: 7n },
    ]);
    assert.deepEqual(
      tree.entriesOf(a).map((e) => e.cumulative),
      BigInt(t1) < BigInt(t2) ? [5n, 7n] : [7n, 5n],
    );
    assert.equal(verifyRewardProof(tree.root, a, t2, 7n, tree.proof(a, t2)), true);
  });

  it("the reward vectors (test/vectors/reward.json) = @openzeppelin/merkle-tree", () => {
    const v = JSON.parse(readFileSync(new URL("../vectors/reward.json", import.meta.url), "utf8")) as {
      values: [Address, Address, string][];
      leaves: Hex[];
      root: Hex;
      proofs: Hex[][];
    };
    const tree = buildRewardTree(v.values.map(([account, token, c]) => ({ account, token, cumulative: BigInt(c) })));
    assert.equal(tree.root, v.root);
    assert.equal(StandardMerkleTree.of(v.values, [...REWARD_LEAF_ENCODING]).root, v.root);
    v.values.forEach(([account, token], i) => assert.deepEqual(tree.proof(account, token), v.proofs[i]));
  });

  it("buildRewardTree rejects no entry, a repeated (account, token), a negative amount, a token total above uint256", () => {
    const a = address();
    const t = address();
    assert.throws(() => buildRewardTree([]), InvalidArgumentError);
    assert.throws(
      () =>
        buildRewardTree([
          { account: a, token: t, cumulative: 1n },
          { account: a.toLowerCase() as Address, token: t, cumulative: 2n },
        ]),
      InvalidArgumentError,
    );
    assert.throws(() => buildRewardTree([{ account: a, token: t, cumulative: -1n }]), InvalidArgumentError);
    assert.throws(
      () =>
        buildRewardTree([
          { account: a, token: t, cumulative: UINT256_MAX },
          { account: address(), token: t, cumulative: 1n },
        ]),
      InvalidArgumentError,
    );
    // The same amounts in two tokens do not overflow: totals are per token.
    buildRewardTree([
      { account: a, token: t, cumulative: UINT256_MAX },
      { account: a, token: address(), cumulative: UINT256_MAX },
    ]);
    assert.throws(() => buildRewardTree([{ account: a, token: t, cumulative: 1n }]).proof(address(), t), InvalidArgumentError);
  });

  it("claim digest = viem's hashTypedData; signClaim = viem's signTypedData", async () => {
    const domain = rewardDomain(31338, DISTRIBUTOR);
    const key = hex(32);
    for (let i = 0; i < 20; i++) {
      const claim = {
        account: address(),
        token: address(),
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
