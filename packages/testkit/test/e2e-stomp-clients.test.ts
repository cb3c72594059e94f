/**
 * Real STOMP clients against in-process nodes: python3-stomp (STOMP 1.1 and 1.2 over TCP) and
 * @stomp/stompjs (over WebSocket), with the native client on the other side where the mapping is
 * what is tested. Every test names the exact messages that must arrive, and how many times.
 */
import net from "node:net";
import type { BrokerNode } from "@fedmq/broker";
import { waitFor } from "../src";
import { InProcessNodes } from "./helpers/in-process-nodes";
import { waitForBridges, waitForDemand } from "./helpers/node-state";
import { cleanupProcessesAfterAll } from "./helpers/process-cleanup";
import { adminUrlOf } from "./helpers/served-nodes";
import { mergeTraces } from "@fedmq/protocol";
import { runStompPy, startStompPy, stompAddress, type PyCollected, type PyMessage } from "./helpers/stomp-py";
import { connectStompJs, wsUrlOf } from "./helpers/stompjs-ws";

const nodes = InProcessNodes.perTest();
cleanupProcessesAfterAll();

const LISTEN = ["tcp://127.0.0.1:0", "stomp://127.0.0.1:0", "ws://127.0.0.1:0"];

async function stompNode(id: string, extra: Parameters<InProcessNodes["node"]>[2] = {}): Promise<BrokerNode> {
  return nodes.node(id, [], { listen: LISTEN, ...extra });
}

function queueStats(node: BrokerNode, dest: string) {
  return node.destinations().find((d) => d.name === dest && d.kind === "queue");
}

/** Waits until `node` serves no STOMP connection (the clients' DISCONNECT or close has been processed). */
async function noStompConnections(node: BrokerNode): Promise<void> {
  await waitFor(() => node.connectionInfo().every((c) => c.protocol !== "stomp"), { what: `no STOMP connections on ${node.id}` });
}

/** The producer of message ids `<producer>:<seq>` (a STOMP connection's), checking the ids are exactly its `seqs`. */
function producerOf(ids: readonly string[], seqs: readonly number[]): string {
  const producer = ids[0]?.split(":")[0] ?? "";
  expect(producer).toMatch(/^stomp-[0-9a-f-]{36}$/);
  expect(ids).toEqual(seqs.map((seq) => `${producer}:${seq}`));
  return producer;
}

const bodies = (ms: readonly PyMessage[]) => ms.map((m) => m.body);
const ids = (ms: readonly PyMessage[]) => ms.map((m) => m.headers["message-id"]!);

