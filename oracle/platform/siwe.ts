/**
 * Sign-In with Ethereum (EIP-4361) for data buyers: the platform hands out single-use nonces and
 * checks a signed message (domain, URI scheme, chain, nonce, time window, signature) with `viem/siwe`.
 * What the signer may then read is decided by its confirmed purchases (purchase-access.ts).
 *
 * @module
 */
import { randomBytes } from "node:crypto";

import { getAddress, verifyMessage, type Address, type Hex } from "viem";
import { parseSiweMessage, validateSiweMessage } from "viem/siwe";

import { SensorSealError } from "../core/errors.js";

/** How long a nonce may wait for its signed message. */
const NONCE_TTL_MS = 10 * 60_000;
/** Most unused nonces kept (older ones are dropped first). */
const MAX_NONCES = 10_000;

/** A sign-in was refused: malformed, for another domain or chain, unknown nonce, outside its time, bad signature. */
export class InvalidSiweError extends SensorSealError {
  override name = "InvalidSiweError" as const;
  declare readonly code: "INVALID_SIWE";
  constructor(reason: string) {
    super("INVALID_SIWE", `Sign-in refused: ${reason}.`, { details: { reason } });
  }
}

/** What a sign-in message must say to be accepted here. */
export interface SiweExpectations {
  /** The RFC 3986 authority the user signs in to (e.g. `data.example.org` or `127.0.0.1:8080`). */
  domain: string;
  /** The reward chain's id (purchases live there). */
  chainId: number;
  /**
   * Checks the signature (EOA by default; pass `publicClient.verifySiweMessage`-style verification for
   * smart-contract wallets).
   */
  verify?: (args: { address: Address; message: string; signature: Hex }) => Promise<boolean>;
  now?: () => number;
}

/** Single-use nonces and message checks. */
export class SiweVerifier {
  readonly #nonces = new Map<string, number>();
  readonly #now: () => number;

  constructor(private readonly expect: SiweExpectations) {
    this.#now = expect.now ?? Date.now;
  }

  /** A fresh nonce (alphanumeric, 17+ characters as EIP-4361 requires), valid for 10 minutes, once. */
  nonce(): string {
    const now = this.#now();
    // Map order is insertion order: the oldest nonces come first.
    for (const [n, at] of this.#nonces) {
      if (now - at <= NONCE_TTL_MS && this.#nonces.size < MAX_NONCES) break;
      this.#nonces.delete(n);
    }
    const nonce = randomBytes(16).toString("hex");
    this.#nonces.set(nonce, now);
    return nonce;
  }

  /**
   * Checks a signed EIP-4361 message; answers the signer. The nonce is spent whatever the outcome.
   *
   * @example const address = await verifier.verify(message, signature);
   */
  async verify(message: string, signature: Hex): Promise<Address> {
    if (typeof message !== "string" || message.length > 4096)
      throw new InvalidSiweError("message must be a string of at most 4096 characters");
    if (typeof signature !== "string" || !/^0x[0-9a-fA-F]+$/.test(signature)) throw new InvalidSiweError("signature must be hex");
    const parsed = parseSiweMessage(message);
    if (parsed.address === undefined || parsed.nonce === undefined) throw new InvalidSiweError("not an EIP-4361 message");
    const issued = this.#nonces.get(parsed.nonce);
    this.#nonces.delete(parsed.nonce);
    if (issued === undefined || this.#now() - issued > NONCE_TTL_MS) throw new InvalidSiweError("unknown or expired nonce");
    if (parsed.chainId !== this.expect.chainId)
      throw new InvalidSiweError(`chain ${parsed.chainId} is not the reward chain ${this.expect.chainId}`);
    const valid = validateSiweMessage({
      message: parsed,
      domain: this.expect.domain,
      nonce: parsed.nonce,
      time: new Date(this.#now()),
    });
    if (!valid) throw new InvalidSiweError(`wrong domain (expected ${this.expect.domain}) or outside its validity time`);
    const address = getAddress(parsed.address);
    const verify = this.expect.verify ?? ((a) => verifyMessage(a));
    const ok = await verify({ address, message, signature }).catch(() => false);
    if (!ok) throw new InvalidSiweError("the signature is not the address's");
    return address;
  }
}
