/**
 * An application that uses @fedmq/client: persistent sends with receipts, a queue consumer that
 * acknowledges each message itself, a durable topic subscription that receives what was
 * published while it was away, and a clean close. docs/clients.md explains each step.
 *
 *   npx tsx client-example.ts 'failover:(tcp://127.0.0.1:61616,tcp://127.0.0.1:61617)?randomize=false'
 *
 * The URL comes from the first argument, else the FEDMQ_URL environment variable, else
 * DEFAULT_URL. packages/testkit/test/clients-doc.test.ts runs this file as it is.
 */
import { connect, type Connection } from "@fedmq/client";
import { FedmqError } from "@fedmq/protocol";

/**
 * Two nodes, tried in the order given (`randomize=false`): a durable subscription lives on the
 * node it was made on, so the application comes back to the same node while it is up. At
 * startup, give up after 5 retries; once connected, a send or subscribe waits at most 10 s for
 * a connection while the client reconnects.
 */
const DEFAULT_URL = "failover:(tcp://127.0.0.1:61616,tcp://127.0.0.1:61617)?randomize=false&startupMaxReconnectAttempts=5&timeout=10000";

const ORDERS = "queue://example.orders";
const PRICES = "topic://example.prices";
/** A durable subscription is known by client id and name: come back with both to find it. */
const AUDIT_CLIENT_ID = "example-price-audit";
const AUDIT_SUBSCRIPTION = "prices-audit";

interface Order {
  order: string;
  qty: number;
}

async function main(): Promise<void> {
  const url = process.argv[2] ?? process.env.FEDMQ_URL ?? DEFAULT_URL;
  const app = await open(url, "app");
  try {
    await sendOrders(app);
    await processOrders(app);
    await auditPrices(url, app);
  } finally {
    await app.close();
  }
  console.log("done");
}

/** Connect, and print where to and every later status change (reconnects, the close). */
async function open(url: string, name: string, clientId?: string): Promise<Connection> {
  const conn = await connect(url, { clientId });
  console.log(`${name}: connected to node ${conn.brokerId} at ${conn.connectedUrl}`);
  conn.on("status", (now, before, err) => console.log(`${name}: ${before} -> ${now}${err ? ` (${err.message})` : ""}`));
  // Errors the node reports outside any request; without a listener they would only be logged.
  conn.on("error", (err) => console.error(`${name}: node error ${err.code}: ${err.message}`));
  return conn;
}

/** Persistent sends: each resolves once the node has stored the message (its receipt). */
async function sendOrders(app: Connection): Promise<void> {
  for (const [order, qty] of [["order-1", 2], ["order-2", 1], ["order-3", 5]] as const) {
    const body: Order = { order, qty };
    const receipt = await app.send(ORDERS, JSON.stringify(body), { persistent: true, headers: { "content-type": "application/json" } });
    // duplicate: a resend after a reconnect that the node already had (stored once all the same).
    console.log(`sent ${order} to ${ORDERS}: id ${receipt.id}${receipt.duplicate ? " (already stored)" : ""}`);
  }
}

/**
 * Client acknowledgement: a message is acked once processed, or nacked to have it redelivered.
 * order-2 fails the first time, comes back flagged `redelivered`, and succeeds.
 */
async function processOrders(app: Connection): Promise<void> {
  // prefetch: unacked deliveries the node may push ahead of the app; 1 keeps this output in order.
  const orders = await app.subscribe(ORDERS, { prefetch: 1 });
  const processed = new Set<string>(); // a real application keeps this with its data
  let failures = 0;
  for await (const d of orders) {
    const { order } = JSON.parse(d.body.toString("utf8")) as Order;
    const how = `id ${d.id}${d.redelivered ? `, redelivered, count ${d.redeliveryCount}` : ""}`;
    if (processed.has(d.id)) {
      // At-least-once: a redelivery of a message already processed is acked and skipped.
      d.ack();
      console.log(`received ${order} (${how}): already processed, acked`);
    } else if (order === "order-2" && failures++ === 0) {
      d.nack();
      console.log(`received ${order} (${how}): processing failed, nacked`);
    } else {
      processed.add(d.id);
      d.ack();
      console.log(`received ${order} (${how}): processed, acked`);
    }
    if (processed.size === 3) break; // leaving the loop unsubscribes
  }
}

/**
 * A durable topic subscription: it keeps the persistent messages published while its
 * application is away, and hands them over when the application comes back.
 */
async function auditPrices(url: string, app: Connection): Promise<void> {
  const first = await open(url, "audit", AUDIT_CLIENT_ID);
  try {
    await first.subscribe(PRICES, { durableName: AUDIT_SUBSCRIPTION });
    console.log(`audit: durable subscription '${AUDIT_SUBSCRIPTION}' to ${PRICES} created`);
  } finally {
    await first.close(); // the subscription goes offline; the node keeps it
  }
  console.log("audit: away; the node keeps what is published meanwhile");

  for (const [pair, price] of [["EURUSD", "1.0871"], ["GBPUSD", "1.2643"]]) {
    const receipt = await app.send(PRICES, `${pair} ${price}`, { persistent: true });
    console.log(`published ${pair} ${price} to ${PRICES}: id ${receipt.id}`);
  }

  const again = await open(url, "audit", AUDIT_CLIENT_ID);
  try {
    const prices = await again.subscribe(PRICES, { durableName: AUDIT_SUBSCRIPTION });
    let received = 0;
    for await (const d of prices) {
      d.ack();
      console.log(`audit: received ${d.body.toString("utf8")} (id ${d.id}), acked`);
      if (++received === 2) {
        // Done with it: delete the subscription (a plain unsubscribe or close would keep it).
        await prices.unsubscribe({ removeDurable: true });
        console.log(`audit: durable subscription '${AUDIT_SUBSCRIPTION}' deleted`);
        break;
      }
    }
  } finally {
    await again.close();
  }
}

main().catch((err: unknown) => {
  // Every fedmq error has a stable `code` (FEDMQ_ERR_…) to match on.
  if (err instanceof FedmqError) console.error(`failed: ${err.code}: ${err.message}`);
  else console.error("failed:", err);
  process.exitCode = 1;
});