describe.each(["1.2", "1.1"])("python3-stomp, STOMP %s", (version) => {
  const PRODUCE = `
    conn, c = open_conn(ARGS["version"])
    for i in range(1, 4):
        conn.send(ARGS["dest"], "m%d" % i, persistent="true", receipt="r%d" % i)
    for i in range(1, 4):
        c.wait_receipt("r%d" % i)
    close(conn, c)
    out(collected(c))
  `;

  test.each(["auto", "client", "client-individual"])("send with receipts, consume with ack mode %s: each message once", async (mode) => {
    const node = await stompNode("py");
    const addr = stompAddress(node.listenUrls);
    const Q = `queue://py.${mode}`;
    const dest = `/queue/py.${mode}`;
    const produced = await runStompPy<PyCollected>(PRODUCE, { ...addr, version, dest });
    expect(produced.receipts).toEqual(["r1", "r2", "r3", "bye"]);
    // A receipt comes once the node has the message.
    expect(queueStats(node, Q)).toMatchObject({ depth: 3, enqueued: 3 });

    const consumed = await runStompPy<PyCollected & { acked: string[] }>(`
      V = ARGS["version"]
      conn, c = open_conn(V)
      conn.subscribe(ARGS["dest"], "sub-1", ack=ARGS["mode"], receipt="subscribed")
      got = c.wait_messages(3)
      acked = []
      if ARGS["mode"] != "auto":
          # Only the third: in 'client' mode that acknowledges all three, in 'client-individual' that one.
          ack(conn, V, got[2], receipt="acked")
          c.wait_receipt("acked")
          acked.append(got[2].headers["message-id"])
      close(conn, c)
      out(dict(collected(c), acked=acked))
    `, { ...addr, version, dest, mode });
    expect(consumed.errors).toEqual([]);
    expect(bodies(consumed.messages)).toEqual(["m1", "m2", "m3"]);
    const producer = producerOf(ids(consumed.messages), [1, 2, 3]);
    for (const m of consumed.messages) {
      expect(m.headers).toMatchObject({ destination: dest, subscription: "sub-1", persistent: "true", priority: "4", expires: "0", "content-length": "2" });
      expect(m.headers.timestamp).toMatch(/^\d+$/);
      expect(m.headers.redelivered).toBeUndefined();
      // STOMP 1.2 names the delivery in 'ack'; 1.1 acks by message id.
      if (version === "1.2") expect(m.headers.ack).toMatch(/^\d+$/);
      else expect(m.headers.ack).toBeUndefined();
    }
    await noStompConnections(node);
    if (mode !== "client-individual") {
      // auto: acked on delivery; client: the ack of the third was cumulative.
      expect(queueStats(node, Q)).toMatchObject({ depth: 0, dequeued: 3, redelivered: 0 });
      return;
    }
    // client-individual: the first two were not acked, so they came back when the connection closed.
    expect(consumed.acked).toEqual([`${producer}:3`]);
    expect(queueStats(node, Q)).toMatchObject({ depth: 2, dequeued: 1, redelivered: 2 });
    const again = await runStompPy<PyCollected>(`
      conn, c = open_conn(ARGS["version"])
      conn.subscribe(ARGS["dest"], "sub-2", ack="auto")
      c.wait_messages(2)
      close(conn, c)
      out(collected(c))
    `, { ...addr, version, dest });
    expect(bodies(again.messages)).toEqual(["m1", "m2"]);
    expect(ids(again.messages)).toEqual([`${producer}:1`, `${producer}:2`]);
    for (const m of again.messages) expect(m.headers).toMatchObject({ redelivered: "true", "activemq.redeliveryCounter": "1" });
    await noStompConnections(node);
    expect(queueStats(node, Q)).toMatchObject({ depth: 0, dequeued: 3 });
  });
});

