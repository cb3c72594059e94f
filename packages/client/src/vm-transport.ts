import { Duplex } from "node:stream";
import { InvalidArgumentError } from "@fedmq/protocol";

/**
 * One end of an in-memory duplex pair. Bytes written on one end are pushed, in order and
 * asynchronously (next tick), to the other end's readable side; `end()` arrives as EOF after
 * the data, `destroy()` as EOF on the other end. A write waits for its callback while the other
 * end's readable buffer is above its high-water mark, so `write()` backpressure works as on a
 * socket. Buffers are handed over, not copied: do not mutate a buffer after writing it.
 */
export class VmSocket extends Duplex {
  /** The vm name this pair was dialled on ("" for a bare pair). */
  readonly vmName: string;
  private peer!: VmSocket;
  /** A write callback of the peer, held until this end's reader wants more. */
  private heldWriteCallback: (() => void) | undefined;
  private eofPushed = false;

  constructor(vmName: string) {
    super({ allowHalfOpen: false });
    this.vmName = vmName;
  }

  /** Build a connected pair. */
  static pair(vmName = ""): [VmSocket, VmSocket] {
    const a = new VmSocket(vmName);
    const b = new VmSocket(vmName);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  /** Node sockets have it; the broker may call it on any stream. */
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  override _read(): void {
    const cb = this.heldWriteCallback;
    this.heldWriteCallback = undefined;
    cb?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    process.nextTick(() => this.peer.deliver(chunk, () => callback()));
  }

  override _final(callback: (error?: Error | null) => void): void {
    process.nextTick(() => {
      this.peer.pushEof();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const held = this.heldWriteCallback;
    this.heldWriteCallback = undefined;
    process.nextTick(() => {
      held?.();
      this.peer.pushEof();
    });
    callback(error);
  }

  private deliver(chunk: Buffer, done: () => void): void {
    if (this.destroyed || this.eofPushed) {
      done(); // like writing into a closed socket whose close we have not seen yet: dropped
      return;
    }
    if (this.push(chunk)) done();
    else this.heldWriteCallback = done;
  }

  private pushEof(): void {
    if (this.destroyed || this.eofPushed) return;
    this.eofPushed = true;
    this.push(null);
  }
}

/** Two connected in-memory streams. */
export function createDuplexPair(): [Duplex, Duplex] {
  return VmSocket.pair();
}

/** A `listenVm` registration: close it to stop accepting `vm://name` connections. */
export interface VmServer {
  /** The vm name listened on. */
  readonly name: string;
  /** Stop accepting connections on this name; established streams stay open. */
  close(): void;
}

/**
 * The process-wide registry, kept on globalThis under a registered symbol so that two copies of
 * this module (built and source, in one process) still see each other's listeners.
 */
const REGISTRY = Symbol.for("fedmq.client.vmListeners");
const vmListeners: Map<string, (stream: Duplex) => void> = ((globalThis as Record<symbol, unknown>)[REGISTRY] ??= new Map()) as Map<
  string,
  (stream: Duplex) => void
>;

/**
 * Accept `vm://name` connections in this process: `onConnection` gets the node's end of each
 * new in-memory stream, to treat like a socket (data / write / end / destroy / 'close').
 */
export function listenVm(name: string, onConnection: (stream: Duplex) => void): VmServer {
  if (typeof name !== "string" || !/^[^?/\s]+$/.test(name)) {
    throw new InvalidArgumentError(`vm name '${String(name)}' is not valid: use a non-empty name without '/', '?' or spaces`);
  }
  if (vmListeners.has(name)) throw new InvalidArgumentError(`vm name '${name}' is already listening in this process`);
  vmListeners.set(name, onConnection);
  let open = true;
  return {
    name,
    close() {
      if (open && vmListeners.get(name) === onConnection) vmListeners.delete(name);
      open = false;
    },
  };
}

/** Is something listening on `vm://name`? */
export function isVmListening(name: string): boolean {
  return vmListeners.has(name);
}

/**
 * The client end of a new in-memory stream to `vm://name`. Throws an `ECONNREFUSED` error,
 * as a TCP dial to a closed port fails, when nothing listens on the name.
 */
export function dialVm(name: string): Duplex {
  const onConnection = vmListeners.get(name);
  if (!onConnection) {
    throw Object.assign(new Error(`connect ECONNREFUSED vm://${name}`), { code: "ECONNREFUSED", syscall: "connect", address: `vm://${name}` });
  }
  const [client, server] = VmSocket.pair(name);
  process.nextTick(() => {
    try {
      onConnection(server);
    } catch {
      // The listener failed on this stream: the dialler sees the stream close, like a reset.
      server.destroy();
    }
  });
  return client;
}
