/**
 * Adding CENSORED to a verdict (TRUST-MODEL §6): for each of the device's receipts for the reading, the
 * chain's evidence (relayer registrations, the latest block, every anchoring the verifier saw) is
 * checked by ./censorship.ts. The context is rebuilt only when the chain moved.
 *
 * @module
 */
import type { Address } from "viem";

import type { RegistryIndex } from "../chain/registry-index.js";
import { censorshipProblem, readRelayerRegistrations, type CensorshipContext, type ReceiptEvidence } from "./censorship.js";
import type { DeviceSignatures } from "./device-signatures.js";
import { readingKey, type Sightings } from "./sightings.js";
import type { ChainReader, PlatformReading } from "./sources.js";
import { finish, type ReadingResult } from "./types.js";

/** The device receipts the verifier was given, and the CENSORED check against the chain. */
export class Censor {
  readonly #receipts = new Map<string, ReceiptEvidence[]>();
  #context: CensorshipContext | undefined;

  constructor(
    private readonly chain: ChainReader,
    private readonly registry: RegistryIndex,
    private readonly sightings: Sightings,
    private readonly signatures: DeviceSignatures,
    /** Loads every batch and direct submission (the context needs all anchorings). */
    private readonly loadAll: () => Promise<unknown>,
    receipts: readonly ReceiptEvidence[],
  ) {
    for (const e of receipts) {
      const k = readingKey(e.receipt.device, BigInt(e.receipt.seq));
      this.#receipts.set(k, [...(this.#receipts.get(k) ?? []), e]);
    }
  }

  /** The receipts for (device, seq). */
  receiptsOf(device: Address, seq: number): readonly ReceiptEvidence[] {
    return this.#receipts.get(readingKey(device, seq)) ?? [];
  }

  /** The seqs of `device` with a receipt whose reading time (when known) is `inRange`. */
  seqsOf(device: Address, inRange: (timestamp: number) => boolean): number[] {
    const prefix = `${device.toLowerCase()}:`;
    const seqs: number[] = [];
    for (const [k, list] of this.#receipts)
      if (k.startsWith(prefix) && list.some((e) => e.reading === undefined || inRange(Number(e.reading.timestamp))))
        seqs.push(Number(k.slice(prefix.length)));
    return seqs;
  }

  /** Adds CENSORED when one of the device's receipts for the reading proves it. */
  async censor(result: ReadingResult, raw: PlatformReading | undefined): Promise<ReadingResult> {
    const receipts = this.#receipts.get(readingKey(result.device, result.seq));
    if (receipts === undefined) return result;
    const context = await this.#contextNow();
    for (const e of receipts) {
      const evidence: ReceiptEvidence =
        e.reading === undefined && raw !== undefined && raw.dataHash.toLowerCase() === e.receipt.dataHash.toLowerCase()
          ? { ...e, reading: { timestamp: raw.ts, signature: raw.signature } }
          : e;
      const { problem } = await censorshipProblem(evidence, context);
      if (problem !== undefined) return finish({ ...result, problems: [...result.problems, problem] });
    }
    return result;
  }

  async #contextNow(): Promise<CensorshipContext> {
    const latest = (await this.chain.client.getBlock({ blockTag: "latest" })).timestamp;
    if (this.#context?.latest === latest) return this.#context;
    await this.loadAll();
    this.#context = {
      chainId: this.chain.chainId,
      anchor: this.chain.anchor,
      registrations: await readRelayerRegistrations(this.chain.client, this.chain.anchor, this.chain.fromBlock),
      latest,
      statusAt: (device, t) => this.registry.statusAt(device, t),
      signedByDevice: (reading, signature) => this.signatures.signed(reading, signature),
      anchoredTimes: (device, seq, dataHash) => this.sightings.anchoredTimes(device, seq, dataHash),
      unavailableBefore: (t, deadline) => this.sightings.unavailableBefore(t, deadline),
    };
    return this.#context;
  }
}
