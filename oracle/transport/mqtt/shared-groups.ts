/**
 * Shared subscriptions for a broker that has none (aedes, MQTT 3.1.1): a member subscribes to
 * `$share/{group}/{filter}`, the broker subscribes it to `{filter}`, and each message is forwarded
 * to one connected member of the group, round robin by the broker's message counter. docs/MQTT.md.
 *
 * @module
 */

/** A `$share/{group}/{filter}` subscription read, or `undefined` for a plain filter. */
export function parseSharedFilter(filter: string): { group: string; filter: string } | undefined {
  const match = /^\$share\/([^/#+]+)\/(.+)$/.exec(filter);
  return match === null ? undefined : { group: match[1]!, filter: match[2]! };
}

/**
 * Who belongs to which group, and which member a message goes to.
 *
 * @example
 * ```ts
 * const groups = new SharedGroups();
 * groups.join("a", "g"); groups.join("b", "g");
 * [groups.chosen("a", 0), groups.chosen("b", 0), groups.chosen("a", 1)]; // [true, false, false]
 * ```
 */
export class SharedGroups {
  /** group → member client ids, in join order. */
  readonly #members = new Map<string, string[]>();
  /** client id → its group. */
  readonly #groupOf = new Map<string, string>();

  /** Adds a client to a group (a client is in at most one group). */
  join(clientId: string, group: string): void {
    this.leave(clientId);
    this.#groupOf.set(clientId, group);
    const members = this.#members.get(group) ?? [];
    members.push(clientId);
    this.#members.set(group, members);
  }

  /** Removes a client (it disconnected). */
  leave(clientId: string): void {
    const group = this.#groupOf.get(clientId);
    if (group === undefined) return;
    this.#groupOf.delete(clientId);
    const members = (this.#members.get(group) ?? []).filter((id) => id !== clientId);
    if (members.length === 0) this.#members.delete(group);
    else this.#members.set(group, members);
  }

  /** Whether the client is in a group (so it gets only its share of messages). */
  isMember(clientId: string): boolean {
    return this.#groupOf.has(clientId);
  }

  /** Whether message number `counter` goes to this member of its group. */
  chosen(clientId: string, counter: number): boolean {
    const group = this.#groupOf.get(clientId);
    if (group === undefined) return true;
    const members = this.#members.get(group)!;
    return members[counter % members.length] === clientId;
  }
}
