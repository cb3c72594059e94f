/**
 * Which open connection owns each client producer id. A client's duplicate audit is a sequence
 * window per producer id, so whoever may send with an id can move that window: a producer id
 * belongs to the first open connection that sends with it, until that connection closes. Then
 * it is free again, so the same client reconnecting (a failover: a new connection) takes it over
 * and its resends are still answered as duplicates. Bridged messages (hops > 0) are audited per
 * hop, not per producer window, and are not registered here.
 *
 * On a node with users, an id also belongs to the user (the authenticated principal) that last
 * owned it, after its connection closed: another user's connection may not take it over, so a
 * user with a valid login cannot poison another user's producer window while that user is away
 * (the same user reconnecting takes it over as before). That memory is bounded
 * (`MAX_REMEMBERED_USERS` ids, the least recently claimed forgotten first). It outlives the node
 * process where the id's sequence window does: once a persistent message of the id is stored
 * (`stored`), `onUserChange` tells the node to write its user to the store
 * (`PRODUCER_USER_META_PREFIX`), once, and again (undefined) to delete it when the id is
 * forgotten; `seedUser` gives a restarted node what was written, as the store gives back the
 * ids' windows. (After a restart the seeded ids count as claimed in the order they were written.)
 *
 * Memory: one entry per (open connection, producer id it sent with), dropped when that
 * connection closes (`release`), so it never outlives the connections it describes; and one
 * connection may own at most `MAX_PRODUCERS_PER_CONNECTION` ids, so a single open connection
 * cannot grow it without bound either.
 */
/** Store metadata key prefix of a producer id's remembered user: the key's rest is the id, the value the user name (UTF-8). */
export const PRODUCER_USER_META_PREFIX = "fedmq.producer-user/";

export class ProducerOwners {
  /**
   * The native client uses one producer id per connection; a connection past this many is not
   * a producer but a flood, and is refused rather than remembered.
   */
  static readonly MAX_PRODUCERS_PER_CONNECTION = 1024;
  /** Producer ids whose last owning user is remembered after their connections closed. */
  static readonly MAX_REMEMBERED_USERS = 100_000;

  private readonly owners = new Map<string, string>();
  private readonly byConnection = new Map<string, Set<string>>();
  /**
   * Producer id → the user whose connection last owned it (nodes with users only), least
   * recently claimed first, and whether the store has it.
   */
  private readonly users = new Map<string, { readonly user: string; stored: boolean }>();
  /** Told to write an id's user to the store (`user`), or to delete it (undefined). */
  onUserChange: ((producerId: string, user: string | undefined) => void) | undefined;

  /**
   * Claim `producerId` for `connectionId`, acting for `user` (undefined on a node without
   * users): "owned" if it was free or already this connection's, "taken" if another open
   * connection owns it, "user" if another user owned it last, "full" if this connection owns
   * too many ids.
   */
  claim(producerId: string, connectionId: string, user?: string): "owned" | "taken" | "user" | "full" {
    const owner = this.owners.get(producerId);
    if (owner !== undefined) return owner === connectionId ? "owned" : "taken";
    if (user !== undefined) {
      const last = this.users.get(producerId);
      if (last !== undefined && last.user !== user) return "user";
    }
    let ids = this.byConnection.get(connectionId);
    if (!ids) this.byConnection.set(connectionId, (ids = new Set()));
    if (ids.size >= ProducerOwners.MAX_PRODUCERS_PER_CONNECTION) return "full";
    ids.add(producerId);
    this.owners.set(producerId, connectionId);
    if (user !== undefined) this.rememberUser(producerId, user);
    return "owned";
  }

  /** The user who last owned `producerId` (on a node with users), while remembered. */
  userOf(producerId: string): string | undefined {
    return this.users.get(producerId)?.user;
  }

  /** A persistent message of `producerId` was stored: its user, if remembered, is written to the store (once). */
  stored(producerId: string): void {
    const u = this.users.get(producerId);
    if (u === undefined || u.stored) return;
    u.stored = true;
    this.onUserChange?.(producerId, u.user);
  }

  /** A user the store had (a restart): remembered as written there. */
  seedUser(producerId: string, user: string): void {
    this.users.delete(producerId);
    this.users.set(producerId, { user, stored: true });
    this.evictOldest();
  }

  private rememberUser(producerId: string, user: string): void {
    const last = this.users.get(producerId);
    // Re-inserted, so the map's order is least recently claimed first.
    this.users.delete(producerId);
    this.users.set(producerId, last?.user === user ? last : { user, stored: false });
    this.evictOldest();
  }

  private evictOldest(): void {
    if (this.users.size <= ProducerOwners.MAX_REMEMBERED_USERS) return;
    const [oldest, u] = this.users.entries().next().value!;
    this.users.delete(oldest);
    if (u.stored) this.onUserChange?.(oldest, undefined);
  }

  /** The connection closed: every producer id it owned is free. */
  release(connectionId: string): void {
    const ids = this.byConnection.get(connectionId);
    if (!ids) return;
    for (const id of ids) this.owners.delete(id);
    this.byConnection.delete(connectionId);
  }

  ownerOf(producerId: string): string | undefined {
    return this.owners.get(producerId);
  }

  /** Producer ids owned by open connections. */
  get size(): number {
    return this.owners.size;
  }
}
