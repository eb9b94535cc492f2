import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { rewardDistributorAbi } from "../../oracle/chain/abis.js";
import { RULES_V2 } from "../../oracle/committee/rules.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { ORACLE_KEYS, type RewardChain } from "../helpers/reward-chain.js";
import { postJson, request, type TestDevice, type TestRelayer } from "../relayer/fixtures.js";
import {
  allPosted,
  deviceFor,
  newAccount,
  nextMinute,
  startOracleTestbed,
  startTestOracle,
  submitConfirmed,
  untilMining,
  WEI,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

describe("oracle committee faults: an offline oracle, a lying oracle", { timeout: 240_000 }, () => {
  let audit: AuditChain;
  let reward: RewardChain;
  let relayer: TestRelayer;
  let dir: string;
  let bed: OracleTestbed;
  const oracles: TestOracle[] = [];
  const peers: string[][] = [[], [], []];
  const ben = newAccount();
  let device: TestDevice;
  let t0: number;

  const submit = (seq: number, timestamp: number) => submitConfirmed(bed, device, seq, timestamp);

  before(async () => {
    bed = await startOracleTestbed(oracles);
    ({ audit, reward, relayer, dir } = bed);
    device = await deviceFor(audit, "secp256k1", ben.address);
    t0 = await nextMinute(audit);
  });

  after(async () => {
    await bed?.close();
  });

  it("with one oracle offline, the other two (M = 2 of N = 3) post the root", async () => {
    await submit(1, t0);
    for (let i = 0; i < 2; i++) {
      peers[i].push("http://127.0.0.1:1"); // the offline oracle
      oracles.push(
        await startTestOracle({ audit, reward, key: ORACLE_KEYS[i], dir, name: `o${i}`, sources: [relayer.url], peers: peers[i] }),
      );
    }
    peers[0].push(oracles[1].url);
    peers[1].push(oracles[0].url);
    const posted = await allPosted(audit, oracles, WEI, "two oracles post");
    assert.equal(posted[0].root, posted[1].root);
    assert.equal(posted[0].signaturesCollected, 2);
    assert.deepEqual(posted[0].signatures.map((s: any) => s.signer).sort(), [oracles[0].oracle.address, oracles[1].oracle.address].sort());
    assert.equal(
      await reward.publicClient.readContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "totalPosted" }),
      WEI,
    );
  });

  it("a lying oracle (other amounts, so another root and total) is outvoted and changes nothing", async () => {
    // The third oracle comes online with other rules under the same version: 2e18 per reading.
    peers[2].push(oracles[0].url, oracles[1].url);
    const liar = await startTestOracle({
      audit,
      reward,
      key: ORACLE_KEYS[2],
      dir,
      name: "liar",
      sources: [relayer.url],
      peers: peers[2],
      rules: { version: RULES_V2.version, rewardPerReading: 2n * WEI },
    });
    oracles.push(liar);
    peers[0][0] = liar.url;
    peers[1][0] = liar.url;
    await submit(2, t0 + 60);
    const honest = await allPosted(audit, oracles.slice(0, 2), 2n * WEI, "the honest oracles post the second root");
    const lie = await untilMining(
      audit,
      async () => {
        const e = (await request(`${liar.url}/v1/epochs/${honest[0].epoch}`)).body;
        return e?.status === "posted_other" ? e : undefined;
      },
      "the liar sees another root posted",
    );
    assert.equal(lie.cumulativeTotal, (4n * WEI).toString());
    assert.notEqual(lie.root, honest[0].root);
    assert.equal(lie.postedRoot, honest[0].root);
    assert.equal(lie.signaturesCollected, 1);
    assert.equal(honest[0].signaturesCollected, 2);
    assert.ok(!honest[0].signatures.some((s: any) => s.signer === liar.oracle.address));
    assert.equal(
      await reward.publicClient.readContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "totalPosted" }),
      2n * WEI,
    );
    assert.equal(
      await reward.publicClient.readContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "currentRoot" }),
      honest[0].root,
    );
    const direct = await postJson(`${oracles[0].url}/v1/epochs/${lie.epoch}/signatures`, {
      message: lie.message,
      signature: lie.signatures[0].signature,
    });
    assert.equal(direct.status, 409);
    assert.equal(direct.body.error.code, "CONFLICTING_MESSAGE");
    assert.equal(direct.body.error.details.theirs.cumulativeTotal, (4n * WEI).toString());
    assert.match(
      (await request(`${oracles[0].url}/metrics`)).text,
      /sensorseal_oracle_signatures_received_total\{result="conflicting"\} [1-9]/,
    );
    // The honest oracles serve the proof of the honest amount.
    const claim = await request(`${oracles[1].url}/v1/claims/${ben.address}`);
    assert.equal(claim.body.cumulative, (2n * WEI).toString());
  });

  it("rejects a signature from outside the oracle set", async () => {
    const e = (await request(`${oracles[0].url}/v1/epochs/latest`)).body;
    const { signOracleMessage, OracleMessageDigester, oracleMessageFromJson } = await import("../../oracle/core/oracle-message.js");
    const outsider = newAccount();
    const signed = signOracleMessage(
      outsider.key,
      new OracleMessageDigester(reward.chainId, reward.distributor),
      oracleMessageFromJson(e.message),
    );
    const answer = await postJson(`${oracles[0].url}/v1/epochs/${e.epoch}/signatures`, { message: e.message, signature: signed.signature });
    assert.equal(answer.status, 403);
    assert.equal(answer.body.error.code, "UNKNOWN_SIGNER");
    assert.equal(answer.body.error.details.signer, outsider.address);
  });
});
