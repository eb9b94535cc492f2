/**
 * The consumer's side after buying: sign in to the platform with the paying wallet (EIP-4361),
 * download what the purchase covers, write it as CSV (the purchased fields) and as proof bundles that
 * `npm run verify -- bundle check` accepts (one per reading: a payload is hashed whole).
 *
 * @module
 */
import type { Address, Hex } from "viem";
import { createSiweMessage } from "viem/siwe";

import { parseCanonical } from "../core/canonical.js";
import type { PurchaseGrant } from "../platform/purchase-access.js";
import type { ReadingResponse } from "../platform/read-routes.js";
import { MarketCallError } from "./client.js";

/** What signs the message: a viem account (local key) or an EIP-1193 wallet wrapped alike. */
export interface SiweSigner {
  address: Address;
  signMessage(args: { message: string }): Promise<Hex>;
}

/** A signed-in session. */
export interface MarketSession {
  token: string;
  address: Address;
  expiresAt: number;
  grants: PurchaseGrant[];
}

/**
 * Signs in to the platform with the wallet that paid: asks a nonce, signs an EIP-4361 message for the
 * platform's domain and the reward chain, and answers the access token with the purchases it covers.
 *
 * @example const session = await signInToPlatform("http://127.0.0.1:8080", privateKeyToAccount(key));
 */
export async function signInToPlatform(platformUrl: string, signer: SiweSigner): Promise<MarketSession> {
  const base = platformUrl.replace(/\/$/, "");
  const n = await json<{ nonce: string; domain: string; chainId: number }>(await fetch(`${base}/v1/market/siwe/nonce`));
  const message = createSiweMessage({
    address: signer.address,
    chainId: n.chainId,
    domain: n.domain,
    nonce: n.nonce,
    uri: base,
    version: "1",
    statement: "Sign in to the SensorSeal data platform to read the data this wallet bought.",
    issuedAt: new Date(),
    expirationTime: new Date(Date.now() + 10 * 60_000),
  });
  const signature = await signer.signMessage({ message });
  return json<MarketSession>(
    await fetch(`${base}/v1/market/siwe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, signature }),
    }),
  );
}

/**
 * Every reading a grant covers, device by device, by ascending seq.
 *
 * @example const readings = await downloadGrant(platformUrl, session.token, session.grants[0]);
 */
export async function downloadGrant(platformUrl: string, token: string, grant: PurchaseGrant): Promise<ReadingResponse[]> {
  const base = platformUrl.replace(/\/$/, "");
  const out: ReadingResponse[] = [];
  for (const device of grant.devices) {
    let afterSeq = 0;
    for (;;) {
      const q = new URLSearchParams({ from: String(grant.from), to: String(grant.to - 1), afterSeq: String(afterSeq), limit: "1000" });
      const page = await json<{ readings: ReadingResponse[]; nextAfterSeq: number | null }>(
        await fetch(`${base}/v1/devices/${device}/readings?${q}`, { headers: { authorization: `Bearer ${token}` } }),
      );
      out.push(...page.readings);
      if (page.nextAfterSeq === null || page.readings.length === 0) break;
      afterSeq = page.nextAfterSeq;
    }
  }
  return out;
}

/**
 * The readings as CSV: `device,seq,ts,<fields…>,dataHash,signature` (a field missing from a payload is
 * left empty; values as in the payload).
 *
 * @example readingsCsv(readings, ["pm10_ugm3", "pm2_5_ugm3"]);
 */
export function readingsCsv(readings: readonly ReadingResponse[], fields: readonly string[]): string {
  const lines = [["device", "seq", "ts", ...fields, "dataHash", "signature"].join(",")];
  for (const r of readings) {
    const payload = parseCanonical(new TextEncoder().encode(r.payload)) as Record<string, unknown>;
    const values = fields.map((f) => csvCell(payload[f]));
    lines.push([r.device, String(r.seq), String(r.ts), ...values, r.dataHash, r.signature].join(","));
  }
  return `${lines.join("\n")}\n`;
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function json<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw new MarketCallError(body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? `HTTP ${res.status}`);
  return body;
}
