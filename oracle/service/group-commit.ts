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
 * One group holds the store at a time, from its start until `commit` calls `committed` (its
 * transaction committed; on SQLite its log flush may still be running) or settles. The next group
 * starts then, with everything that arrived meanwhile, so the store's flushes overlap the next
 * transaction instead of stalling it (oracle/store/sql.ts: one flush covers every commit before it).
 *
 * @example
 * const writer = new GroupCommit((readings: StoredReading[], committed) => store.putReadings(readings, committed));
 * const [outcome] = await writer.submit([reading]); // shares a transaction with concurrent callers
 * await writer.idle(); // before closing the store
 */
export class GroupCommit<I, O> {
  readonly #commit: (items: I[], committed: () => void) => Promise<O[]>;
  readonly #maxGroup: number;
  #pending: PendingItems<I, O>[] = [];
  /** A group holds the store (started, its transaction not yet committed). */
  #holding = false;
  #scheduled = false;
  /** Groups started and not yet answered. */
  #unanswered = 0;
  #idleWaiters: (() => void)[] = [];
  /** Transactions committed so far (operators, tests: how well callers were grouped). */
  commits = 0;

  /**
   * `commit` writes its items in one transaction and answers one outcome per item, in order; it may
   * call `committed` once the transaction committed, before it is durable, to let the next group start.
   */
  constructor(commit: (items: I[], committed: () => void) => Promise<O[]>, options: GroupCommitOptions = {}) {
    this.#commit = commit;
    this.#maxGroup = Math.max(1, options.maxGroup ?? 5000);
  }

  /** Queues `items` for the next group; resolves with their outcomes once committed. */
  submit(items: readonly I[]): Promise<O[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      this.#schedule();
    });
  }

  /** Items waiting for a transaction (not the ones being committed). */
  get waiting(): number {
    return this.#pending.reduce((sum, p) => sum + p.items.length, 0);
  }

  /** Resolves when nothing is being written or waiting to be. */
  async idle(): Promise<void> {
    while (this.#unanswered > 0 || this.#pending.length > 0 || this.#scheduled)
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#scheduled || this.#holding || this.#pending.length === 0) return;
    this.#scheduled = true;
    // Let requests already on the wire reach the queue, so they share this commit.
    setImmediate(() => {
      this.#scheduled = false;
      this.#start();
    });
  }

  #start(): void {
    if (this.#holding || this.#pending.length === 0) return;
    const group = this.#takeGroup();
    this.#holding = true;
    this.#unanswered++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#holding = false;
      this.#schedule();
    };
    let commit: Promise<O[]>;
    try {
      commit = this.#commit(
        group.flatMap((g) => g.items),
        release,
      );
    } catch (error) {
      commit = Promise.reject(error);
    }
    commit
      .then(
        (outcomes) => {
          this.commits++;
          let offset = 0;
          for (const g of group) {
            g.resolve(outcomes.slice(offset, offset + g.items.length));
            offset += g.items.length;
          }
        },
        (error: unknown) => {
          for (const g of group) g.reject(error);
        },
      )
      .finally(() => {
        this.#unanswered--;
        release();
        for (const wake of this.#idleWaiters.splice(0)) wake();
      });
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
