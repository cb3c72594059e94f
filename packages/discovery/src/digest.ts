/**
 * The watcher's digest: the stream's state (one STREAM.INFO request) compared with what the watch
 * has seen. Pure, so the rules are tested without a server.
 */

/** The part of the stream's state the digest reads. */
export interface StreamDigest {
  /** When the stream was created (a different value: the bucket was replaced). */
  readonly created: string;
  /** The stream's last sequence: the highest revision written. */
  readonly lastSeq: number;
  /** Keys the stream holds (its subjects), delete markers included. */
  readonly keys: number;
}

/** What the watch had seen. */
export interface WatchDigest {
  /** The stream's creation time at the last sync. */
  readonly created: string | undefined;
  /** Highest revision seen when the request was sent (deltas newer than the reply may already be in). */
  readonly revisionBefore: number;
  /** Highest revision seen when the reply came. */
  readonly revisionNow: number;
  /** Keys the watch knows (members, delete markers, invalid values). */
  readonly keys: number;
  /** A last sequence a previous digest saw ahead of the watch, which it had to reach by now. */
  readonly behind: number | undefined;
}

/** Divergence (a reason to sync again), or none; and the revision the watch must reach by the next digest. */
export interface DigestVerdict {
  readonly divergence: string | undefined;
  readonly behind: number | undefined;
}

/**
 * Divergence when the stream was replaced, when it is behind what the watch saw, when the watch
 * did not catch up with the last sequence the previous digest saw (a stalled watch), or when the
 * key counts differ while the watch stands exactly where the stream's state was taken (a key
 * lapsed: the server removes it without a word on the watch).
 */
export function compareDigest(stream: StreamDigest, watch: WatchDigest): DigestVerdict {
  if (stream.created !== watch.created) return { divergence: "the bucket was replaced", behind: undefined };
  if (stream.lastSeq < watch.revisionBefore) {
    return { divergence: `the stream's last revision ${stream.lastSeq} is behind the watch's ${watch.revisionBefore}`, behind: undefined };
  }
  if (stream.lastSeq > watch.revisionNow) {
    // Deltas in flight, or a stalled watch: it must have caught up by the next digest.
    if (watch.behind !== undefined && watch.revisionNow < watch.behind) return { divergence: `the watch is stalled below revision ${watch.behind}`, behind: undefined };
    return { divergence: undefined, behind: stream.lastSeq };
  }
  // The key count is comparable only when the watch stands exactly where the stream's state was taken.
  if (stream.lastSeq === watch.revisionNow && stream.keys !== watch.keys) {
    return { divergence: `the bucket holds ${stream.keys} keys, the watch knows ${watch.keys}`, behind: undefined };
  }
  return { divergence: undefined, behind: undefined };
}