describe.each(["1.2", "1.1"])("python3-stomp NACK, STOMP %s", (version) => {
  test("NACK redelivers with redelivered and activemq.redeliveryCounter; past maxRedeliveries the message is on the DLQ", async () => {
    const node = await stompNode("nack", { maxRedeliveries: 2 });
    const addr = stompAddress(node.listenUrls);
    const r = await runStompPy<{ deliveries: PyMessage[]; marker: PyMessage; dlq: PyCollected }>(`
      V = ARGS["version"]
      conn, c = open_conn(V)
      conn.subscribe("/queue/nack.q", "sub-1", ack="client-individual", receipt="subscribed")
      c.wait_receipt("subscribed")
      conn.send("/queue/nack.q", "poison", receipt="sent")
      # The first delivery and two redeliveries (maxRedeliveries 2), each refused.
      for n in range(1, 4):
          m = c.wait_messages(n)[n - 1]
          nack(conn, V, m, receipt="nack%d" % n)
          c.wait_receipt("nack%d" % n)
      # Then the DLQ has it, and the queue does not: a marker sent after it is the next delivery.
      d, dc = open_conn(V)
      d.subscribe("/queue/DLQ.nack.q", "dlq", ack="auto")
      dc.wait_messages(1)
      conn.send("/queue/nack.q", "marker", receipt="marker")
      marker = c.wait_messages(4)[3]
      ack(conn, V, marker, receipt="marker-acked")
      c.wait_receipt("marker-acked")
      close(d, dc)
      close(conn, c)
      out({"deliveries": [frame_json(m) for m in c.messages[:3]], "marker": frame_json(marker), "dlq": collected(dc)})
    `, { ...addr, version });
    expect(bodies(r.deliveries)).toEqual(["poison", "poison", "poison"]);
    const id = r.deliveries[0]!.headers["message-id"]!;
    producerOf([id], [1]);
    expect(r.deliveries.map((m) => m.headers["message-id"])).toEqual([id, id, id]);
    expect(r.deliveries.map((m) => [m.headers.redelivered, m.headers["activemq.redeliveryCounter"]])).toEqual([
      [undefined, undefined], ["true", "1"], ["true", "2"],
    ]);
    expect(r.marker.body).toBe("marker");
    expect(r.dlq.messages).toHaveLength(1);
    const dead = r.dlq.messages[0]!;
    expect(dead.body).toBe("poison");
    expect(dead.headers).toMatchObject({ "message-id": id, subscription: "dlq", "fedmq.dlq.from": "queue://nack.q" });
    expect(dead.headers["fedmq.dlq.reason"]).toContain("maxRedeliveries");
    await noStompConnections(node);
    expect(queueStats(node, "queue://nack.q")).toMatchObject({ depth: 0, enqueued: 2, dequeued: 1, redelivered: 3, deadLettered: 1 });
    expect(queueStats(node, "queue://DLQ.nack.q")).toMatchObject({ depth: 0, enqueued: 1, dequeued: 1 });
  });

  test("NACK in ack mode 'client' is cumulative: the 3rd of 3 refuses all 3, which come back in their order", async () => {
    const node = await stompNode("nack-client");
    const addr = stompAddress(node.listenUrls);
    const r = await runStompPy<PyCollected>(`
      V = ARGS["version"]
      conn, c = open_conn(V)
      for i in range(1, 4):
          conn.send("/queue/nackc.q", "n%d" % i, receipt="s%d" % i)
      c.wait_receipt("s3")
      conn.subscribe("/queue/nackc.q", "sub-1", ack="client")
      got = c.wait_messages(3)
      nack(conn, V, got[2], receipt="refused")
      c.wait_receipt("refused")
      again = c.wait_messages(6)[3:]
      ack(conn, V, again[2], receipt="acked")
      c.wait_receipt("acked")
      close(conn, c)
      out(collected(c))
    `, { ...addr, version });
    expect(r.errors).toEqual([]);
    expect(bodies(r.messages)).toEqual(["n1", "n2", "n3", "n1", "n2", "n3"]);
    const producer = producerOf(ids(r.messages).slice(0, 3), [1, 2, 3]);
    expect(ids(r.messages).slice(3)).toEqual([1, 2, 3].map((s) => `${producer}:${s}`));
    expect(r.messages.map((m) => [m.headers.redelivered ?? "-", m.headers["activemq.redeliveryCounter"] ?? "-"])).toEqual([
      ["-", "-"], ["-", "-"], ["-", "-"], ["true", "1"], ["true", "1"], ["true", "1"],
    ]);
    await noStompConnections(node);
    expect(queueStats(node, "queue://nackc.q")).toMatchObject({ depth: 0, enqueued: 3, dequeued: 3, redelivered: 3 });
  });
});

