/**
 * Which open connection owns each client producer id. A client's duplicate audit is a sequence
 * window per producer id, so whoever may send with an id can move that window: a producer id
 * belongs to the first open connection that sends with it, until that connection closes. Then
 * it is free again, so the same client reconnecting (a failover: a new connection) takes it over
 * and its resends are still answered as duplicates. Bridged messages (hops > 0) are audited per
 * hop, not per producer window, and are not registered here.
 *
 * Memory: one entry per (open connection, producer id it sent with), dropped when that
 * connection closes (`release`), so it never outlives the connections it describes; and one
 * connection may own at most `MAX_PRODUCERS_PER_CONNECTION` ids, so a single open connection
 * cannot grow it without bound either.
 */
export class ProducerOwners {
  /**
   * The native client uses one producer id per connection; a connection past this many is not
   * a producer but a flood, and is refused rather than remembered.
   */
  static readonly MAX_PRODUCERS_PER_CONNECTION = 1024;

  private readonly owners = new Map<string, string>();
  private readonly byConnection = new Map<string, Set<string>>();

  /**
   * Claim `producerId` for `connectionId`: "owned" if it was free or already this connection's,
   * "taken" if another open connection owns it, "full" if this connection owns too many ids.
   */
  claim(producerId: string, connectionId: string): "owned" | "taken" | "full" {
    const owner = this.owners.get(producerId);
    if (owner !== undefined) return owner === connectionId ? "owned" : "taken";
    let ids = this.byConnection.get(connectionId);
    if (!ids) this.byConnection.set(connectionId, (ids = new Set()));
    if (ids.size >= ProducerOwners.MAX_PRODUCERS_PER_CONNECTION) return "full";
    ids.add(producerId);
    this.owners.set(producerId, connectionId);
    return "owned";
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
