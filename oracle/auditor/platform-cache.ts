/**
 * A platform client for the auditor: the verifier's `PlatformClient`, answering from a per-batch cache
 * filled by the platform's bulk lookup (a batch's (device, seq) pairs and their equivocations, one
 * request per 1,000 pairs whatever the number of devices), or, from a platform without that route,
 * one ranged request per device; it refuses answers whose shape is wrong (wrong bytes are "could not
 * check", never a verdict).
 *
 * @module
 */
import { isHex, type Address } from "viem";

import { checksumAddress } from "../core/address.js";
import { PlatformClient, VerifierError, type PlatformEquivocation, type PlatformReading } from "../verifier/index.js";

const key = (device: Address, seq: number) => `${device.toLowerCase()}:${seq}`;

/** A (device, seq) to look up. */
export interface ReadingPair {
  device: Address;
  seq: number;
}

/**
 * @example
 * const platform = new PrefetchingPlatform(url, apiKey);
 * await platform.prefetch(device, 10, 17); // one request
 * await platform.reading(device, 12);       // from the cache
 * platform.clear();
 */
export class PrefetchingPlatform extends PlatformClient {
  readonly #headers: Record<string, string>;
  readonly #readings = new Map<string, PlatformReading | null>();
  readonly #equivocations = new Map<string, Promise<PlatformEquivocation[]>>();
  readonly #timeoutMs: number;
  /** False once the platform answered 404 to the bulk lookup (an older platform): per-device requests then. */
  #lookupRoute = true;