describe("python3-stomp transactions, STOMP 1.2", () => {
  test("SENDs in a committed transaction arrive, exactly 3; those of an aborted one never do", async () => {
    const node = await stompNode("tx");
    const addr = stompAddress(node.listenUrls);
    const r = await runStompPy<PyCollected & { arrivedBeforeCommit: string[] }>(`
      cons, c = open_conn()
      cons.subscribe("/queue/tx.q", "sub-1", ack="auto", receipt="subscribed")
      c.wait_receipt("subscribed")
      prod, p = open_conn()
      prod.begin("tx-1", receipt="begun-1")
      for i in range(1, 4):
          prod.send("/queue/tx.q", "t%d" % i, transaction="tx-1", receipt="t%d" % i)
      p.wait_receipt("t3")
      # Not yet committed: a marker sent outside the transaction arrives, alone.
      prod.send("/queue/tx.q", "before-commit", receipt="m0")
      c.wait_messages(1)
      before = [m.body.decode() for m in c.messages]
      prod.commit("tx-1", receipt="committed")
      p.wait_receipt("committed")
      c.wait_messages(4)
      prod.begin("tx-2")
      for i in range(1, 3):
          prod.send("/queue/tx.q", "aborted%d" % i, transaction="tx-2")
      prod.abort("tx-2", receipt="aborted")
      p.wait_receipt("aborted")
      # Sent after the aborted ones: if they had been kept, they would arrive before it.
      prod.send("/queue/tx.q", "after-abort", receipt="m1")
      c.wait_messages(5)
      close(prod, p)
      close(cons, c)
      out(dict(collected(c), arrivedBeforeCommit=before))
    `, addr);
    expect(r.arrivedBeforeCommit).toEqual(["before-commit"]);
    expect(bodies(r.messages)).toEqual(["before-commit", "t1", "t2", "t3", "after-abort"]);
    // One producer: the aborted sends took sequence numbers but were never stored.
    const seqs = ids(r.messages).map((id) => Number(id.split(":")[1]));
    expect(seqs).toEqual([4, 1, 2, 3, 7]);
    await noStompConnections(node);
    expect(queueStats(node, "queue://tx.q")).toMatchObject({ depth: 0, enqueued: 5, dequeued: 5 });
  });

  test("an ACK in a transaction counts only at COMMIT: after ABORT the message is still unacked and goes to the next consumer", async () => {
    const node = await stompNode("txack");
    const addr = stompAddress(node.listenUrls);
    const r = await runStompPy<{ first: PyMessage[]; second: PyMessage[] }>(`
      prod, p = open_conn()
      prod.send("/queue/txack.q", "aborted-ack", receipt="s1")
      prod.send("/queue/txack.q", "committed-ack", receipt="s2")
      p.wait_receipt("s2")
      a, ac = open_conn()
      a.subscribe("/queue/txack.q", "sub-a", ack="client-individual")
      first = ac.wait_messages(2)
      a.begin("tx-abort")
      a.ack(first[0].headers["ack"], transaction="tx-abort")
      a.abort("tx-abort", receipt="aborted")
      ac.wait_receipt("aborted")
      a.begin("tx-commit")
      a.ack(first[1].headers["ack"], transaction="tx-commit")
      a.commit("tx-commit", receipt="committed")
      ac.wait_receipt("committed")
      b, bc = open_conn()
      b.subscribe("/queue/txack.q", "sub-b", ack="client-individual", receipt="subscribed")
      bc.wait_receipt("subscribed")
      close(a, ac)
      second = bc.wait_messages(1)
      ack(b, "1.2", second[0], receipt="acked")
      bc.wait_receipt("acked")
      close(b, bc)
      close(prod, p)
      out({"first": [frame_json(m) for m in first], "second": [frame_json(m) for m in bc.messages]})
    `, addr);
    expect(bodies(r.first)).toEqual(["aborted-ack", "committed-ack"]);
    expect(bodies(r.second)).toEqual(["aborted-ack"]);
    expect(r.second[0]!.headers).toMatchObject({ "message-id": r.first[0]!.headers["message-id"], redelivered: "true", "activemq.redeliveryCounter": "1" });
    await noStompConnections(node);
    expect(queueStats(node, "queue://txack.q")).toMatchObject({ depth: 0, enqueued: 2, dequeued: 2, redelivered: 1 });
  });
});

test("python3-stomp: receipts for SUBSCRIBE, UNSUBSCRIBE and DISCONNECT, each when it took effect", async () => {
  const node = await stompNode("receipts");
  const addr = stompAddress(node.listenUrls);
  const r = await runStompPy<{ before: string[]; after: PyCollected; other: string[]; connected: boolean }>(`
    conn, c = open_conn()
    prod, p = open_conn()
    conn.subscribe("/queue/r.q", "sub-1", ack="auto", receipt="subscribe-1")
    c.wait_receipt("subscribe-1")
    prod.send("/queue/r.q", "while-subscribed", receipt="s1")
    c.wait_messages(1)
    conn.unsubscribe("sub-1", receipt="unsubscribe-1")
    c.wait_receipt("unsubscribe-1")
    prod.send("/queue/r.q", "after-unsubscribe", receipt="s2")
    p.wait_receipt("s2")
    # Another subscription gets it: the first one is gone.
    other, oc = open_conn()
    other.subscribe("/queue/r.q", "sub-2", ack="auto")
    oc.wait_messages(1)
    conn.disconnect(receipt="disconnect-1")
    c.wait_receipt("disconnect-1")
    c.wait(lambda: c.disconnected, "the socket closed after DISCONNECT")
    close(other, oc)
    close(prod, p)
    out({"before": [m.body.decode() for m in c.messages], "after": collected(c), "other": [m.body.decode() for m in oc.messages], "connected": conn.is_connected()})
  `, addr);
  expect(r.after.receipts).toEqual(["subscribe-1", "unsubscribe-1", "disconnect-1"]);
  expect(r.after.errors).toEqual([]);
  expect(r.before).toEqual(["while-subscribed"]);
  expect(r.other).toEqual(["after-unsubscribe"]);
  expect(r.connected).toBe(false);
  await noStompConnections(node);
  expect(queueStats(node, "queue://r.q")).toMatchObject({ depth: 0, enqueued: 2, dequeued: 2 });
});

