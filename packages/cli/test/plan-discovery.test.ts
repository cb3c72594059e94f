/**
 * `fedmq plan --discovery URL` (the built CLI) against this suite's own nats-server, with three
 * nodes registered in a members bucket: the membership it read, the network it implies — each
 * member running `fedmq node --discovery`'s connector to every site, or a topology file's
 * connectors with `to: { discovered: … }` expanded to one bridge per selected member — analysed
 * as `fedmq plan FILE` analyses a file; and its errors: NATS unreachable, no bucket, no member,
 * bad usage.
 */
import fs from "node:fs";
import path from "node:path";
import { NodeRegistry, connectControlPlane, type ControlPlane } from "@fedmq/discovery";
import { freePort, killAllManaged, removeTempDirs, runCli, startNats, tempDir, type NatsServer } from "@fedmq/testkit";

const BUCKET = "members-plan";
let nats: NatsServer;
let plane: ControlPlane;
const registries: NodeRegistry[] = [];

async function register(bucket: string, name: string, site: string, listen: string[]): Promise<NodeRegistry> {
  const r = await NodeRegistry.create({ plane, bucket, leaseMs: 30_000 });
  registries.push(r);
  await r.register({ name, site, listen, admin: `http://127.0.0.1:${8100 + registries.length}` });
  return r;
}

beforeAll(async () => {
  nats = await startNats({ jetstream: true });
  plane = await connectControlPlane({ servers: [nats.url], name: "plan test" });
  await register(BUCKET, "a", "eu-west", ["tcp://127.0.0.1:61001", "stomp://127.0.0.1:61002"]);
  await register(BUCKET, "b", "us-east", ["tcp://127.0.0.1:61011"]);
  await register(BUCKET, "c", "ap-south", ["tls://127.0.0.1:61021"]);
}, 60_000);

afterAll(async () => {
  for (const r of registries) await r.close();
  await plane?.close();
  await killAllManaged();
  await nats?.close();
  await removeTempDirs();
});

/** A table row's cells (columns are separated by two spaces or more). */
const cells = (line: string) => line.split(/ {2,}/);

test("every member running fedmq node --discovery's default connector: a full mesh, sound, exit 0", async () => {
  const r = await runCli("plan", "--discovery", nats.url, "--bucket", BUCKET);
  expect(r.stderr).toEqual([]);
  expect(r.code).toBe(0);
  const source = `${nats.url} bucket '${BUCKET}'`;
  expect(r.stdout.slice(0, 8)).toEqual([
    `membership of ${nats.url}, bucket '${BUCKET}': 3 members`,
    expect.stringMatching(/^MEMBER +SITE +LISTEN +HA +ADMIN$/),
    expect.stringMatching(/^a +eu-west +tcp:\/\/127\.0\.0\.1:61001,stomp:\/\/127\.0\.0\.1:61002 +- +http:\/\/127\.0\.0\.1:8101$/),
    expect.stringMatching(/^b +us-east +tcp:\/\/127\.0\.0\.1:61011 +- +http:\/\/127\.0\.0\.1:8102$/),
    expect.stringMatching(/^c +ap-south +tls:\/\/127\.0\.0\.1:61021 +- +http:\/\/127\.0\.0\.1:8103$/),
    "connectors: every member runs 'discovered' to every site (fedmq node --discovery's default; --topology FILE gives the network's own)",
    "",
    `plan of ${source}: network '${BUCKET}', 3 nodes, 6 links`,
  ]);
  const pairs = r.stdout.slice(9, 16).map(cells);
  expect(pairs).toEqual([
    ["FROM", "TO", "RESULT", "HOPS", "NEEDS TTL", "ROUTES", "SHORTEST ROUTE", "DESTINATIONS"],
    ["a", "b", "ok", "1", "1", "1", "a > b", "all destinations"],
    ["a", "c", "ok", "1", "1", "1", "a > c", "all destinations"],
    ["b", "a", "ok", "1", "1", "1", "b > a", "all destinations"],
    ["b", "c", "ok", "1", "1", "1", "b > c", "all destinations"],
    ["c", "a", "ok", "1", "1", "1", "c > a", "all destinations"],
    ["c", "b", "ok", "1", "1", "1", "c > b", "all destinations"],
  ]);
  expect(r.stdout).toContain(
    "  info     cycle a > b > a ('a:discovered.b' and 'b:discovered.a'): safe: messageTTL (at most 1 on its links) stops a message before it gets round (2 hops), " +
      "and a node refuses a message whose brokerPath already holds its id anyway",
  );
  expect(r.stdout).toContain("  none: losing any one node or link leaves the network connected");
  expect(r.stdout[r.stdout.length - 1]).toBe("sound");

  const j = await runCli("plan", "--discovery", nats.url, "--bucket", BUCKET, "--json");
  expect(j.code).toBe(0);
  const doc = JSON.parse(j.stdout.join("\n")) as { discovery: { servers: string[]; bucket: string; members: Array<{ name: string; site: string }>; connectors: null; notes: string[] }; links: Array<{ name: string; from: string; to: string }>; summary: { verdict: string } };
  expect(doc.discovery).toMatchObject({ servers: [nats.url], bucket: BUCKET, connectors: null, notes: [] });
  expect(doc.discovery.members.map((m) => [m.name, m.site])).toEqual([["a", "eu-west"], ["b", "us-east"], ["c", "ap-south"]]);
  expect(doc.links.map((l) => `${l.name}:${l.from}->${l.to}`)).toEqual([
    "a:discovered.b:a->b", "a:discovered.c:a->c", "b:discovered.a:b->a", "b:discovered.c:b->c", "c:discovered.a:c->a", "c:discovered.b:c->b",
  ]);
  expect(doc.summary.verdict).toBe("sound");
});

