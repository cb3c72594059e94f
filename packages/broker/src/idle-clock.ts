import { StalePeerError, type FedmqError } from "@fedmq/protocol";

/**
 * Bytes of an unfinished frame that count as the peer being active ('idleTimeoutMs'): the idle
 * clock restarts on each complete frame, and on the bytes of an unfinished one only once per this
 * many. A peer holding a partial frame (up to 'maxFrameSize' of the node's memory) must send
 * 64 KiB per idle period, about 1 KiB/s at the 60 s default, far below any real link; one
 * trickling a byte now and then to hold it is closed.
 */
export const PROGRESS_BYTES = 64 * 1024;

/**
 * When a network peer was last active, for the node's option 'idleTimeoutMs' (native and STOMP
 * connections alike): a frame (or heart-beat) completed, `PROGRESS_BYTES` more of an unfinished
 * one arrived, or the node finished work it held the peer's frames for.
 */
export class IdleClock {
  private lastActiveAt = Date.now();
  /** Bytes arrived since `lastActiveAt` last moved. */
  private bytesSinceActive = 0;

  /** `bytes` of the peer arrived. */
  read(bytes: number, now: number): void {
    this.bytesSinceActive += bytes;
    if (this.bytesSinceActive >= PROGRESS_BYTES) this.active(now);
  }

  /** A frame completed, or the node finished the work it held the peer's frames for. */
  active(now: number): void {
    this.lastActiveAt = now;
    this.bytesSinceActive = 0;
  }

  /**
   * The error that closes a peer idle for more than `idleMs` at `now` (`partialBytes`: of an
   * unfinished frame it holds), else undefined. `peer` names it: "peer", "client".
   */
  stale(now: number, idleMs: number, partialBytes: number, peer: string): FedmqError | undefined {
    if (now - this.lastActiveAt <= idleMs) return undefined;
    return new StalePeerError(partialBytes > 0
      ? `no frame completed in ${idleMs} ms and under ${PROGRESS_BYTES} bytes of one arrived, ${partialBytes} bytes of an unfinished frame dropped (option 'idleTimeoutMs')`
      : `no bytes from the ${peer} for ${idleMs} ms (option 'idleTimeoutMs')`);
  }
}
