"use strict";
/**
 * An emulated WAN of fedmq nodes in one process (issue 17 item 6), shared by the bench
 * (scripts/bench/wan.js, which loads the packages' dist) and the e2e test
 * (packages/testkit/test/e2e-wan.test.ts, where jest maps @fedmq/* to the packages' src).
 *
 * `regions` regions of `nodesPerRegion` nodes each (`r<r>n<i>`, site `r<r>`; `r<r>n0` is the
 * region's gateway). Inside a region a full mesh of links, between regions a full mesh of the
 * gateways. Every link is two one-way connectors (`to-<remote>`), each dialling its remote
 * through a testkit link proxy: ~`intraLatencyMs` one way inside a region; between regions a
 * one-way latency drawn per pair from `interLatencyMs` by a seeded PRNG (deterministic per
 * seed), `bandwidth` bytes/s per direction and `jitterPct` % of the latency as jitter.
 * `messageTTL` = `consumerTTL` = `networkTTL` (default 5: three region hops plus an intra-region
 * hop at each end). Mode `advisory`: demand crosses the links hop by hop in advisories. Mode
 * `nats`: the same links, plus discovery on a nats-server the harness starts — each node's NATS
 * connection goes through a proxy of its own, shaped like the path from its region to the NATS
 * server's region (`natsRegion`), so the control plane crosses the WAN too and its bytes can be
 * counted.
 */
const { performance } = require("node:perf_hooks");
const { serveNode } = require("@fedmq/cli");
const { connect } = require("@fedmq/client");
const { createLinkProxy, prng, reservePorts, startNats, waitFor } = require("@fedmq/testkit");