test("--topology FILE: its connectors, 'to: { discovered: … }' one bridge per selected member; the hub and its links are single points of failure, exit 1", async () => {
  const dir = await tempDir("fedmq-plan-discovery-");
  const file = path.join(dir, "federation.yaml");
  fs.writeFileSync(file, [
    "network: federation",
    "defaults: { store: memory }",
    "nodes:",
    "  a: { site: eu-west, listen: tcp://127.0.0.1:61001 }",
    "  gone: { site: eu-north, listen: tcp://127.0.0.1:61031 }",
    "discovery: { nats: nats://127.0.0.1:4999, bucket: not-this-one }",
    "connectors:",
    "  - { name: out, from: a, to: { discovered: { sites: [\"*\"] } }, duplex: true, networkTTL: 2 }",
    "  - { name: north, from: gone, to: [a] }",
  ].join("\n") + "\n");
  // --bucket over the file's, --discovery over its servers.
  const r = await runCli("plan", "--discovery", nats.url, "--topology", file, "--bucket", BUCKET);
  expect(r.code).toBe(1);
  const source = `${nats.url} bucket '${BUCKET}'`;
  expect(r.stderr).toEqual([`fedmq: ${source}: 3 warnings`]);
  const at = r.stdout.indexOf(`plan of ${source}: network 'federation', 3 nodes, 2 links`);
  expect(r.stdout.slice(at - 3, at)).toEqual([
    `connectors: those of ${file}`,
    "  note     connector 'north' runs on 'gone', which is not a member: left out",
    "",
  ]);
  const row = (from: string, to: string) => cells(r.stdout.find((l) => cells(l)[0] === from && cells(l)[1] === to)!);
  expect(row("b", "c")).toEqual(["b", "c", "ok", "2", "2", "1", "b > a > c", "all destinations"]);
  expect(row("a", "b")).toEqual(["a", "b", "ok", "1", "1", "1", "a > b", "all destinations"]);
  expect(r.stdout.filter((l) => l.startsWith("  warning  "))).toEqual([
    "  warning  single point of failure: losing node 'a' splits the network into b | c",
    "  warning  single point of failure: losing link 'out.b' (a - b) splits the network into a, c | b",
    "  warning  single point of failure: losing link 'out.c' (a - c) splits the network into a, b | c",
  ]);
  expect(r.stdout[r.stdout.length - 1]).toBe("3 warnings");
});

test("errors: NATS unreachable within --timeout-ms names the URL; a missing bucket and an empty one say so; bad usage exits 2", async () => {
  const port = await freePort();
  const dead = `nats://127.0.0.1:${port}`;
  const started = Date.now();
  const r = await runCli("plan", "--discovery", dead, "--timeout-ms", "1000");
  expect(r.code).toBe(1);
  expect(r.stdout).toEqual([]);
  expect(r.stderr).toEqual([`fedmq: cannot reach NATS at ${dead} within 1000 ms (--timeout-ms): CONNECTION_REFUSED`]);
  expect(Date.now() - started).toBeLessThan(15_000);

  const missing = await runCli("plan", "--discovery", nats.url, "--bucket", "no-such-bucket");
  expect(missing.code).toBe(1);
  expect(missing.stderr).toEqual([`fedmq: bucket 'no-such-bucket' on ${nats.url} does not exist: no node has registered there (is the bucket right? --bucket, or the topology's discovery.bucket)`]);

  // A bucket whose only member left: it exists, and holds no member.
  const leaver = await register("members-empty", "z", "eu-west", ["tcp://127.0.0.1:61041"]);
  expect(await leaver.leave()).toBe(true);
  const empty = await runCli("plan", "--discovery", nats.url, "--bucket", "members-empty");
  expect(empty.code).toBe(1);
  expect(empty.stderr).toEqual([`fedmq: no node is registered in bucket 'members-empty' on ${nats.url}: the membership is empty, nothing to plan`]);

  const none = await runCli("plan");
  expect(none.code).toBe(2);
  expect(none.stderr[none.stderr.length - 1]).toBe("fedmq: name a topology FILE, or --discovery URL to plan the live network");
  const both = await runCli("plan", "topologies/three-regions.yaml", "--discovery", nats.url);
  expect(both.code).toBe(2);
  expect(both.stderr[both.stderr.length - 1]).toBe("fedmq: give a topology FILE or --discovery URL, not both (with --discovery, --topology FILE gives the connectors)");
  const bad = await runCli("plan", "--discovery", "http://127.0.0.1:4222");
  expect(bad.code).toBe(2);
  expect(bad.stderr).toEqual(["fedmq: --discovery must hold nats://host:port or tls://host:port URLs, got 'http://127.0.0.1:4222'"]);
}, 60_000);
