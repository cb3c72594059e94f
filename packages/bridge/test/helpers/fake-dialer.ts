import type { Connection, ConnectionOptions } from "@fedmq/client";
import { waitFor } from "./wait";

/** One dial the bridge made, answered by the test: `accept(conn)` or `fail(err)`; until then it hangs. */
export interface PendingDial {
  readonly url: string;
  readonly opts: Partial<ConnectionOptions>;
  accept(conn: Connection): void;
  fail(err: Error): void;
}

/** The bridge's `dial` option, played by the test: every dial waits until the test answers it. */
export class FakeDialer {
  readonly dials: PendingDial[] = [];
  private taken = 0;

  readonly dial = (url: string, opts: Partial<ConnectionOptions>): Promise<Connection> =>
    new Promise<Connection>((accept, fail) => {
      this.dials.push({ url, opts, accept, fail });
    });

  /** The next dial not yet handed to the test, once the bridge makes it. */
  async next(timeoutMs = 2_000): Promise<PendingDial> {
    const n = this.taken;
    const d = await waitFor(() => this.dials[n], `dial #${n + 1}`, timeoutMs);
    this.taken = n + 1;
    return d;
  }
}
