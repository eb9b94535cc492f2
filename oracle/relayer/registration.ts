/**
 * The relayer's on-chain registration (docs/TRUST-MODEL.md §1, §6): the anchor records each relayer's
 * manifest URL and receipt signer (`registerRelayer`). Oracles fetch manifests only from that URL and
 * verifiers hold receipts binding only when signed by that signer, so a relayer whose key or URL
 * differs from its record would serve nothing and issue receipts it could disown: it refuses to start.
 *
 * @module
 */
import type { Address, PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { ConfigError } from "../service/errors.js";

/** What the anchor records for a relayer (`relayerInfo`). */
export interface RelayerRecord {
  manifestUrl: string;
  receiptSigner: Address;
}

/** Reads `relayerInfo(relayer)` (empty URL and zero signer for an unregistered relayer). */
export async function readRelayerRecord(publicClient: PublicClient, anchor: Address, relayer: Address): Promise<RelayerRecord> {
  const info = await publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "relayerInfo", args: [relayer] });
  return { manifestUrl: info.manifestUrl, receiptSigner: info.receiptSigner };
}

/** A base URL without its trailing slashes (what `<manifestUrl>/v1/batches/…` is built on). */
function baseUrl(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * Checks that the anchor's record of `relayer` names this relayer's public URL and receipt key.
 *
 * @throws {ConfigError} naming each difference (unregistered, other URL, other receipt signer).
 * @example
 * await checkRelayerRegistration({ publicClient, anchor, relayer: account.address, receiptSigner, publicUrl: "http://127.0.0.1:8547" });
 */
export async function checkRelayerRegistration(o: {
  publicClient: PublicClient;
  anchor: Address;
  relayer: Address;
  receiptSigner: Address;
  publicUrl: string;
}): Promise<RelayerRecord> {
  const record = await readRelayerRecord(o.publicClient, o.anchor, o.relayer);
  const issues: string[] = [];
  if (record.manifestUrl === "") {
    issues.push(
      `relayer ${o.relayer} is not registered on anchor ${o.anchor}: the admin must call registerRelayer(${o.relayer}, "${o.publicUrl}", ${o.receiptSigner})`,
    );
  } else {
    if (baseUrl(record.manifestUrl) !== baseUrl(o.publicUrl))
      issues.push(`RELAYER_PUBLIC_URL ${o.publicUrl} differs from the registered manifest URL ${record.manifestUrl}`);
    if (record.receiptSigner.toLowerCase() !== o.receiptSigner.toLowerCase())
      issues.push(`the receipt key's address ${o.receiptSigner} differs from the registered receipt signer ${record.receiptSigner}`);
  }
  if (issues.length > 0) throw new ConfigError("relayer: its on-chain registration does not match its configuration", issues);
  return record;
}