  constructor(url: string, apiKey: string, options: { pageSize?: number; timeoutMs?: number } = {}) {
    super(url, apiKey, options.pageSize ?? 1000);
    this.#headers = { authorization: `Bearer ${apiKey}` };
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** Loads (device, fromSeq…toSeq) with as few requests as the page size allows; absent seqs are cached as absent. */
  async prefetch(device: Address, fromSeq: number, toSeq: number): Promise<void> {
    let after = fromSeq - 1;
    while (after < toSeq) {
      const limit = Math.min(toSeq - after, this.pageSize);
      const body = await this.#get(`/v1/devices/${device}/readings?afterSeq=${after}&limit=${limit}`);
      const list: unknown[] = body === undefined ? [] : Array.isArray(body.readings) ? body.readings : invalid("readings list");
      for (const r of list) {
        const reading = checkReading(r, device);
        if (reading.seq > after && reading.seq <= toSeq) this.#readings.set(key(device, reading.seq), reading);
      }
      const last = list.length === limit ? checkReading(list.at(-1), device).seq : toSeq;
      for (let seq = after + 1; seq <= Math.min(last, toSeq); seq++)
        if (!this.#readings.has(key(device, seq))) this.#readings.set(key(device, seq), null);
      if (last <= after) break;
      after = last;
    }
  }

  /**
   * Loads the listed pairs and their equivocations with the platform's bulk lookup (absent pairs are
   * cached as absent). Afterwards a looked-up device's `equivocations()` are those of its looked-up
   * seqs (the judge reads only its own seq's). Answers false, caching nothing, when the platform has
   * no lookup route.
   */
  async prefetchPairs(pairs: readonly ReadingPair[]): Promise<boolean> {
    if (!this.#lookupRoute) return false;
    const equivocations = new Map<string, PlatformEquivocation[]>();
    for (let start = 0; start < pairs.length; start += this.pageSize) {
      const chunk = pairs.slice(start, start + this.pageSize);
      const asked = new Map(chunk.map((p) => [key(p.device, p.seq), p.device]));
      const body = await this.#request("/v1/readings/lookup", {
        items: chunk.map((p) => ({ device: p.device, seq: p.seq })),
      });
      if (body === undefined) {
        this.#lookupRoute = false;
        return false;
      }
      if (!Array.isArray(body.readings) || !Array.isArray(body.equivocations)) invalid("lookup answer");
      for (const r of body.readings as unknown[]) {
        const device = asked.get(key((r as PlatformReading)?.device ?? "0x", (r as PlatformReading)?.seq));
        if (device === undefined) invalid("lookup answer (a reading not asked for)");
        const reading = checkReading(r, device);
        this.#readings.set(key(device, reading.seq), reading);
      }
      for (const e of body.equivocations as Partial<PlatformEquivocation>[]) {
        const device = asked.get(key((e?.conflicting as PlatformReading)?.device ?? "0x", e?.seq ?? 0));
        if (device === undefined || typeof e.id !== "number") return invalid("lookup answer (an equivocation not asked for)");
        const item: PlatformEquivocation = {
          id: e.id,
          seq: e.seq!,
          stored: checkReading(e.stored, device),
          conflicting: checkReading(e.conflicting, device),
        };
        const k = device.toLowerCase();
        equivocations.set(k, [...(equivocations.get(k) ?? []), item]);
      }
      for (const [k] of asked) if (!this.#readings.has(k)) this.#readings.set(k, null);
    }
    for (const p of pairs) {
      const k = p.device.toLowerCase();
      if (!this.#equivocations.has(k)) this.#equivocations.set(k, Promise.resolve(equivocations.get(k) ?? []));
    }
    return true;
  }

  override async reading(device: Address, seq: number): Promise<PlatformReading | undefined> {
    const cached = this.#readings.get(key(device, seq));
    if (cached !== undefined) return cached ?? undefined;
    const body = await this.#get(`/v1/devices/${device}/readings/${seq}`);
    return body === undefined ? undefined : checkReading(body, device);
  }

  override equivocations(device: Address): Promise<PlatformEquivocation[]> {
    const k = device.toLowerCase();
    let list = this.#equivocations.get(k);
    if (list === undefined) {
      list = super.equivocations(device);
      this.#equivocations.set(k, list);
      list.catch(() => this.#equivocations.delete(k));
    }
    return list;
  }

  /** Forgets everything cached (between work items: the platform may change). */
  clear(): void {
    this.#readings.clear();
    this.#equivocations.clear();
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from the platform, checked by checkReading
  #get(path: string): Promise<any> {
    return this.#request(path);
  }

  /** GET `path`, or POST `body` as JSON to it; undefined on 404. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from the platform, checked by the callers
  async #request(path: string, body?: unknown): Promise<any> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        signal: AbortSignal.timeout(this.#timeoutMs),
        ...(body === undefined
          ? { headers: this.#headers }
          : { method: "POST", headers: { ...this.#headers, "content-type": "application/json" }, body: JSON.stringify(body) }),
      });
    } catch (cause) {
      throw new VerifierError("SERVICE_UNREACHABLE", `platform unreachable at ${this.url}`, { cause });
    }
    const text = await res.text().catch(() => "");
    if (res.status === 404) return undefined;
    if (res.status === 401 || res.status === 403)
      throw new VerifierError("UNAUTHORIZED", `platform refused the auditor's key (${res.status})`);
    if (res.status !== 200) throw new VerifierError("SERVICE_ERROR", `platform answered ${res.status}`);
    try {
      return JSON.parse(text);
    } catch {
      return invalid("JSON body");
    }
  }
}

function invalid(what: string): never {
  throw new VerifierError("SERVICE_ERROR", `platform served a malformed ${what}`);
}

/** A platform reading with the expected shape, for the expected device; anything else is wrong bytes. */
function checkReading(value: unknown, device: Address): PlatformReading {
  const r = value as Partial<PlatformReading> | undefined;
  if (
    r === undefined ||
    r === null ||
    typeof r.payload !== "string" ||
    typeof r.seq !== "number" ||
    !Number.isSafeInteger(r.seq) ||
    typeof r.ts !== "number" ||
    typeof r.device !== "string" ||
    typeof r.signature !== "string" ||
    !isHex(r.signature) ||
    typeof r.dataHash !== "string" ||
    !isHex(r.dataHash)
  )
    return invalid("reading");
  // checksumAddress, not viem's getAddress: twice per reading here, and its LRU cost more than the check.
  const claimed = checksumAddress(r.device);
  if (claimed === undefined || claimed !== checksumAddress(device)) return invalid("reading (another device)");
  return r as PlatformReading;
}
