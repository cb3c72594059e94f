import type { EndpointUri, Logger } from "@fedmq/protocol";
import { retryLoop, type RetryLoopOptions } from "./retry-loop";

/**
 * The order endpoints are dialled in: passes through the list, each pass shuffled when
 * `randomize`; the endpoint whose connection was just lost goes last in the next pass.
 */
export class EndpointRotation {
  private order: EndpointUri[] = [];
  private index = 0;

  constructor(
    private readonly endpoints: readonly EndpointUri[],
    private readonly randomize: boolean,
    private readonly random: () => number = Math.random,
  ) {
    if (endpoints.length === 0) throw new RangeError("endpoint rotation needs at least one endpoint");
  }

  next(): EndpointUri {
    if (this.index >= this.order.length) this.newPass();
    return this.order[this.index++]!;
  }

  /** Start a new pass with `lost` (the endpoint of a lost connection) last. */
  demote(lost: EndpointUri): void {
    this.newPass();
    if (this.order.length < 2) return;
    const i = this.order.findIndex((e) => e.text === lost.text);
    if (i >= 0) this.order.push(...this.order.splice(i, 1));
  }

  private newPass(): void {
    this.order = [...this.endpoints];
    if (this.randomize) {
      for (let i = this.order.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
      }
    }
    this.index = 0;
  }
}

export interface DialLoopOptions<T> extends Omit<RetryLoopOptions<T>, "tryOnce" | "onRetry"> {
  readonly rotation: EndpointRotation;
  readonly log: Logger;
  /** Dial and handshake one endpoint. */
  dial(endpoint: EndpointUri): Promise<T>;
}

/**
 * Dial until one endpoint answers (`retryLoop` over the endpoint rotation): one dial in flight
 * at a time, waiting what the retry strategy says between dials. Rejects with `GaveUpError`
 * when the strategy returns null, or `ConnectionClosedError` when aborted.
 */
export function dialLoop<T>(o: DialLoopOptions<T>): Promise<T> {
  return retryLoop({
    ...o,
    tryOnce: async (attempt) => {
      const endpoint = o.rotation.next();
      try {
        o.log.debug({ endpoint: endpoint.text, attempt }, "dialling");
        return await o.dial(endpoint);
      } catch (err) {
        if (!o.signal.aborted) o.log.debug({ endpoint: endpoint.text, attempt, err }, "dial failed");
        throw err;
      }
    },
  });
}
