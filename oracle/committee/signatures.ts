/**
 * The signature exchange: push our signature of each unposted signed epoch to every peer (once per
 * peer that took it), and accept a peer's signature after checking its message, signer and set.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { oracleMessageFromJson, recoverOracleSigner } from "../core/oracle-message.js";
import { ServiceError } from "../service/errors.js";
import type { CommitteeContext } from "./context.js";
import { postedEpochOf } from "./store.js";

/** What accepting a peer's signature answers (HTTP 202). */
export interface AcceptedSignature {
  status: "accepted" | "pending";
  signer: Address;
  signaturesCollected: number;
}

/** The signature exchange of one committee member. */
export interface SignatureExchange {
  /** Sends our signature of every signed epoch after `lastEpoch` to the peers that did not take it yet. */
  push(lastEpoch: bigint): Promise<void>;
  /**
   * Checks and stores a peer's signature for `epoch`.
   *
   * @throws {ServiceError} INVALID_BODY, EPOCH_MISMATCH, WRONG_SOURCE_CHAIN, UNKNOWN_SIGNER (403), CONFLICTING_MESSAGE (409), and the message's own checks
   */
  accept(epoch: number, body: unknown): Promise<AcceptedSignature>;
}

/** Builds the signature exchange over the context. */
export function createSignatureExchange(ctx: CommitteeContext): SignatureExchange {
  const { store, metrics, logger, address } = ctx;
  /** Peers that answered our signature for an epoch: `${epoch} ${peer}`. */
  const delivered = new Set<string>();

  async function pushTo(peer: string, epoch: number, message: string, signature: Hex): Promise<void> {
    const key = `${epoch} ${peer}`;
    if (delivered.has(key)) return;
    try {
      const res = await ctx.fetch(`${peer}/v1/epochs/${epoch}/signatures`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: JSON.parse(message), signature }),
      });
      if (res.status === 202 || res.status === 409) delivered.add(key);
      if (res.status === 409) logger.warn({ epoch, peer, answer: await res.text() }, "a peer computed another message for this epoch");
    } catch (error) {
      logger.debug({ peer, err: error }, "peer unreachable");
    }
  }

  async function push(lastEpoch: bigint): Promise<void> {
    for (const row of await store.epochsWithStatus("signed")) {
      if (postedEpochOf(row) <= lastEpoch || row.digest === null || row.message === null) continue;
      const own = (await store.signatures(Number(postedEpochOf(row)), row.digest)).find((s) => s.signer === address);
      if (own === undefined) continue;
      for (const peer of ctx.options.peers.map((u) => u.replace(/\/+$/, "")))
        await pushTo(peer, Number(postedEpochOf(row)), row.message, own.signature);
    }
  }

  async function accept(epoch: number, input: unknown): Promise<AcceptedSignature> {
    const body = input as { message?: unknown; signature?: unknown } | undefined;
    if (typeof body !== "object" || body === null || typeof body.signature !== "string")
      throw new ServiceError("INVALID_BODY", "body must be { message, signature }");
    const message = oracleMessageFromJson(body.message);
    if (message.epoch !== BigInt(epoch))
      throw new ServiceError("EPOCH_MISMATCH", `the message is for epoch ${message.epoch}, not ${epoch}`);
    ctx.messageDigester.checkDestination(message);
    const sourceChainId = ctx.options.audit.chainId;
    if (message.sourceChainId !== BigInt(sourceChainId))
      throw new ServiceError("WRONG_SOURCE_CHAIN", `the message's source chain is ${message.sourceChainId}, not ${sourceChainId}`);
    const digest = ctx.messageDigester.digestHex(message).toLowerCase() as Hex;
    const signer = recoverOracleSigner(digest, body.signature as Hex);
    const known = ctx.state.oracleSet;
    const set = known !== undefined && known.version === message.oracleSetVersion ? known : await ctx.loadOracleSet();
    if (set.version !== message.oracleSetVersion || !set.oracles.includes(signer)) {
      metrics.signaturesReceived.inc({ result: "unknown_signer" });
      throw new ServiceError("UNKNOWN_SIGNER", `${signer} is not in the current oracle set (version ${set.version})`, {
        signer,
        oracleSetVersion: set.version,
      });
    }
    const ours = await store.epochByPosted(epoch);
    if (ours !== undefined && ours.digest !== digest) {
      metrics.signaturesReceived.inc({ result: "conflicting" });
      logger.warn(
        {
          epoch,
          signer,
          theirs: { root: message.root, total: message.cumulativeTotal.toString() },
          ours: { root: ours.root, total: ours.cumulativeTotal.toString() },
        },
        "a peer signed another message",
      );
      throw new ServiceError("CONFLICTING_MESSAGE", `epoch ${epoch}: this oracle computed another message`, {
        signer,
        ours: { root: ours.root, cumulativeTotal: ours.cumulativeTotal.toString(), digest: ours.digest },
        theirs: { root: message.root, cumulativeTotal: message.cumulativeTotal.toString(), digest },
      });
    }
    await store.addSignature(epoch, digest, signer, body.signature as Hex);
    const status = ours === undefined ? "pending" : "accepted";
    metrics.signaturesReceived.inc({ result: status });
    return { status, signer, signaturesCollected: (await store.signatures(epoch, digest)).length };
  }

  return { push, accept };
}
