/**
 * One replica's link, master side: handshake, the snapshot sent with backpressure, then the
 * ordered stream. Frames of the stream that arrive while the snapshot is still being sent are
 * held and written right after it, so the replica sees snapshot(P), then ops P+1, P+2, … with
 * none lost or doubled.
 */
import type net from "node:net";
import { FedmqError, HandshakeTimeoutError, InternalError, StalePeerError } from "@fedmq/protocol";
import type { Logger as StoreLogger } from "@fedmq/protocol";
import { decodeFrame, encodeError, FRAME_HEADER_BYTES, FrameType, encodeHeartbeat, encodeSnapEnd, ReplicationFrameDecoder, type ReplicationFrame } from "./replication-codec";
import { ReplicaTooSlowError, ReplicationLinkError, ReplicationProtocolError } from "./replication-errors";

export type ReplicaSessionState = "handshake" | "snapshot" | "streaming" | "closed";

export interface ReplicaSessionHost {
  readonly maxFrameBytes: number;
  readonly maxReplicaBufferBytes: number;
  readonly log: StoreLogger;
  onHello(session: ReplicaSession, hello: Extract<ReplicationFrame, { type: "hello" }>): void;
  onAck(session: ReplicaSession): void;
  onClosed(session: ReplicaSession, err: Error | undefined): void;
}

/** `[last position of a stream write, epoch ms it was sent (or held)]`, oldest first. */
type Sent = [number, number];

export class ReplicaSession {
  readonly address: string;
  readonly connectedSince = Date.now();
  name = "";
  state: ReplicaSessionState = "handshake";
  /** Highest position the replica acknowledged as durable. */
  acked = 0;
  /** Position the snapshot reflects. */
  snapshotPosition = 0;
  /** Highest position written or held for this replica. */
  sentPosition = 0;
  /** Counted as in sync: sync writes wait for its acknowledgement. The store decides. */
  inSync = false;
  lastHeard = Date.now();
  /** Snapshot record chunks written so far on this link. */
  snapshotChunks = 0;
  /** The link resumed the stream after this position instead of taking a snapshot. */
  resumedFrom: number | null = null;
  /** Error that closed the link, if any. */
  closeError: Error | undefined;
  private live = false;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly sent: Sent[] = [];
  private sentHead = 0;
  private readonly decoder: ReplicationFrameDecoder;

  constructor(
    private readonly socket: net.Socket,
    private readonly host: ReplicaSessionHost,
  ) {
    this.address = `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? 0}`;
    this.decoder = new ReplicationFrameDecoder(host.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.close(new ReplicationLinkError(`replication link to ${this.address} failed: ${err.message}`, { cause: err })));
    socket.on("close", () => this.close(undefined));
  }

  /** True once the session takes stream frames (snapshot started). */
  get receiving(): boolean {
    return this.state === "snapshot" || this.state === "streaming";
  }

  /** Epoch ms the oldest unacknowledged stream write was sent; undefined when all are acknowledged. */
  oldestUnackedSentAt(): number | undefined {
    return this.sentHead < this.sent.length ? this.sent[this.sentHead]![1] : undefined;
  }

  /** Bytes waiting for this replica: held stream plus the socket's buffer. */
  get bufferedBytes(): number {
    return this.heldBytes + this.socket.writableLength;
  }

  /** The snapshot at `position` starts: from now on stream frames are held until it is sent. */
  beginSnapshot(position: number): void {
    this.state = "snapshot";
    this.snapshotPosition = position;
    this.sentPosition = position;
    this.acked = 0;
  }

  /**
   * The replica's store already holds everything up to `position`: `frames` (RESUME, then the
   * ops after `position` up to `upTo`) go out at once, and the stream follows them. Like a
   * snapshot, the link counts as streaming from its first acknowledgement.
   */
  resume(position: number, upTo: number, frames: readonly Buffer[]): void {
    this.state = "snapshot";
    this.snapshotPosition = position;
    this.sentPosition = upTo;
    this.acked = 0;
    this.resumedFrom = position;
    if (upTo > position) this.sent.push([upTo, Date.now()]);
    this.live = true;
    this.socket.cork();
    for (const f of frames) this.socket.write(f);
    this.socket.uncork();
  }

  /** Writes the snapshot frames with backpressure, then SNAP_END, then the held stream. */
  async sendSnapshot(frames: AsyncGenerator<Buffer>): Promise<void> {
    try {
      for await (const frame of frames) {
        if (this.state === "closed") return;
        if (frame[FRAME_HEADER_BYTES] === FrameType.SnapRecords) this.snapshotChunks++;
        if (!this.socket.write(frame)) await this.drained();
      }
      if (this.state === "closed") return;
      this.socket.cork();
      this.socket.write(encodeSnapEnd(this.snapshotPosition));
      for (const f of this.held) this.socket.write(f);
      this.socket.uncork();
      this.held = [];
      this.heldBytes = 0;
      this.live = true;
    } finally {
      await frames.return(undefined);
    }
  }