/** A raw STOMP client on a net.Socket: everything it received, and whether the node closed it. */
async function rawStompClient(addr: { host: string; port: number }, connectFrame: string): Promise<{ socket: net.Socket; frames: () => string[]; closed: () => boolean }> {
  const socket = net.connect(addr.port, addr.host);
  const chunks: Buffer[] = [];
  let closed = false;
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(connectFrame);
  // Frames end with NUL; a lone LF between them is a heart-beat.
  const frames = () => Buffer.concat(chunks).toString("utf8").split("\0").map((f) => f.replace(/^\n+/, "")).filter((f) => f !== "");
  return { socket, frames, closed: () => closed };
}

test("a client silent past its heart-beat is dropped with an ERROR naming the heart-beat; one that beats stays", async () => {
  // Grace of one interval: the negotiated interval is max(200, the node's 1000) ms.
  const node = await stompNode("hb", { heartbeatGraceIntervals: 1 });
  const addr = stompAddress(node.listenUrls);
  const CONNECT = "CONNECT\naccept-version:1.2\nhost:hb\nheart-beat:200,0\n\n\0";
  const silent = await rawStompClient(addr, CONNECT);
  const beating = await rawStompClient(addr, CONNECT);
  const beat = setInterval(() => beating.socket.write("\n"), 200);
  try {
    await waitFor(() => silent.frames().length === 1 && beating.frames().length === 1, { what: "CONNECTED on both" });
    for (const c of [silent, beating]) expect(c.frames()[0]).toMatch(/^CONNECTED\n(.*\n)*heart-beat:1000,1000\n/);
    expect(node.info().connections).toBe(2);
    await waitFor(() => silent.closed(), { what: "the node closing the silent client's socket" });
    const frames = silent.frames();
    expect(frames).toHaveLength(2);
    expect(frames[1]).toMatch(/^ERROR\n/);
    expect(frames[1]).toMatch(/\nmessage:[^\n]*heart-beat/);
    await waitFor(() => node.info().connections === 1, { what: "one connection left" });
    expect(beating.closed()).toBe(false);
    expect(beating.frames()).toHaveLength(1);
    clearInterval(beat);
    beating.socket.write("DISCONNECT\nreceipt:bye\n\n\0");
    await waitFor(() => beating.closed(), { what: "the beating client closed after DISCONNECT" });
    expect(beating.frames()).toEqual([expect.stringMatching(/^CONNECTED\n/), "RECEIPT\nreceipt-id:bye\n\n"]);
    await noStompConnections(node);
  } finally {
    clearInterval(beat);
    silent.socket.destroy();
    beating.socket.destroy();
  }
});

describe.each(["1.2", "1.1"])("python3-stomp durable topic subscription, STOMP %s", (version) => {
  test("offline, then online with the same client-id and subscriptionName: exactly the messages sent meanwhile", async () => {
    const node = await stompNode("durable");
    const addr = stompAddress(node.listenUrls);
    const producer = await nodes.client(node);
    const durableRow = () => node.destinations().find((d) => d.kind === "durable-subscription");
    // Before the subscription exists: nobody keeps it.
    await producer.send("topic://t", "before", { persistent: true });
    const first = await runStompPy<PyCollected>(`
      conn, c = open_conn(ARGS["version"], **{"client-id": "X"})
      conn.subscribe("/topic/t", "d1", ack="client-individual", receipt="subscribed", **{"activemq.subscriptionName": "sub-t"})
      c.wait_receipt("subscribed")
      close(conn, c)
      out(collected(c))
    `, { ...addr, version });
    expect(first.messages).toEqual([]);
    await noStompConnections(node);
    expect(durableRow()).toMatchObject({ depth: 0, consumers: 0 });
    const offline: string[] = [];
    for (let i = 1; i <= 3; i++) offline.push((await producer.send("topic://t", `offline-${i}`, { persistent: true })).id);
    await waitFor(() => durableRow()?.depth === 3, { what: "3 messages kept for the offline durable subscription" });

    const second = await runStompPy<PyCollected>(`
      V = ARGS["version"]
      conn, c = open_conn(V, **{"client-id": "X"})
      conn.subscribe("/topic/t", "d1", ack="client-individual", **{"activemq.subscriptionName": "sub-t"})
      got = c.wait_messages(3)
      for m in got:
          ack(conn, V, m)
      # Sent after them: when it arrives, anything else would have arrived before it.
      conn.send("/topic/t", "online", receipt="sent")
      marker = c.wait_messages(4)[3]
      ack(conn, V, marker, receipt="acked")
      c.wait_receipt("acked")
      # UNSUBSCRIBE naming the durable subscription removes it.
      conn.unsubscribe("d1", receipt="removed", **{"activemq.subscriptionName": "sub-t"})
      c.wait_receipt("removed")
      close(conn, c)
      out(collected(c))
    `, { ...addr, version });
    expect(second.errors).toEqual([]);
    expect(bodies(second.messages)).toEqual(["offline-1", "offline-2", "offline-3", "online"]);
    expect(ids(second.messages).slice(0, 3)).toEqual(offline);
    for (const m of second.messages) expect(m.headers).toMatchObject({ destination: "/topic/t", subscription: "d1" });
    await noStompConnections(node);
    expect(durableRow()).toBeUndefined();
  });
});

