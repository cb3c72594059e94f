/**
 * The one ingest path (`IngestSession`): what it answers for each kind of send, the same for any
 * wire protocol — the native connection only decodes, calls it and encodes the answer.
 */
import { ForbiddenError, InvalidArgumentError, type Destination, type fedwire } from "@fedmq/protocol";
import { BrokerNode } from "../src";
import { IngestSession, DEFAULT_INGEST_POLICY, type IngestResult, type IngestSource } from "../src/ingest";

let node: BrokerNode;
beforeEach(async () => {
  node = await BrokerNode.create({ id: "N", listen: ["tcp://127.0.0.1:0"], store: "memory" });
});
afterEach(() => node.close());

import { UNRESTRICTED } from "../src/auth/authenticator";
const client: IngestSource = { connectionId: "c-test", clientId: "app", role: "client", peerNodeId: "", principal: UNRESTRICTED };
const bridgeFromA: IngestSource = { connectionId: "c-bridge", clientId: "bridge:A:ab", role: "bridge", peerNodeId: "A", principal: UNRESTRICTED };

function msg(over: Partial<fedwire.IMessage> = {}): fedwire.IMessage {
  return { destination: "queue://orders", producerId: "p1", producerSeq: 1, persistent: true, priority: 4, body: Buffer.from("x"), ...over };
}

function accept(s: IngestSession, m: fedwire.IMessage): Promise<IngestResult> {
  return new Promise((resolve, reject) => {
    try {
      void s.accept(m, resolve);
    } catch (err) {
      reject(err);
    }
  });
}

const depth = (dest: string) => node.destinations().find((d) => d.name === dest)?.depth ?? 0;

test("a new message is accepted and queued; its resend is a duplicate and queued once", async () => {
  const s = new IngestSession(node, client);
  expect(await accept(s, msg())).toEqual({ outcome: "accepted" });
  expect(await accept(s, msg())).toEqual({ outcome: "duplicate" });
  expect(depth("queue://orders")).toBe(1);
  expect(node.stats).toMatchObject({ received: 1, duplicates: 1 });
});

test("a bridged message is audited per hop: the same hop again is a duplicate, a message naming this node is a loop", async () => {
  const s = new IngestSession(node, bridgeFromA);
  const bridged = msg({ brokerPath: ["A"], hops: 1 });
  expect(await accept(s, bridged)).toEqual({ outcome: "accepted" });
  expect(await accept(s, bridged)).toEqual({ outcome: "duplicate" });
  expect(await accept(s, msg({ producerSeq: 2, brokerPath: ["N", "A"], hops: 2 }))).toEqual({ outcome: "duplicate" });
  expect(node.stats.loopsDropped).toBe(1);
  expect(depth("queue://orders")).toBe(1);
});

test("refusals throw a coded error and store nothing: an advisory topic from a client, a priority out of range", async () => {
  const s = new IngestSession(node, client);
  await expect(accept(s, msg({ destination: "topic://ActiveMQ.Advisory.Consumer.Queue.x" }))).rejects.toBeInstanceOf(ForbiddenError);
  await expect(accept(s, msg({ priority: 10 }))).rejects.toBeInstanceOf(InvalidArgumentError);
  expect(node.stats.received).toBe(0);
  // A node's bridge may publish advisories.
  expect(await accept(new IngestSession(node, bridgeFromA), msg({ destination: "topic://ActiveMQ.Advisory.Consumer.Queue.x", producerId: "" }))).toEqual({ outcome: "accepted" });
});

test("the policy hook decides before anything is stored (where per-destination authorization goes)", async () => {
  const seen: string[] = [];
  const policy = {
    checkSend(src: IngestSource, dest: Destination): void {
      DEFAULT_INGEST_POLICY.checkSend(src, dest);
      seen.push(`${src.clientId}->${dest.uri}`);
      if (dest.uri.startsWith("queue://secret.")) throw new ForbiddenError(`user '${src.clientId}' may not write to '${dest.uri}'`);
    },
  };
  const s = new IngestSession(node, client, policy);
  await expect(accept(s, msg({ destination: "queue://secret.keys" }))).rejects.toThrow("user 'app' may not write to 'queue://secret.keys'");
  expect(await accept(s, msg({ destination: "queue://public", producerSeq: 2 }))).toEqual({ outcome: "accepted" });
  expect(seen).toEqual(["app->queue://secret.keys", "app->queue://public"]);
  expect(depth("queue://secret.keys")).toBe(0);
  expect(depth("queue://public")).toBe(1);
});
