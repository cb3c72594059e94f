import type { Duplex } from "node:stream";
import type { FrameWriter } from "@fedmq/protocol";

/** Frames queued behind a blocked send beyond this count pause reading from the socket. */
export const INBOX_PAUSE = 1000;

/**
 * When a connection (native or STOMP) reads its socket: not while its inbox of frames holds more
 * than `INBOX_PAUSE` (until it is down to half), nor while the peer does not read what the node
 * writes (receipts, deliveries: the writer congested, until it drains). Either way TCP holds the
 * rest on the peer's side, and the node's buffers stay bounded.
 */
export class ReadGate {
  /** Reading is paused for a long inbox. */
  inboxFull = false;
  /** Reading is paused while the peer does not read what the node writes. */
  private writerFull = false;

  constructor(
    private readonly stream: Duplex,
    private readonly writer: Pick<FrameWriter, "congested" | "whenWritable">,
  ) {}

  /** After reading a chunk: pause while the writer is congested; read again once it drains. */
  holdWhileCongested(): void {
    if (this.writerFull || !this.writer.congested) return;
    this.writerFull = true;
    this.stream.pause();
    void this.writer.whenWritable().then(() => {
      this.writerFull = false;
      if (!this.inboxFull) this.stream.resume();
    });
  }

  /** A frame joined the inbox, which now holds `length`. */
  queued(length: number): void {
    if (length <= INBOX_PAUSE || this.inboxFull) return;
    this.inboxFull = true;
    this.stream.pause();
  }

  /** A frame left the inbox, which now holds `length`. */
  handled(length: number): void {
    if (!this.inboxFull || length >= INBOX_PAUSE / 2) return;
    this.inboxFull = false;
    this.holdWhileCongested();
    if (!this.writerFull) this.stream.resume();
  }
}
