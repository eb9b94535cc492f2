/**
 * Group commit, shared by the relayer's intake and the platform's reading intake: the items of
 * callers that arrive at about the same time share one store transaction (one fsync on SQLite, one
 * round trip on PostgreSQL). Groups run one after the other, in arrival order, so the checks a commit
 * makes (sequence, duplicate, conflict) see each other exactly as if the items were written one by one.
 *
 * @module
 */

interface PendingItems<I, O> {
  items: readonly I[];
  resolve(outcomes: O[]): void;
  reject(error: unknown): void;
}

/** Sizes of a {@link GroupCommit}. */
export interface GroupCommitOptions {
  /** Most items in one transaction (a caller's items are never split; a larger caller commits alone). */
  maxGroup?: number;
}

/**
 * Commits items in groups; each caller's promise resolves, with its items' outcomes in order, only
 * after the transaction holding them committed (and rejects with that transaction's error).
 *
 * @example
 * const writer = new GroupCommit((readings: StoredReading[]) => store.putReadings(readings));
 * const [outcome] = await writer.submit([reading]); // shares a transaction with concurrent callers
 * await writer.idle(); // before closing the store
 */
export class GroupCommit<I, O> {
  readonly #commit: (items: I[]) => Promise<O[]>;
  readonly #maxGroup: number;
  #pending: PendingItems<I, O>[] = [];
  #running: Promise<void> | undefined;
  /** Transactions committed so far (operators, tests: how well callers were grouped). */
  commits = 0;

  /** `commit` writes its items in one transaction and answers one outcome per item, in order. */
  constructor(commit: (items: I[]) => Promise<O[]>, options: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#maxGroup = Math.max(1, options.maxGroup ?? 5000);
  }

  /** Queues `items` for the next group; resolves with their outcomes once committed. */
  submit(items: readonly I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      this.#running ??= this.#drain().finally(() => {
        this.#running = undefined;
      });
    });
  }

  /** Items waiting for a transaction (not the ones being committed). */
  get waiting(): number {
    return this.#pending.reduce((sum, p) => sum + p.items.length, 0);
  }

  /** Resolves when nothing is being written. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      // Let requests already on the wire reach the queue, so they share this commit.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const group = this.#takeGroup();
      try {
        const outcomes = await this.#commit(group.flatMap((g) => g.items));
        this.commits++;
        let offset = 0;
        for (const g of group) {
          g.resolve(outcomes.slice(offset, offset + g.items.length));
          offset += g.items.length;
        }
      } catch (error) {
        for (const g of group) g.reject(error);
      }
    }
  }

  #takeGroup(): PendingItems<I, O>[] {
    const group: PendingItems<I, O>[] = [];
    let size = 0;
    while (this.#pending.length > 0 && (group.length === 0 || size + this.#pending[0]!.items.length <= this.#maxGroup)) {
      const next = this.#pending.shift()!;
      group.push(next);
      size += next.items.length;
    }
    return group;
  }
}
