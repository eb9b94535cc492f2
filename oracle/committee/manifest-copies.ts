/**
 * The member's copies of the manifests it fetched, served to its peers (`GET /v1/manifests/:manifestHash`)
 * and read back before asking anyone (docs/TRUST-MODEL.md §1, "Copies from peers"). A copy is keyed by
 * the anchored `manifestHash` and only stored after its bytes hashed to it, so whoever serves a copy —
 * this member or a peer — serves exactly the bytes the relayer anchored: a peer is not trusted, the
 * hash on-chain is.
 *
 * Copies are kept as long as the store: an oracle that replays the chain later (a new member, a
 * rebuilt store) must reach the verdict the others reached, even after the relayer stopped serving.
 *
 * @module
 */
import type { Hex } from "viem";

import type { SqlDatabase } from "../store/sql.js";

const DDL = `
CREATE TABLE IF NOT EXISTS oracle_manifest_copies (
  manifest_hash TEXT PRIMARY KEY, block_number INTEGER NOT NULL, bytes BLOB NOT NULL);
`;

/** Stored manifest copies, by anchored manifest hash (lowercase). */
export class ManifestCopies {
  private constructor(private readonly db: SqlDatabase) {}

  /**
   * Creates the table if needed.
   *
   * @example
   * const copies = await ManifestCopies.open(db);
   */
  static async open(db: SqlDatabase): Promise<ManifestCopies> {
    await db.migrate(DDL);
    return new ManifestCopies(db);
  }

  /** The copy whose bytes hashed to `manifestHash`, or undefined. */
  async get(manifestHash: Hex): Promise<Uint8Array | undefined> {
    const rows = await this.db.query<{ bytes: Uint8Array }>("SELECT bytes FROM oracle_manifest_copies WHERE manifest_hash = ?", [
      manifestHash.toLowerCase(),
    ]);
    return rows[0] === undefined ? undefined : new Uint8Array(rows[0].bytes);
  }

  /** Keeps `bytes` (already checked to hash to `manifestHash`) of the batch anchored in `blockNumber`. */
  async put(manifestHash: Hex, blockNumber: bigint, bytes: Uint8Array): Promise<void> {
    await this.db.run(
      "INSERT INTO oracle_manifest_copies (manifest_hash, block_number, bytes) VALUES (?, ?, ?) ON CONFLICT (manifest_hash) DO NOTHING",
      [manifestHash.toLowerCase(), Number(blockNumber), bytes],
    );
  }
}
