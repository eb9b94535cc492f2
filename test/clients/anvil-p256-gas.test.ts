/**
 * Both P-256 paths, measured: `submitReading` and `verifyReading` for P-256 (and, as the baseline,
 * secp256k1) devices on a chain with the P256VERIFY precompile (anvil's default hardfork, Osaka:
 * EIP-7951) and on one without it (anvil `--hardfork prague`: OpenZeppelin's `P256.verify` falls
 * back to its Solidity verifier), with EDR (Prague plus RIP-7212) beside them. Prints the table the
 * README's gas section quotes; asserts only what must hold (the precompile answers where it should,
 * the Solidity fallback costs far more, secp256k1 costs the same everywhere).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createWalletClient, encodeFunctionData, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { generatePrivateKey, publicKeyFromPrivate, signDigest } from "../../oracle/core/keys.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import type { TestNode } from "../helpers/test-node.js";
import { chainTime, registeredDevice, signedReading, type TestDevice } from "../relayer/fixtures.js";

const P256VERIFY = "0x0000000000000000000000000000000000000100";

const NODES: { name: string; node: TestNode }[] = [
  { name: "EDR (prague + RIP-7212)", node: { client: "edr" } },
  { name: "anvil (osaka, EIP-7951)", node: { client: "anvil" } },
  { name: "anvil (prague, no precompile)", node: { client: "anvil", anvil: { hardfork: "prague" } } },
];

interface Gas {
  submitFirst: bigint;
  submitLater: bigint;
  verify: bigint;
}

/** A valid P256VERIFY input (hash ‖ r ‖ s ‖ x ‖ y): a node with the precompile answers 1 (32 bytes). */
function p256VerifyInput(): Hex {
  const key = generatePrivateKey("p256");
  const hash = new Uint8Array(32).fill(7);
  const out = new Uint8Array(160);
  out.set(hash, 0);
  out.set(signDigest("p256", key, hash), 32);
  out.set(publicKeyFromPrivate("p256", key), 96);
  return bytesToHex(out);
}

async function measure(chain: AuditChain, scheme: "secp256k1" | "p256"): Promise<Gas> {
  const device: TestDevice = await registeredDevice(chain, scheme);
  const domain = { chainId: chain.chainId, anchor: chain.anchor };
  const wallet = createWalletClient({
    account: privateKeyToAccount(chain.keys.stranger),
    chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
  const t = await chainTime(chain);
  const submit = async (seq: number): Promise<bigint> => {
    const r = signedReading(device, domain, { seq, timestamp: t });
    const hash = await wallet.writeContract({
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "submitReading",
      args: [{ device: r.device, seq: BigInt(seq), timestamp: BigInt(t), dataHash: r.dataHash }, r.signature],
      // A fixed limit: gasUsed is what is measured, and no estimate can fall short on any node.
      gas: 2_000_000n,
    });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success", `${chain.label} ${scheme} submitReading #${seq}`);
    return receipt.gasUsed;
  };
  const submitFirst = await submit(1);
  const submitLater = await submit(2);

  // verifyReading of a reading in a 4-leaf batch (a 2-hash proof), as a wallet or explorer calls it.
  const readings = [3, 4, 5, 6].map((seq) => signedReading(device, domain, { seq, timestamp: t }));
  const items = readings.map((r) => ({
    reading: { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash },
    signature: r.signature,
  }));
  const batch = buildBatch({ ...domain, items });
  const relayer = createWalletClient({
    account: privateKeyToAccount(chain.keys.relayer),
    chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
  const anchored = await relayer.writeContract({
    address: chain.anchor,
    abi: readingAnchorAbi,
    functionName: "anchorBatch",
    args: [batch.root, batch.leafCount, batch.manifestHash],
  });
  await chain.publicClient.waitForTransactionReceipt({ hash: anchored });
  const batchId = await chain.publicClient.readContract({
    address: chain.anchor,
    abi: readingAnchorAbi,
    functionName: "batchIdOfRoot",
    args: [batch.root],
  });
  const args = [batchId, items[0].reading, items[0].signature, batch.proofs[0]] as const;
  assert.equal(
    await chain.publicClient.readContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "verifyReading", args }),
    true,
  );
  const verify = await chain.publicClient.estimateGas({
    account: wallet.account.address,
    to: chain.anchor,
    data: encodeFunctionData({ abi: readingAnchorAbi, functionName: "verifyReading", args }),
  });
  return { submitFirst, submitLater, verify };
}

describe("P-256 with and without the precompile: gas of submitReading and verifyReading", { timeout: 300_000 }, () => {
  const chains: AuditChain[] = [];
  const gas = new Map<string, { secp256k1: Gas; p256: Gas; precompile: boolean }>();

  before(async () => {
    for (const { name, node } of NODES) {
      const chain = await startAuditChain({ node });
      chains.push(chain);
      const answer = await chain.publicClient.call({ to: P256VERIFY, data: p256VerifyInput() });
      const precompile = BigInt(answer.data ?? "0x0") === 1n;
      gas.set(name, { secp256k1: await measure(chain, "secp256k1"), p256: await measure(chain, "p256"), precompile });
    }
    const rows = [...gas].flatMap(([name, g]) =>
      (["secp256k1", "p256"] as const).map(
        (scheme) =>
          `| ${name} | ${scheme} | ${g[scheme].submitFirst.toLocaleString("en")} | ${g[scheme].submitLater.toLocaleString("en")} | ${g[scheme].verify.toLocaleString("en")} |`,
      ),
    );
    console.log(
      [
        "| chain | scheme | submitReading, first | submitReading, later | verifyReading (estimateGas) |",
        "|---|---|---:|---:|---:|",
        ...rows,
      ].join("\n"),
    );
  });

  after(async () => {
    await Promise.all(chains.map((c) => c.close()));
  });

  it("the precompile answers on EDR and anvil's default (Osaka) hardfork, not on anvil's Prague", () => {
    assert.deepEqual(
      NODES.map(({ name }) => gas.get(name)!.precompile),
      [true, true, false],
    );
  });

  it("without the precompile a P-256 submitReading and verifyReading cost far more; secp256k1 is unaffected", () => {
    const [edr, osaka, prague] = NODES.map(({ name }) => gas.get(name)!);
    // Calldata gas differs by a few units with the random bytes of each run (zero bytes cost 4, others 16).
    const near = (a: bigint, b: bigint) => (a > b ? a - b : b - a) <= 300n;
    const surcharge = (g: { secp256k1: Gas; p256: Gas }, k: keyof Gas) => g.p256[k] - g.secp256k1[k];
    for (const k of ["submitFirst", "submitLater", "verify"] as const) {
      assert.ok(near(prague.secp256k1[k], osaka.secp256k1[k]), `${k}: secp256k1 ${prague.secp256k1[k]} vs ${osaka.secp256k1[k]}`);
      assert.ok(near(surcharge(edr, k), surcharge(osaka, k)), `${k}: the precompile costs the same on EDR and anvil`);
      assert.ok(surcharge(prague, k) > surcharge(osaka, k) + 100_000n, `${k}: prague ${prague.p256[k]} vs osaka ${osaka.p256[k]}`);
    }
  });
});