/** @type {Readonly<import("./wan-network").WanOptions>} */
const DEFAULT_WAN_OPTIONS = Object.freeze({
  regions: 5,
  nodesPerRegion: 4,
  mode: "advisory",
  seed: 1,
  intraLatencyMs: 0.5,
  interLatencyMs: Object.freeze([30, 125]),
  bandwidth: 10_000_000,
  jitterPct: 5,
  networkTTL: 5,
  leaseMs: 15_000,
  natsRegion: 0,
  initialReconnectDelay: 50,
  maxReconnectDelay: 1_000,
  heartbeatMs: 2_000,
  replayDelayMs: 200,
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pairKey = (a, b) => (a < b ? `${a}|${b}` : `${b}|${a}`);

function checkOptions(o) {
  for (const k of ["regions", "nodesPerRegion", "networkTTL", "leaseMs"]) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new Error(`wan network: option '${k}' must be a whole number >= 1, got '${o[k]}'`);
  }
  if (!["advisory", "nats"].includes(o.mode)) throw new Error(`wan network: option 'mode' must be 'advisory' or 'nats', got '${o.mode}'`);
  const [lo, hi] = o.interLatencyMs;
  if (!(lo >= 0 && hi >= lo)) throw new Error(`wan network: option 'interLatencyMs' must be [min, max] with 0 <= min <= max, got [${lo}, ${hi}]`);
  if (!(o.natsRegion >= 0 && o.natsRegion < o.regions)) throw new Error(`wan network: option 'natsRegion' ${o.natsRegion} is not one of the ${o.regions} regions`);
}

class WanNetwork {
  constructor(opts) {
    this.opts = opts;
    /** @type {import("./wan-network").WanNode[]} */
    this.nodes = [];
    /** @type {import("./wan-network").WanLink[]} */
    this.links = [];
    this.nats = undefined;
    /** NATS proxy of each node (mode nats). */
    this.natsProxies = new Map();
    this.conns = [];
    this.latency = new Map();
  }

  /** Starts nats-server (mode nats), the proxies and the nodes; resolves once `settle()` does. */
  static async start(options = {}) {
    const o = Object.freeze({ ...DEFAULT_WAN_OPTIONS, ...options });
    checkOptions(o);
    const net = new WanNetwork(o);
    try {
      await net.build();
      await net.settle();
    } catch (err) {
      await net.close();
      throw err;
    }
    return net;
  }

  async build() {
    const o = this.opts;
    const rnd = prng(o.seed);
    for (let r = 0; r < o.regions; r++) {
      for (let i = 0; i < o.nodesPerRegion; i++) this.nodes.push({ name: `r${r}n${i}`, region: r, gateway: i === 0, served: undefined });
    }
    const [lo, hi] = o.interLatencyMs;
    for (let r = 0; r < o.regions; r++) {
      for (let s = r + 1; s < o.regions; s++) this.latency.set(`${r}|${s}`, Math.round(lo + rnd() * (hi - lo)));
    }
    for (let r = 0; r < o.regions; r++) {
      const inRegion = this.nodes.filter((n) => n.region === r);
      for (let i = 0; i < inRegion.length; i++) {
        for (let j = i + 1; j < inRegion.length; j++) this.links.push(this.shape(inRegion[i].name, inRegion[j].name, "intra", o.intraLatencyMs));
      }
    }
    for (let r = 0; r < o.regions; r++) {
      for (let s = r + 1; s < o.regions; s++) this.links.push(this.shape(this.gateway(r), this.gateway(s), "inter", this.regionLatency(r, s)));
    }
    const ports = await reservePorts(this.nodes.length * (o.mode === "nats" ? 2 : 1) + this.links.length * 2);
    const portOf = new Map(this.nodes.map((n, i) => [n.name, ports[i]]));
    let next = this.nodes.length;
    for (const l of this.links) {
      for (const [from, to] of [[l.a, l.b], [l.b, l.a]]) {
        const p = await createLinkProxy({ target: { host: "127.0.0.1", port: portOf.get(to) }, port: ports[next++], bufferBytes: l.bufferBytes });
        p.setLatency(l.latencyMs, l.jitterMs);
        if (l.bandwidth !== null) p.setBandwidth(l.bandwidth);
        l.proxies[`${from}>${to}`] = p;
      }
    }
    let spec;
    if (o.mode === "nats") {
      this.nats = await startNats({ jetstream: true });
      for (const n of this.nodes) {
        const path = this.natsPath(n.region);
        const p = await createLinkProxy({ target: { host: "127.0.0.1", port: this.nats.port }, port: ports[next++], bufferBytes: path.bufferBytes });
        p.setLatency(path.latencyMs, path.jitterMs);
        if (path.bandwidth !== null) p.setBandwidth(path.bandwidth);
        this.natsProxies.set(n.name, p);
      }
      spec = { bucket: "wan", leaseMs: o.leaseMs };
    }
    await Promise.all(this.nodes.map(async (n) => {
      const connectors = this.links.flatMap((l) => Object.entries(l.proxies)).filter(([k]) => k.startsWith(`${n.name}>`)).map(([k, p]) => ({
        name: `to-${k.slice(k.indexOf(">") + 1)}`, remote: [p.url], messageTTL: o.networkTTL, consumerTTL: o.networkTTL,
        initialReconnectDelay: o.initialReconnectDelay, maxReconnectDelay: o.maxReconnectDelay, heartbeatMs: o.heartbeatMs,
      }));
      n.served = await serveNode({
        id: n.name, site: `r${n.region}`, listen: [`tcp://127.0.0.1:${portOf.get(n.name)}`], store: "memory", replayDelayMs: o.replayDelayMs, connectors,
        ...(spec === undefined ? {} : { discovery: { spec: { ...spec, servers: [`nats://127.0.0.1:${this.natsProxies.get(n.name).port}`] }, connectors: [] } }),
      });
    }));
  }

  /** A link's shaping: latency, jitter, bandwidth (null: none inside a region) and the proxy buffer that holds its bandwidth-delay product twice over. */
  shape(a, b, kind, latencyMs) {
    const o = this.opts;
    const jitterMs = kind === "inter" ? Math.max(1, Math.round((latencyMs * o.jitterPct) / 100)) : 0;
    const bandwidth = kind === "inter" ? o.bandwidth : null;
    const bdp = bandwidth === null ? 0 : Math.ceil((bandwidth * (latencyMs + jitterMs)) / 1000);
    return { a, b, kind, latencyMs, jitterMs, bandwidth, bufferBytes: Math.max(1024 * 1024, 2 * bdp + 256 * 1024), proxies: {}, cut: false };
  }

  /** The shaping of the path from region `r` to the NATS server. */
  natsPath(r) {
    const o = this.opts;
    return r === o.natsRegion ? this.shape("", "", "intra", o.intraLatencyMs) : this.shape("", "", "inter", this.regionLatency(r, o.natsRegion));
  }

  /** The gateway node of region `r`. */
  gateway(r) {
    return `r${r}n0`;
  }

  /** One-way latency between the gateways of regions `r` and `s`, ms (intra-region latency when r = s). */
  regionLatency(r, s) {
    if (r === s) return this.opts.intraLatencyMs;
    return this.latency.get(r < s ? `${r}|${s}` : `${s}|${r}`);
  }

  /** The pair of regions with the longest one-way latency (the bottleneck link's ends), lower first. */
  farthestRegions() {
    let best = [0, 1];
    for (const [k, v] of this.latency) if (v > this.regionLatency(best[0], best[1])) best = k.split("|").map(Number);
    return best;
  }

  node(name) {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined || n.served === undefined) throw new Error(`wan network: no node '${name}'`);
    return n.served.node;
  }

  served(name) {
    const n = this.nodes.find((x) => x.name === name);
    if (n === undefined || n.served === undefined) throw new Error(`wan network: no node '${name}'`);
    return n.served;
  }

  /** Nodes of region `r` (gateway first). */
  regionNodes(r) {
    return this.nodes.filter((n) => n.region === r).map((n) => n.name);
  }

  link(a, b) {
    const l = this.links.find((x) => pairKey(x.a, x.b) === pairKey(a, b));
    if (l === undefined) throw new Error(`wan network: no link ${a}-${b}`);
    return l;
  }

  /** Cuts both directions of link a-b (open connections reset, new ones refused until healed). */
  async cutLink(a, b) {
    const l = this.link(a, b);
    l.cut = true;
    for (const p of Object.values(l.proxies)) await p.cut();
  }

  async healLink(a, b) {
    const l = this.link(a, b);
    for (const p of Object.values(l.proxies)) await p.heal();
    l.cut = false;
  }

  /**
   * Keeps only the inter-region links between the listed pairs of regions up (null: all of them):
   * the others are cut, these healed; resolves once `settle()` does.
   */
  async useRegionLinks(pairs) {
    const keep = pairs === null ? null : new Set(pairs.map(([r, s]) => pairKey(this.gateway(r), this.gateway(s))));
    for (const l of this.links.filter((x) => x.kind === "inter")) {
      const up = keep === null || keep.has(pairKey(l.a, l.b));
      if (up && l.cut) await this.healLink(l.a, l.b);
      if (!up && !l.cut) await this.cutLink(l.a, l.b);
    }
    await this.settle();
  }

  /**
   * A chain of regions from `p` to `c` three region hops long ([p, x, y, c], x and y the lowest
   * other regions) and the region links that leave it the only route (a fifth region hangs off x).
   */
  regionChain(p, c) {
    const others = [...Array(this.opts.regions).keys()].filter((r) => r !== p && r !== c);
    if (others.length < 2) throw new Error(`wan network: a chain of three region hops needs 4 regions, there are ${this.opts.regions}`);
    const [x, y, ...rest] = others;
    return { chain: [p, x, y, c], links: [[p, x], [x, y], [y, c], ...rest.map((z) => [x, z])] };
  }

  /** Every bridge over an uncut link active; mode nats: every node also sees every member, with its real links. */
  async settle(timeoutMs = 60_000) {
    const uncut = (n, b) => !this.link(n.name, b.name.slice("to-".length)).cut;
    await waitFor(() => this.nodes.every((n) => n.served.node.bridgeInfo().every((b) => b.state === "active" || !uncut(n, b))), {
      timeoutMs, what: "every bridge over an uncut link active",
    });
    if (this.opts.mode !== "nats") return;
    const real = new Map(this.nodes.map((n) => [n.name, JSON.stringify(n.served.node.links().sort())]));
    await waitFor(() => this.nodes.every((viewer) => {
      const members = viewer.served.discovery.watcher.members();
      return members.size === this.nodes.length && this.nodes.every((n) => JSON.stringify([...(members.get(n.name)?.links ?? [])].sort()) === real.get(n.name));
    }), { timeoutMs, what: "every member and its real links seen by every node" });
  }

  /** The demand subscriptions `name`'s bridges hold for `dest`, with the bridge's name. */
  demandAt(name, dest) {
    return this.node(name).bridgeInfo().flatMap((b) => b.demand.filter((d) => d.destination === dest).map((d) => ({ bridge: b.name, ...d })));
  }

  /** A client connection to node `name`, closed by `close()`. */
  async client(name, opts = {}) {
    const c = await connect(this.node(name).url, opts);
    this.conns.push(c);
    return c;
  }

  /** Bytes each proxy forwarded so far, both directions: per link and per node's NATS connection. */
  bytes() {
    const sum = (p) => {
      const s = p.stats();
      return s.bytesToTarget + s.bytesFromTarget;
    };
    return {
      links: this.links.map((l) => ({ a: l.a, b: l.b, kind: l.kind, latencyMs: l.latencyMs, bytes: Object.values(l.proxies).reduce((t, p) => t + sum(p), 0) })),
      nats: [...this.natsProxies].map(([node, p]) => ({ node, bytes: sum(p) })),
    };
  }

  /**
   * Demand convergence: `count` persistent messages sent on `producer` to `dest` (nobody wants
   * them yet), then a consumer subscribes on `consumer`: ms from the subscribe call to the first
   * delivery. Waits for all `count`; returns the ids sent and the deliveries (acked as read).
   */
  async convergence(producer, consumer, dest, count = 1, timeoutMs = 60_000) {
    const p = await this.client(producer);
    const sent = [];
    for (let i = 0; i < count; i++) sent.push((await p.send(dest, `${dest}#${i}`, { persistent: true })).id);
    const got = [];
    const c = await this.client(consumer);
    const t0 = performance.now();
    let firstMs;
    const sub = await c.subscribe(dest);
    void (async () => {
      for await (const d of sub) {
        if (firstMs === undefined) firstMs = performance.now() - t0;
        got.push(d);
        d.ack();
      }
    })();
    await waitFor(() => got.length >= count, { timeoutMs, intervalMs: 1, what: `${count} messages from ${producer} on ${consumer} (${dest})` });
    return { ms: firstMs, sent, got, subscription: sub };
  }

  /**
   * Forwarded throughput over link from → to: a producer on `from` keeps at most `backlogBytes`
   * of `bodyBytes` bodies sent and not yet consumed, a consumer on `to` reads them; after
   * `warmupMs`, `measureMs` is measured. Then the producer stops and everything sent is
   * awaited (each id once). Payload and wire (the link proxy's from → to bytes) rates.
   */
  async throughput(from, to, dest, { bodyBytes = 32 * 1024, warmupMs = 3_000, measureMs = 10_000, backlogBytes = 16 * 1024 * 1024, timeoutMs = 120_000 } = {}) {
    const proxy = this.link(from, to).proxies[`${from}>${to}`];
    const p = await this.client(from);
    const c = await this.client(to);
    const body = Buffer.alloc(bodyBytes, 0x61);
    const sent = new Set();
    const seen = new Map();
    let received = 0;
    let receivedBytes = 0;
    let wake;
    const sub = await c.subscribe(dest);
    void (async () => {
      for await (const d of sub) {
        received++;
        receivedBytes += d.body.length;
        seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
        d.ack();
        wake?.();
      }
    })();
    await waitFor(() => this.demandAt(from, dest).some((d) => d.bridge === `to-${to}`), { timeoutMs, what: `${to}'s demand for ${dest} on ${from}` });
    const cap = Math.max(1, Math.floor(backlogBytes / bodyBytes));
    let producing = true;
    let sendError;
    const inflight = new Set();
    const production = (async () => {
      while (producing && sendError === undefined) {
        if (sent.size + inflight.size - received >= cap) {
          await new Promise((r) => {
            wake = r;
            setTimeout(r, 50);
          });
          continue;
        }
        const s = p.send(dest, body, { persistent: true }).then((r) => sent.add(r.id), (err) => (sendError = err)).finally(() => inflight.delete(s));
        inflight.add(s);
        if (inflight.size >= 64) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    })();
    await sleep(warmupMs);
    const s0 = { t: performance.now(), bytes: receivedBytes, n: received, wire: proxy.stats().bytesToTarget };
    await sleep(measureMs);
    const s1 = { t: performance.now(), bytes: receivedBytes, n: received, wire: proxy.stats().bytesToTarget };
    producing = false;
    await production;
    if (sendError !== undefined) throw sendError;
    await waitFor(() => [...sent].every((id) => seen.has(id)), { timeoutMs, what: `all ${sent.size} throughput messages on ${to}` });
    const secs = (s1.t - s0.t) / 1000;
    const l = this.link(from, to);
    const window = this.demandAt(from, dest).find((d) => d.bridge === `to-${to}`);
    return {
      from, to, oneWayLatencyMs: l.latencyMs, jitterMs: l.jitterMs, bandwidth: l.bandwidth, bodyBytes,
      payloadBytesPerSec: (s1.bytes - s0.bytes) / secs, wireBytesPerSec: (s1.wire - s0.wire) / secs, msgPerSec: (s1.n - s0.n) / secs,
      sent: sent.size, lost: [...sent].filter((id) => !seen.has(id)).length, duplicated: [...seen.values()].filter((n) => n > 1).length,
      window: window?.window, windowPhase: window?.windowPhase, minRttMs: window?.minRttMs,
    };
  }

  /**
   * Random link flaps under traffic: producers on `producers` send persistent messages with unique
   * bodies to `queues` (one every `sendEveryMs` each) while consumers (`consumers`: node, queue)
   * read; `flaps` times a random link (any, intra or inter) is cut for `downMs` (a random span in
   * the range), at most `maxDown` at once, one every `gapMs`. Then every link heals, a consumer of
   * every queue joins on every node (the drain) and every receipted message is awaited: lost and
   * duplicated ids are counted, not thrown.
   */
  async flapCampaign({ flaps, seed = this.opts.seed, producers, queues, consumers, sendEveryMs = 20, downMs = [100, 1_000], gapMs = 300, maxDown = 3, timeoutMs = 120_000 }) {
    const rnd = prng(seed ^ 0xf1a9);
    const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
    const receipted = new Set();
    const seen = new Map();
    const read = async (name, queue) => {
      const c = await this.client(name);
      const sub = await c.subscribe(queue, { prefetch: 50 });
      void (async () => {
        for await (const d of sub) {
          seen.set(d.id, (seen.get(d.id) ?? 0) + 1);
          d.ack();
        }
      })();
    };
    for (const [name, queue] of consumers) await read(name, queue);
    let producing = true;
    let sendError;
    const production = Promise.all(producers.map(async (name, i) => {
      const p = await this.client(name);
      for (let seq = 0; producing; seq++) {
        try {
          receipted.add((await p.send(queues[(seq + i) % queues.length], `${name}#${seq}`, { persistent: true })).id);
        } catch (err) {
          sendError = err;
          return;
        }
        await sleep(sendEveryMs);
      }
    }));
    const down = new Set();
    const t0 = performance.now();
    for (let f = 0; f < flaps; f++) {
      while (down.size >= maxDown) await Promise.race(down);
      const l = pick(this.links.filter((x) => !x.cut));
      await this.cutLink(l.a, l.b);
      const heal = (async () => {
        await sleep(downMs[0] + rnd() * (downMs[1] - downMs[0]));
        await this.healLink(l.a, l.b);
        down.delete(heal);
      })();
      down.add(heal);
      await sleep(gapMs);
    }
    await Promise.all(down);
    producing = false;
    await production;
    if (sendError !== undefined) throw sendError;
    const flapMs = performance.now() - t0;
    await this.settle(timeoutMs);
    for (const n of this.nodes) for (const q of queues) await read(n.name, q);
    const depthOf = (name, q) => this.node(name).destinations().find((d) => d.name === q && d.kind === "queue")?.depth ?? 0;
    let drained = true;
    try {
      await waitFor(() => [...receipted].every((id) => seen.has(id)) && this.nodes.every((n) => queues.every((q) => depthOf(n.name, q) === 0)), {
        timeoutMs, what: `all ${receipted.size} receipted messages delivered and every queue drained`,
      });
    } catch {
      drained = false;
    }
    return {
      flaps, flapMs, receipted: receipted.size, delivered: [...seen.values()].reduce((a, b) => a + b, 0), drained,
      lost: [...receipted].filter((id) => !seen.has(id)), duplicated: [...seen].filter(([, n]) => n > 1).map(([id]) => id),
      unexpected: [...seen.keys()].filter((id) => !receipted.has(id)),
    };
  }

  /** Closes the clients, the nodes, the proxies and nats-server. */
  async close() {
    await Promise.all(this.conns.splice(0).map((c) => c.close().catch(() => undefined)));
    for (const n of [...this.nodes].reverse()) {
      if (n.served !== undefined) await n.served.close().catch(() => undefined);
      n.served = undefined;
    }
    for (const l of this.links) for (const p of Object.values(l.proxies)) await p.close().catch(() => undefined);
    for (const p of this.natsProxies.values()) await p.close().catch(() => undefined);
    await this.nats?.close();
    this.nats = undefined;
  }
}

module.exports = { WanNetwork, DEFAULT_WAN_OPTIONS, prng };
