/**
 * STOMP destinations as ActiveMQ names them (`/queue/orders.eu`, `/topic/prices.>`) to and from
 * fedmq destinations (`queue://orders.eu`, `topic://prices.>`).
 */
import { InvalidDestinationError, parseDestination, type Destination } from "@fedmq/protocol";
import { showValue } from "./stomp-errors";

const TO_FEDMQ: ReadonlyArray<readonly [string, string]> = [["/queue/", "queue://"], ["/topic/", "topic://"]];

/**
 * The fedmq destination a STOMP `destination` header names: `/queue/a.b` is `queue://a.b`,
 * `/topic/a.b` is `topic://a.b`. With `allowWildcards` (SUBSCRIBE), `*` and `>` pass through as
 * fedmq patterns; otherwise (SEND) they are refused.
 * @throws InvalidDestinationError when the header does not start with `/queue/` or `/topic/`,
 * or the name is not a valid fedmq destination (empty segment, invalid character, …).
 */
export function fromStompDestination(stomp: string, opts: { allowWildcards?: boolean } = {}): Destination {
  const prefix = TO_FEDMQ.find(([p]) => stomp.startsWith(p));
  if (!prefix) throw new InvalidDestinationError(`destination '${showValue(stomp)}' must start with /queue/ or /topic/`);
  const uri = prefix[1] + stomp.slice(prefix[0].length);
  try {
    return parseDestination(uri, { allowWildcards: opts.allowWildcards === true });
  } catch (err) {
    throw new InvalidDestinationError(`destination '${showValue(stomp)}' is not valid: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The STOMP `destination` header for a fedmq destination or pattern: `queue://a.b` is
 * `/queue/a.b`, `topic://a.>` is `/topic/a.>`.
 * @throws InvalidDestinationError when `uri` is not a valid fedmq destination or pattern.
 */
export function toStompDestination(uri: string): string {
  const dest = parseDestination(uri, { allowWildcards: true });
  return `/${dest.kind}/${dest.name}`;
}
