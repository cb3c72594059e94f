import type { RecoveryInfo } from "./message-store";
import { StoreAlreadyOpenError, StoreClosedError } from "./store-errors";

export type StoreState = "new" | "opening" | "open" | "closing" | "closed";

/**
 * The open / close life of a store, the same for every engine: `open()` once (a second call, or
 * one after `close()`, is refused), `close()` any number of times (the first one closes, after
 * an open in progress has settled), `await using`. A subclass recovers in `doOpen` (and sets
 * `state` to "open", or "closed" if it fails) and releases in `doClose`.
 */
export abstract class StoreLifecycle implements AsyncDisposable {
  protected state: StoreState = "new";
  /** Settles when `doOpen()` did. Not the open's own promise: that would hold the recovery (a million messages) as long as the store lives. */
  private opened: Promise<void> | null = null;
  private closing: Promise<void> | null = null;

  open(): Promise<RecoveryInfo> {
    if (this.state === "closing" || this.state === "closed") return Promise.reject(new StoreClosedError());
    if (this.state !== "new") return Promise.reject(new StoreAlreadyOpenError());
    this.state = "opening";
    const opening = this.doOpen();
    this.opened = opening.then(() => undefined, () => undefined);
    return opening;
  }

  close(): Promise<void> {
    this.closing ??= this.closeAfterOpen();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  protected abstract doOpen(): Promise<RecoveryInfo>;
  protected abstract doClose(): Promise<void>;

  private async closeAfterOpen(): Promise<void> {
    if (this.opened) await this.opened;
    await this.doClose();
  }
}
