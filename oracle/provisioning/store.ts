/**
 * The provisioning service's store: the eSIM ids this operator issued, and for each one used the
 * attestation it got (so a repeated request for the same key is answered again, and any other key is
 * refused). SQLite by default, PostgreSQL through the same SQL (oracle/store/sql.ts).
 *
 * @module
 */
import type { Address, Hex } from "viem";

import type { DeviceAttestationJson } from "../core/attestation.js";
import type { SqlDatabase } from "../store/sql.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provisioning_esims (
  esim_id TEXT PRIMARY KEY,
  added_at INTEGER NOT NULL,
  public_key TEXT,
  beneficiary TEXT,
  attestation TEXT,
  issuer_signature TEXT,
  issued_at INTEGER
);`;

/** An attestation as the store keeps it. */
export type IssuedAttestation = { attestation: DeviceAttestationJson; issuerSignature: Hex };

/** What the store says of an eSIM id. */
export type EsimRecord =
  { state: "unknown" } | { state: "free" } | { state: "used"; publicKey: Hex; beneficiary: Address; issued: IssuedAttestation };

type Row = { public_key: string | null; beneficiary: string | null; attestation: string | null; issuer_signature: string | null };

export class EsimStore {
  readonly #db: SqlDatabase;

  private constructor(db: SqlDatabase) {
    this.#db = db;
  }

  /** Opens the store's table on `db` (created when missing). */
  static async open(db: SqlDatabase): Promise<EsimStore> {
    await db.migrate(SCHEMA);
    return new EsimStore(db);
  }

  /** Records eSIM ids as issued by this operator (ids already there are kept as they are). Answers how many were new. */
  async add(ids: readonly string[], nowSeconds: number): Promise<number> {
    return this.#db.transaction(async (tx) => {
      let added = 0;
      for (const id of ids) {
        const { changes } = await tx.run(
          "INSERT INTO provisioning_esims (esim_id, added_at) VALUES (?, ?) ON CONFLICT (esim_id) DO NOTHING",
          [id, nowSeconds],
        );
        added += changes;
      }
      return added;
    });
  }

  async get(id: string): Promise<EsimRecord> {
    const rows = await this.#db.query<Row>(
      "SELECT public_key, beneficiary, attestation, issuer_signature FROM provisioning_esims WHERE esim_id = ?",
      [id],
    );
    const row = rows[0];
    if (row === undefined) return { state: "unknown" };
    if (row.attestation === null) return { state: "free" };
    return {
      state: "used",
      publicKey: row.public_key as Hex,
      beneficiary: row.beneficiary as Address,
      issued: { attestation: JSON.parse(row.attestation) as DeviceAttestationJson, issuerSignature: row.issuer_signature as Hex },
    };
  }

  /**
   * Marks a free eSIM id used by this attestation. Answers false when it was not free any more (a
   * concurrent request took it): the caller reads it again.
   */
  async use(id: string, issued: IssuedAttestation, nowSeconds: number): Promise<boolean> {
    const { changes } = await this.#db.run(
      "UPDATE provisioning_esims SET public_key = ?, beneficiary = ?, attestation = ?, issuer_signature = ?, issued_at = ? WHERE esim_id = ? AND attestation IS NULL",
      [
        issued.attestation.publicKey,
        issued.attestation.beneficiary,
        JSON.stringify(issued.attestation),
        issued.issuerSignature,
        nowSeconds,
        id,
      ],
    );
    return changes === 1;
  }

  /** Counts ids by state. */
  async counts(): Promise<{ issued: number; used: number }> {
    const rows = await this.#db.query<{ issued: number | string; used: number | string | null }>(
      "SELECT COUNT(*) AS issued, SUM(CASE WHEN attestation IS NULL THEN 0 ELSE 1 END) AS used FROM provisioning_esims",
    );
    return { issued: Number(rows[0]?.issued ?? 0), used: Number(rows[0]?.used ?? 0) };
  }
}
