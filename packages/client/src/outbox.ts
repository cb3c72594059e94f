import { ConnectionClosedError, TimeoutError, encodeSendFrame, errorFromWire, messageId, type fedwire } from "@fedmq/protocol";
import type { Logger } from "@fedmq/protocol";
import type { Session } from "./session";

/** What `Connection.send` (and `forward`) resolves with, once the node has the message. */
export interface SendResult {
  /** The message id, `producerId:producerSeq`. */
  readonly id: string;
  /** The node already had this message (a resend after a reconnect); it was not stored twice. */
  readonly duplicate: boolean;
}

interface PendingSend {
  readonly message: fedwire.IMessage;
  /** The message's bytes when the caller had them encoded (a bridge's forward): sent as they are. */
  readonly encoded: Uint8Array | undefined;
  readonly id: string;
  /** corr 0: done once handed to the socket, no receipt. */
  readonly async: boolean;
  /** A bridge's forward with others in flight (`Send.streaming`). */
  readonly streaming: boolean;
  readonly resolve: (r: SendResult) => void;
  readonly reject: (err: Error) => void;
  /** The session it was last written on; undefined while waiting for a connection. */
  session: Session | undefined;
  timer: NodeJS.Timeout | undefined;
}

export interface OutboxContext {
  session(): Session | undefined;
  /** Failover `timeout` option (ms); -1 = wait for a connection forever. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

/**
 * Sends of one connection that are not done yet: a receipted send waits for its Receipt, an
 * async send until it was handed to the socket. Kept in the order they were issued, so that
 * after a reconnect they are written again in sequence order: first the ones the lost connection
 * had taken without a receipt, then the ones queued while disconnected. The node's duplicate
 * audit answers a resend of a stored message with `duplicate: true`.
 */
export class Outbox {
  private readonly items = new Map<number, PendingSend>();
  private nextKey = 1;

  constructor(private readonly ctx: OutboxContext) {}

  /** Sends not done yet. */
  get size(): number {
    return this.items.size;
  }

  add(message: fedwire.IMessage, async: boolean, encoded?: Uint8Array, streaming = false): Promise<SendResult> {
    return new Promise<SendResult>((resolve, reject) => {
      const key = this.nextKey++;
      const id = messageId(message.producerId ?? "", Number(message.producerSeq ?? 0));
      const p: PendingSend = { message, encoded, id, async, streaming, resolve, reject, session: undefined, timer: undefined };
      this.items.set(key, p);
      const s = this.ctx.session();
      if (s) this.write(key, p, s);
      else this.arm(key, p);
    });
  }

  /** A new connection epoch: write every pending send again, in order. */
  restore(s: Session): void {
    for (const [key, p] of [...this.items]) if (p.session !== s) this.write(key, p, s);
  }

  /** The connection was lost: pending sends wait for the next one (at most `timeout`). */
  disconnected(): void {
    for (const [key, p] of this.items) {
      p.session = undefined;
      this.arm(key, p);
    }
  }

  /** The connection is gone for good. */
  rejectAll(cause: Error | undefined): void {
    const err = cause
      ? new ConnectionClosedError(`connection closed before the send completed: ${cause.message}`, { cause })
      : new ConnectionClosedError("connection closed before the send completed");
    const all = [...this.items.values()];
    this.items.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private write(key: number, p: PendingSend, s: Session): void {
    if (p.timer) {
      clearTimeout(p.timer);
      p.timer = undefined;
    }
    p.session = s;
    const bytes = p.encoded;
    const frame = bytes ? (corr: number) => encodeSendFrame(corr, bytes, p.streaming) : { send: p.streaming ? { message: p.message, streaming: true } : { message: p.message } };
    try {
      if (p.async) {
        s.post(frame, (written) => {
          if (written) this.done(key, p, { id: p.id, duplicate: false });
          else if (p.session === s) p.session = undefined; // not handed over: written again next epoch
        });
      } else {
        s.request(frame, (reply) => {
          if (!reply) return; // lost with the connection: written again next epoch
          if (reply.error) this.failed(key, p, errorFromWire(reply.error.code ?? "", reply.error.message ?? ""));
          else this.done(key, p, { id: p.id, duplicate: reply.receipt?.duplicate === true });
        });
      }
    } catch (err) {
      this.failed(key, p, err as Error); // too large for the node: nothing was sent
    }
  }

  private arm(key: number, p: PendingSend): void {
    const ms = this.ctx.timeoutMs;
    if (ms < 0 || p.timer) return;
    p.timer = setTimeout(() => {
      p.timer = undefined;
      this.failed(key, p, new TimeoutError(`send of '${p.id}' to '${p.message.destination}' waited ${ms} ms for a connection (failover option 'timeout')`));
    }, ms);
  }

  private done(key: number, p: PendingSend, r: SendResult): void {
    if (this.items.get(key) !== p) return;
    this.items.delete(key);
    clearTimeout(p.timer);
    p.resolve(r);
  }

  private failed(key: number, p: PendingSend, err: Error): void {
    if (this.items.get(key) !== p) return;
    this.items.delete(key);
    clearTimeout(p.timer);
    p.reject(err);
  }
}
