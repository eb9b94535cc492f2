/**
 * Fetches a batch's manifest from the one place TRUST-MODEL §1 allows: the `manifestUrl` its relayer
 * had registered on the anchor at the anchoring block, streamed and cut off at
 * `maxManifestBytes(leafCount)` so that no relayer can make the verifier read without bound.
 *
 * @module
 */

/** The largest manifest accepted for a batch of `leafCount` leaves: `1024 + 512 · leafCount` bytes. */
export function maxManifestBytes(leafCount: number): number {
  return 1024 + 512 * leafCount;
}

/** Why a manifest could not be had (the batch is then UNAVAILABLE). */
export type ManifestFetchFailure = "UNREACHABLE" | "NOT_SERVED" | "TOO_LARGE";

/** The outcome of {@link fetchManifest}. */
export type ManifestFetchResult = { ok: true; bytes: Uint8Array } | { ok: false; reason: ManifestFetchFailure; message: string };

/**
 * `GET <manifestUrl>/v1/batches/<root>/manifest`, reading at most `maxManifestBytes(leafCount)` bytes.
 * Asked by root, as the committee asks: a relayer knows a batch by its root from the moment it cut it,
 * by its on-chain id only once it has seen it mined (a reader two blocks behind the head can be first).
 *
 * @example
 * const got = await fetchManifest({ manifestUrl: "http://127.0.0.1:8547", root: batch.root, leafCount: 8 });
 * if (got.ok) authenticateManifest(got.bytes, batch, domain);
 */
export async function fetchManifest(p: {
  manifestUrl: string;
  root: string;
  leafCount: number;
  timeoutMs?: number;
}): Promise<ManifestFetchResult> {
  const url = `${p.manifestUrl.replace(/\/+$/, "")}/v1/batches/${p.root}/manifest`;
  const cap = maxManifestBytes(p.leafCount);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), p.timeoutMs ?? 30_000);
  try {
    const res = await fetch(url, { signal: abort.signal });
    if (res.status !== 200 || res.body === null) {
      await res.body?.cancel();
      return { ok: false, reason: "NOT_SERVED", message: `${url} answered ${res.status}` };
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      size += next.value.length;
      if (size > cap) {
        // Stop reading and drop the connection: a relayer cannot make the verifier read without bound.
        abort.abort();
        await reader.cancel().catch(() => undefined);
        return { ok: false, reason: "TOO_LARGE", message: `${url} sent more than ${cap} bytes for ${p.leafCount} leaves` };
      }
      chunks.push(next.value);
    }
    return { ok: true, bytes: new Uint8Array(Buffer.concat(chunks)) };
  } catch (cause) {
    return { ok: false, reason: "UNREACHABLE", message: `${url} unreachable: ${(cause as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