  /** One tick of the stream: written at once (one writev), or held while the snapshot is sent. */
  deliver(frames: readonly Buffer[], lastPosition: number, sentAt: number): void {
    if (!this.receiving) return;
    this.sentPosition = lastPosition;
    this.sent.push([lastPosition, sentAt]);
    if (this.live) {
      if (frames.length === 1) this.socket.write(frames[0]!);
      else {
        this.socket.cork();
        for (const f of frames) this.socket.write(f);
        this.socket.uncork();
      }
    } else {
      for (const f of frames) {
        this.held.push(f);
        this.heldBytes += f.length;
      }
    }
    if (this.bufferedBytes > this.host.maxReplicaBufferBytes) {
      this.close(
        new ReplicaTooSlowError(
          `replica ${this.describe()} has ${this.bufferedBytes} bytes waiting, over the limit of ${this.host.maxReplicaBufferBytes} (option 'maxReplicaBufferBytes'); it must catch up again`,
        ),
      );
    }
  }

  /** A heartbeat with the master's position; drops the link when the replica went silent. */
  heartbeat(position: number, now: number, handshakeTimeoutMs: number, idleTimeoutMs: number): void {
    if (this.state === "closed") return;
    if (this.state === "handshake") {
      if (now - this.connectedSince > handshakeTimeoutMs) {
        this.close(new HandshakeTimeoutError(`replication peer ${this.address} sent no hello within ${handshakeTimeoutMs} ms (option 'handshakeTimeoutMs')`));
      }
      return;
    }
    if (now - this.lastHeard > idleTimeoutMs) {
      this.close(new StalePeerError(`replica ${this.describe()} silent for ${now - this.lastHeard} ms (option 'replicaIdleTimeoutMs')`));
      return;
    }
    this.socket.write(encodeHeartbeat(position));
  }

  describe(): string {
    return this.name ? `'${this.name}' (${this.address})` : this.address;
  }

  /** Closes the link; with an error, tells the peer first (best effort). Idempotent. */
  close(err: Error | undefined): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.inSync = false;
    this.closeError = err;
    this.held = [];
    this.heldBytes = 0;
    if (err && !(err instanceof ReplicationLinkError) && !this.socket.destroyed) {
      const code = err instanceof FedmqError ? err.code : InternalError.code;
      this.socket.end(encodeError(code, err.message));
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else if (err) this.socket.destroy();
    else this.socket.end();
    this.host.onClosed(this, err);
  }

  private onData(chunk: Buffer): void {
    if (this.state === "closed") return;
    this.lastHeard = Date.now();
    const { frames, error } = this.decoder.push(chunk);
    try {
      for (const f of frames) {
        this.onFrame(decodeFrame(f));
        if ((this.state as ReplicaSessionState) === "closed") return;
      }
    } catch (err) {
      this.close(err as Error);
      return;
    }
    if (error) this.close(error);
  }

  private onFrame(frame: ReplicationFrame): void {
    switch (frame.type) {
      case "hello":
        if (this.state !== "handshake") throw new ReplicationProtocolError(`replica ${this.describe()} sent a second hello`);
        this.name = frame.name;
        this.host.onHello(this, frame);
        return;
      case "alive":
        return;
      case "ack": {
        if (this.state === "handshake") throw new ReplicationProtocolError(`replication peer ${this.address} sent an ack before its hello`);
        if (frame.position > this.sentPosition) {
          throw new ReplicationProtocolError(`replica ${this.describe()} acknowledged position ${frame.position}, beyond the last one sent (${this.sentPosition})`);
        }
        if (frame.position < this.snapshotPosition) {
          throw new ReplicationProtocolError(`replica ${this.describe()} acknowledged position ${frame.position}, before its snapshot (${this.snapshotPosition})`);
        }
        // Acks are cumulative; the first one (snapshot applied) may equal the snapshot position.
        if (frame.position <= this.acked && this.state === "streaming") return;
        this.acked = frame.position;
        if (this.state === "snapshot") this.state = "streaming";
        while (this.sentHead < this.sent.length && this.sent[this.sentHead]![0] <= this.acked) this.sentHead++;
        if (this.sentHead > 1024 && this.sentHead * 2 > this.sent.length) {
          this.sent.splice(0, this.sentHead);
          this.sentHead = 0;
        }
        this.host.onAck(this);
        return;
      }
      case "error":
        this.close(new ReplicationLinkError(`replica ${this.describe()} closed the link: ${frame.message} (${frame.code})`));
        return;
      default:
        throw new ReplicationProtocolError(`replica ${this.describe()} sent a '${frame.type}' frame, which only a master sends`);
    }
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        // The replica is reading what we send: as good a sign of life as an ack.
        this.lastHeard = Date.now();
        this.socket.off("drain", done);
        this.socket.off("close", done);
        resolve();
      };
      this.socket.on("drain", done);
      this.socket.on("close", done);
    });
  }
}