describe.each(["1.2", "1.1"])("across a bridge A → B, STOMP %s", (version) => {
  /** Bytes 0..255: every byte value, NUL included (a STOMP body that needs its content-length). */
  const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  /** A header value with what STOMP escapes (':', '\\', LF; CR in 1.2, sent as it is in 1.1) and non-ASCII text. */
  const TRICKY = "a:b\\c\nd\re é ✓";
  const APP_HEADERS = { "correlation-id": "corr-42", "reply-to": "/queue/replies", type: "order.created", "x-app": TRICKY };

  async function bridged(): Promise<{ a: BrokerNode; b: BrokerNode }> {
    const b = await stompNode("B");
    const a = await nodes.node("A", [{ name: "a-b", remote: [b.url] }], { listen: LISTEN });
    await waitForBridges([a], "bridge a-b active");
    return { a, b };
  }

  test("a STOMP consumer on B pulls from a STOMP producer on A over the bridge, each message once", async () => {
    const { a, b } = await bridged();
    const consumer = await startStompPy<PyCollected>(`
      conn, c = open_conn(ARGS["version"])
      conn.subscribe("/queue/x.pull", "sub-b", ack="client-individual", receipt="subscribed")
      c.wait_receipt("subscribed")
      event("subscribed")
      for m in c.wait_messages(5):
          ack(conn, ARGS["version"], m)
      close(conn, c)
      out(collected(c))
    `, { ...stompAddress(b.listenUrls), version });
    await consumer.event("subscribed");
    // The STOMP subscription is demand like any other: it reached A.
    await waitForDemand(a, "queue://x.pull");
    const produced = await runStompPy<PyCollected>(`
      conn, c = open_conn(ARGS["version"])
      for i in range(1, 6):
          conn.send("/queue/x.pull", "p%d" % i, persistent="true", receipt="r%d" % i)
      c.wait_receipt("r5")
      close(conn, c)
      out(collected(c))
    `, { ...stompAddress(a.listenUrls), version });
    expect(produced.receipts).toEqual(["r1", "r2", "r3", "r4", "r5", "bye"]);
    const got = await consumer.result();
    expect(bodies(got.messages)).toEqual(["p1", "p2", "p3", "p4", "p5"]);
    producerOf(ids(got.messages), [1, 2, 3, 4, 5]);
    await noStompConnections(b);
    // Once each: A forwarded 5, B stored 5 and handed out 5, none twice, none left.
    expect(a.bridgeInfo()[0]!.out.forwarded).toBe(5);
    expect(queueStats(a, "queue://x.pull")).toMatchObject({ depth: 0, enqueued: 5, dequeued: 5 });
    expect(queueStats(b, "queue://x.pull")).toMatchObject({ depth: 0, enqueued: 5, dequeued: 5, redelivered: 0 });
    // The MESSAGE's message-id is the id 'fedmq trace' takes: both nodes' route traces follow it.
    const id = got.messages[0]!.headers["message-id"]!;
    const traced = mergeTraces([{ node: "A", events: a.trace.lookup(id) }, { node: "B", events: b.trace.lookup(id) }]);
    const on = (n: string) => traced.filter((e) => e.node === n).map((e) => e.kind);
    expect(on("A")).toEqual(["received", "stored", "forwarded", "forward-acked"]);
    expect(on("B")).toEqual(["received", "stored", "delivered", "acked"]);
    expect(traced[0]).toMatchObject({ node: "A", kind: "received", source: "client", destination: "queue://x.pull" });
  });

  test("native producer on A → STOMP consumer on B: body and headers byte for byte", async () => {
    const { a, b } = await bridged();
    const consumer = await startStompPy<PyCollected>(`
      conn, c = open_conn(ARGS["version"])
      conn.subscribe("/queue/x.bin", "sub-b", ack="auto", receipt="subscribed")
      c.wait_receipt("subscribed")
      event("subscribed")
      c.wait_messages(1)
      close(conn, c)
      out(collected(c))
    `, { ...stompAddress(b.listenUrls), version });
    await consumer.event("subscribed");
    await waitForDemand(a, "queue://x.bin");
    const before = Date.now();
    const sent = await (await nodes.client(a)).send("queue://x.bin", BINARY, { priority: 6, headers: APP_HEADERS });
    const got = await consumer.result();
    expect(got.messages).toHaveLength(1);
    const m = got.messages[0]!;
    expect(Buffer.from(m.bodyHex, "hex")).toEqual(BINARY);
    // STOMP 1.2 names the delivery in 'ack'; 1.1 acks by message id.
    const ack = version === "1.2" ? { ack: expect.stringMatching(/^\d+$/) } : {};
    expect(m.headers).toEqual({
      destination: "/queue/x.bin", "message-id": sent.id, subscription: "sub-b", ...ack,
      persistent: "true", priority: "6", expires: "0", timestamp: expect.stringMatching(/^\d+$/), ...APP_HEADERS, "content-length": "256",
    });
    expect(Number(m.headers.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Number(m.headers.timestamp)).toBeLessThanOrEqual(Date.now());
  });

  test("STOMP producer on A → native consumer on B: body, headers and message fields byte for byte", async () => {
    const { a, b } = await bridged();
    const got = await nodes.collect(b, "queue://y.bin");
    await waitForDemand(a, "queue://y.bin");
    const expires = Date.now() + 600_000;
    const produced = await runStompPy<PyCollected>(`
      conn, c = open_conn(ARGS["version"])
      conn.send("/queue/y.bin", bytes(range(256)), content_type="application/octet-stream", receipt="sent",
                persistent="true", priority="7", expires=str(ARGS["expires"]), headers=ARGS["headers"])
      c.wait_receipt("sent")
      close(conn, c)
      out(collected(c))
    `, { ...stompAddress(a.listenUrls), version, expires, headers: APP_HEADERS });
    expect(produced.errors).toEqual([]);
    await waitFor(() => got.length === 1, { what: "the message on B" });
    const d = got[0]!;
    producerOf([d.id], [1]);
    expect(d.body).toEqual(BINARY);
    // persistent, priority and expires became message fields; content-length framed the body; the rest is kept as sent.
    expect(d.headers).toEqual({ ...APP_HEADERS, "content-type": "application/octet-stream" });
    expect({ destination: d.destination, persistent: d.persistent, priority: d.priority, expiration: d.expiration, brokerPath: d.brokerPath })
      .toEqual({ destination: "queue://y.bin", persistent: true, priority: 7, expiration: expires, brokerPath: ["A"] });
    expect(queueStats(b, "queue://y.bin")).toMatchObject({ enqueued: 1 });
  });
});

test("stompjs over WebSocket: subscribe client-individual, publish with receipts, receive, ack, disconnect", async () => {
  const node = await stompNode("js");
  const session = await connectStompJs(wsUrlOf(node.listenUrls), { "client-id": "js-1" });
  try {
    expect(session.client.connectedVersion).toBe("1.2");
    const subscribed = session.receipt("sub-r");
    const received = session.subscribe("/queue/js.q", { id: "js-sub", ack: "client-individual", receipt: "sub-r" });
    await subscribed;
    for (let i = 1; i <= 3; i++) {
      const receipt = session.receipt(`pub-${i}`);
      session.client.publish({ destination: "/queue/js.q", body: `js-${i}`, headers: { receipt: `pub-${i}`, "x-seq": String(i), "x-note": `k:${i}\nnext é` } });
      await receipt;
    }
    await waitFor(() => received.length === 3, { what: "3 messages to stompjs" });
    expect(received.map((m) => m.body)).toEqual(["js-1", "js-2", "js-3"]);
    producerOf(received.map((m) => m.headers["message-id"]!), [1, 2, 3]);
    // Escaped header values come back as sent (stompjs 7 unescapes '\\' followed by 'c', 'n' or 'r'
    // wrongly, so no backslash here: the python suites cover that).
    expect(received.map((m) => [m.headers.destination, m.headers.subscription, m.headers["x-seq"], m.headers["x-note"]])).toEqual(
      [1, 2, 3].map((i) => ["/queue/js.q", "js-sub", String(i), `k:${i}\nnext é`]),
    );
    expect(queueStats(node, "queue://js.q")).toMatchObject({ depth: 3, inflight: 3 });
    for (const [i, m] of received.entries()) {
      const acked = session.receipt(`ack-${i}`);
      m.ack({ receipt: `ack-${i}` });
      await acked;
    }
    expect(queueStats(node, "queue://js.q")).toMatchObject({ depth: 0, dequeued: 3 });
    expect(session.errors).toEqual([]);
  } finally {
    await session.close();
  }
  await noStompConnections(node);
  // Every ack counted: nothing came back when the connection closed.
  expect(queueStats(node, "queue://js.q")).toMatchObject({ depth: 0, enqueued: 3, dequeued: 3, redelivered: 0 });
});

test("the admin endpoint lists a STOMP connection with protocol 'stomp', and its consumer like a native one", async () => {
  const node = await stompNode("adm", { admin: "http://127.0.0.1:0" });
  type Conn = { id: string; protocol: string; clientId: string };
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${adminUrlOf(node)}${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };
  const connections = async () => (await get<{ node: string; connections: Conn[] }>("/api/v1/connections")).connections;
  const consumers = async () => (await get<{ consumers: Array<{ consumerId: string }> }>(`/api/v1/consumers?destination=${encodeURIComponent("queue://adm.q")}`)).consumers;
  const consumerView = (consumerId: unknown) => ({
    consumerId, destination: "queue://adm.q", scope: "local", origin: "adm", via: null, path: [], hops: 0, priority: 0, since: expect.any(Number),
  });
  const session = await connectStompJs(wsUrlOf(node.listenUrls), { "client-id": "stomp-probe" });
  let nativeConn: Conn;
  try {
    const subscribed = session.receipt("sub-r");
    session.subscribe("/queue/adm.q", { id: "s-1", ack: "client-individual", receipt: "sub-r" });
    await subscribed;
    const native = await nodes.client(node, { clientId: "native-probe" });
    await native.subscribe("queue://adm.q");
    const listed = await connections();
    expect(listed).toHaveLength(2);
    const stompConn = listed.find((c) => c.protocol === "stomp")!;
    nativeConn = listed.find((c) => c.protocol === "native")!;
    const shape = { remoteAddress: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1:\d+$/), role: "client", open: true, since: expect.any(Number), subscriptions: 1 };
    expect(stompConn).toEqual({ id: expect.stringMatching(/^s\d+$/), protocol: "stomp", clientId: "stomp-probe", ...shape });
    expect(nativeConn).toEqual({ id: expect.any(String), protocol: "native", clientId: "native-probe", ...shape });
    // The STOMP subscription is the connection's first: `<node>:<connection>:1`, as a native consumer's id is built.
    expect(await consumers()).toEqual(expect.arrayContaining([
      consumerView(`adm:${stompConn.id}:1`), consumerView(expect.stringMatching(new RegExp(`^adm:${nativeConn.id}:\\d+$`))),
    ]));
    expect(await consumers()).toHaveLength(2);
  } finally {
    await session.close();
  }
  await noStompConnections(node);
  // Gone from both lists with its connection; the native one stays.
  expect(await connections()).toEqual([expect.objectContaining({ id: nativeConn.id, protocol: "native" })]);
  expect(await consumers()).toEqual([consumerView(expect.stringMatching(new RegExp(`^adm:${nativeConn.id}:\\d+$`)))]);
});
