/**
 * What is refused, and how it says so: bad node records (every bad field named), bad URLs, bad
 * control-plane, registry and watcher options, bad selectors; and what the selector picks. No
 * server: nothing here gets as far as NATS (a plane that dials a closed port is enough).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "@fedmq/testkit";
import {
  compileMemberSelector, connectControlPlane, decodeNodeRecord, DiscoveryOptionError, InvalidNodeRecordError, matchMembers,
  MembershipWatcher, NodeRegistry, validateRegistration, type NodeRecord,
} from "../src";
import { node, useHarness } from "./helpers/discovery-harness";

const harness = useHarness();

/** The error `fn` throws or rejects with. */
async function failure(fn: () => unknown): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("node records", () => {
  it("a valid registration is kept as given, in canonical form", () => {
    expect(validateRegistration({ site: "eu-west", name: "a", listen: ["tls://node-a.example.com:61617"], admin: "https://10.0.0.1:8161" })).toEqual({
      name: "a", site: "eu-west", listen: ["tls://node-a.example.com:61617"], admin: "https://10.0.0.1:8161",
    });
  });

  it("keeps demand claims and links in canonical order (equal records encode alike)", () => {
    expect(validateRegistration({
      name: "a", site: "eu", listen: ["tcp://h:1"], links: ["c", "b"],
      demand: [{ consumers: 2, destination: "topic://t" }, { destination: "queue://q", selector: "x > 1", consumers: 1 }, { destination: "queue://q", consumers: 3 }],
    })).toEqual({
      name: "a", site: "eu", listen: ["tcp://h:1"], links: ["b", "c"],
      demand: [{ destination: "queue://q", consumers: 3 }, { destination: "queue://q", selector: "x > 1", consumers: 1 }, { destination: "topic://t", consumers: 2 }],
    });
  });

  it.each<[string, unknown, string]>([
    ["not an object", "a", "node record is not valid: a node record must be an object, got 'a'"],
    ["a missing name", { site: "eu", listen: ["tcp://127.0.0.1:1"] }, "node record is not valid: 'name' must be a string, got nothing"],
    ["a name with a dot", { name: "a.b", site: "eu", listen: ["tcp://127.0.0.1:1"] }, "node record is not valid: 'name' must be letters, digits, '_' and '-' starting with a letter, got 'a.b'"],
    ["an empty listen list", { name: "a", site: "eu", listen: [] }, "node record is not valid: 'listen' must list at least one URL"],
    ["listen not a list", { name: "a", site: "eu", listen: "tcp://127.0.0.1:1" }, "node record is not valid: 'listen' must be a list of URLs, got 'tcp://127.0.0.1:1'"],
    ["an http listener", { name: "a", site: "eu", listen: ["http://127.0.0.1:80"] }, "node record is not valid: 'listen[0]' 'http://127.0.0.1:80' has scheme 'http': expected tcp://host:port, tls://host:port, stomp://host:port, stomp+tls://host:port, ws://host:port/path or wss://host:port/path"],
    ["a listener without a port", { name: "a", site: "eu", listen: ["tcp://127.0.0.1:1", "tcp://host"] }, "node record is not valid: 'listen[1]' 'tcp://host' is not valid: expected tcp://host:port, tls://host:port, stomp://host:port, stomp+tls://host:port, ws://host:port/path or wss://host:port/path"],
    ["port 0", { name: "a", site: "eu", listen: ["tcp://127.0.0.1:0"] }, "node record is not valid: 'listen[0]' 'tcp://127.0.0.1:0' must name the port it is bound to (1-65535), not 0"],
    ["a wildcard host", { name: "a", site: "eu", listen: ["tcp://0.0.0.0:61616"] }, "node record is not valid: 'listen[0]' 'tcp://0.0.0.0:61616' must name a host other nodes can dial, not the wildcard '0.0.0.0'"],
    ["a listener twice", { name: "a", site: "eu", listen: ["tcp://h:1", "tcp://h:1"] }, "node record is not valid: 'listen' lists 'tcp://h:1' twice"],
    ["an admin URL without a port", { name: "a", site: "eu", listen: ["tcp://h:1"], admin: "http://h" }, "node record is not valid: 'admin' must be an http:// or https:// URL with a host and a port (e.g. 'http://127.0.0.1:8161'), got 'http://h'"],
    ["an admin URL with a password", { name: "a", site: "eu", listen: ["tcp://h:1"], admin: "http://u:p@h:1" }, "node record is not valid: 'admin' must not carry credentials, got a URL with a user"],
    ["an HA role without a group", { name: "a", site: "eu", listen: ["tcp://h:1"], haRole: "master" }, "node record is not valid: 'haRole' needs 'haGroup': give both or neither"],
    ["an unknown HA role", { name: "a", site: "eu", listen: ["tcp://h:1"], haGroup: "g", haRole: "boss" }, "node record is not valid: 'haRole' must be one of 'master', 'slave', got 'boss'"],
    ["an epoch", { name: "a", site: "eu", listen: ["tcp://h:1"], epoch: 5 }, "node record is not valid: 'epoch' is set by the registry: leave it out"],
    ["an unknown field", { name: "a", site: "eu", listen: ["tcp://h:1"], region: "x" }, "node record is not valid: unknown field 'region'"],
    ["demand not a list", { name: "a", site: "eu", listen: ["tcp://h:1"], demand: {} }, "node record is not valid: 'demand' must be a list, got an object"],
    ["a demand claim on no destination", { name: "a", site: "eu", listen: ["tcp://h:1"], demand: [{ destination: "orders", consumers: 1 }] }, "node record is not valid: 'demand[0].destination' must be a queue:// or topic:// destination of at most 1024 characters, got 'orders'"],
    ["a demand claim with 0 consumers and an unknown field", { name: "a", site: "eu", listen: ["tcp://h:1"], demand: [{ destination: "queue://q", consumers: 0, x: 1 }] }, "node record is not valid: 'demand[0].consumers' must be an integer >= 1, got number 0; 'demand[0]' has unknown field 'x'"],
    ["a demand claim twice", { name: "a", site: "eu", listen: ["tcp://h:1"], demand: [{ destination: "queue://q", selector: "a = 1", consumers: 1 }, { destination: "queue://q", selector: "a = 1", consumers: 2 }] }, "node record is not valid: 'demand[1]' repeats destination 'queue://q' with selector 'a = 1'"],
    ["a link that is not a name, and one twice", { name: "a", site: "eu", listen: ["tcp://h:1"], links: ["b.c", "d", "d"] }, "node record is not valid: 'links[0]' must be letters, digits, '_' and '-' starting with a letter, got 'b.c'; 'links' lists 'd' twice"],
    ["several problems", { name: "1a", site: "", listen: ["tcp://h:1"] }, "node record is not valid: 'name' must be letters, digits, '_' and '-' starting with a letter, got '1a'; 'site' must be letters, digits, '_' and '-' starting with a letter, got ''"],
  ])("refuses %s, naming the field", (_what, value, message) => {
    const err = (() => {
      try {
        validateRegistration(value);
      } catch (e) {
        return e as Error;
      }
      throw new Error("accepted");
    })();
    expect(err).toBeInstanceOf(InvalidNodeRecordError);
    expect((err as InstanceType<typeof InvalidNodeRecordError>).code).toBe("FEDMQ_ERR_INVALID_NODE_RECORD");
    expect(err.message).toBe(message);
  });

  it("register() rejects a bad record before it touches NATS, and the registry stays idle", async () => {
    const h = harness();
    const registry = await h.registry(await h.plane("nats://127.0.0.1:1", { connectWaitMs: 0 }));
    const err = await failure(() => registry.register({ ...node("a"), listen: ["tcp://0.0.0.0:61616"] }));
    expect(err).toBeInstanceOf(InvalidNodeRecordError);
    expect(err.message).toBe("node record is not valid: 'listen[0]' 'tcp://0.0.0.0:61616' must name a host other nodes can dial, not the wildcard '0.0.0.0'");
    expect(registry.status().state).toBe("idle");
  });

  it("decoding a bucket value names what is wrong with it, and drops fields it does not know", () => {
    const bytes = (v: unknown): Uint8Array => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
    const good = { name: "a", site: "eu", listen: ["tcp://h:1"], version: "0.1.0", epoch: 7 };
    expect(decodeNodeRecord("a", bytes({ ...good, future: true }))).toEqual(good);
    expect(() => decodeNodeRecord("a", bytes("{"))).toThrow(/^value of key 'a' is not JSON: /);
    expect(() => decodeNodeRecord("b", bytes(good))).toThrow("value of key 'b' names node 'a': a node's key must be its name");
    expect(() => decodeNodeRecord("a", bytes({ ...good, epoch: 0 }))).toThrow("value of key 'a' is not a valid node record: 'epoch' must be an integer >= 1, got number 0");
    expect(() => decodeNodeRecord("a", bytes({ ...good, version: undefined }))).toThrow("value of key 'a' is not a valid node record: 'version' must be a version string such as '0.1.0', got nothing");
  });
});

describe("options", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["no servers", { servers: [] }, "option 'servers' must list at least one nats://host:port URL"],
    ["an http server URL", { servers: "http://127.0.0.1:4222" }, "option 'servers' must hold nats://host:port or tls://host:port URLs, got 'http://127.0.0.1:4222'"],
    ["a server URL that does not parse", { servers: ["nats://127.0.0.1:1", "nats://"] }, "option 'servers' must hold nats://host:port or tls://host:port URLs, got 'nats://'"],
    ["credentials in the URL", { servers: "nats://me:secret@127.0.0.1:4222" }, "option 'servers' URL 'nats://127.0.0.1:4222' carries credentials: give them as 'user'/'password', 'token' or 'creds' instead"],
    ["a port out of range", { servers: "nats://127.0.0.1:70000" }, "option 'servers' must hold nats://host:port or tls://host:port URLs, got 'nats://127.0.0.1:70000'"],
    ["user and token", { servers: "nats://h:1", user: "u", password: "p", token: "t" }, "options 'user' and 'token' are mutually exclusive: give one way to authenticate"],
    ["a user without password", { servers: "nats://h:1", user: "u" }, "option 'user' needs 'password'"],
    ["a cert without key", { servers: "nats://h:1", tls: { cert: "/x.pem" } }, "option 'tls.cert' needs 'tls.key'"],
    ["a missing CA file", { servers: "nats://h:1", tls: { ca: "/nonexistent/ca.pem" } }, "option 'tls.ca': cannot read '/nonexistent/ca.pem': ENOENT"],
    ["a missing creds file", { servers: "nats://h:1", creds: "/nonexistent/u.creds" }, "option 'creds': cannot read '/nonexistent/u.creds': ENOENT"],
    ["a retry limit", { servers: "nats://h:1", retry: { maxReconnectAttempts: 3 } }, "options 'retry.maxReconnectAttempts' and 'retry.startupMaxReconnectAttempts' must be -1: the control plane reconnects forever"],
    ["a bad backoff", { servers: "nats://h:1", retry: { jitter: 2 } }, "option 'retry.jitter' must be a fraction between 0 and 1, got '2'"],
    ["an unknown option", { servers: "nats://h:1", url: "nats://h:1" }, "unknown option 'url'"],
  ])("connectControlPlane refuses %s", async (_what, options, message) => {
    const err = await failure(() => connectControlPlane(options as never));
    expect(err).toBeInstanceOf(DiscoveryOptionError);
    expect(err.message).toBe(message);
  });

  it("connectControlPlane refuses a creds file that is not one, and a CA file with no PEM in it", async () => {
    const dir = await tempDir("fedmq-discovery-");
    const creds = join(dir, "user.creds");
    const ca = join(dir, "ca.pem");
    writeFileSync(creds, "not a creds file\n");
    writeFileSync(ca, "not a certificate\n");
    expect((await failure(() => connectControlPlane({ servers: "nats://h:1", creds }))).message).toBe(`option 'creds': '${creds}' is not a NATS credentials file (needs a user JWT and an nkey seed)`);
    expect((await failure(() => connectControlPlane({ servers: "nats://h:1", tls: { ca } }))).message).toBe(`option 'tls.ca': '${ca}' holds no PEM block`);
  });

  it("the registry and the watcher refuse bad bucket, lease and interval options", async () => {
    const h = harness();
    const plane = await h.plane("nats://127.0.0.1:1", { connectWaitMs: 0 });
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => NodeRegistry.create({ plane, bucket: "a.b" }), "option 'bucket' must be 1-57 letters, digits, '_' or '-', got 'a.b'"],
      [() => NodeRegistry.create({ plane, leaseMs: 100 }), "option 'leaseMs' must be an integer >= 500, got '100'"],
      [() => NodeRegistry.create({ plane, leaseMs: 3_000, renewMs: 2_000 }), "option 'renewMs' (2000 ms) must be at most half of 'leaseMs' (3000 ms), so one lost renewal does not lapse the lease"],
      [() => NodeRegistry.create({ plane: undefined as never }), "option 'plane' is required: a control plane from connectControlPlane()"],
      [() => MembershipWatcher.create({ plane, storage: "disk" as never }), "option 'storage' must be 'file' or 'memory', got 'disk'"],
      [() => MembershipWatcher.create({ plane, digestIntervalMs: -1 }), "option 'digestIntervalMs' must be an integer >= 0, got '-1'"],
      [() => MembershipWatcher.create({ plane, syncTimeoutMs: 10 }), "option 'syncTimeoutMs' must be an integer >= 100, got '10'"],
    ];
    for (const [fn, message] of cases) {
      const err = await failure(fn);
      expect(err).toBeInstanceOf(DiscoveryOptionError);
      expect(err.message).toBe(message);
    }
  });
});

describe("matchMembers", () => {
  const rec = (name: string, site: string): NodeRecord => ({ name, site, listen: [`tcp://h-${name}:1`], version: "0.1.0", epoch: 1 });
  const members = new Map([rec("eu1", "eu-west"), rec("eu2", "eu-north"), rec("us1", "us-east"), rec("euro", "europe"), rec("ap1", "ap-south")].map((r) => [r.name, r]));
  const names = (sel: Parameters<typeof matchMembers>[1]): string[] => matchMembers(members, sel).map((r) => r.name);

  it("selects by site and name patterns with * wildcards, sorted by name", () => {
    expect(names({ sites: ["eu-*"] })).toEqual(["eu1", "eu2"]);
    expect(names({ sites: ["eu*"] })).toEqual(["eu1", "eu2", "euro"]);
    expect(names({ sites: ["us-east", "ap-*"] })).toEqual(["ap1", "us1"]);
    expect(names({ sites: ["*"], names: ["*1"] })).toEqual(["ap1", "eu1", "us1"]);
    expect(names({ sites: ["eu-*"], names: ["eu2"] })).toEqual(["eu2"]);
    expect(names({ sites: ["EU-*"] })).toEqual([]);
    expect(names({})).toEqual(["ap1", "eu1", "eu2", "euro", "us1"]);
    expect(matchMembers([...members.values()].reverse(), { names: ["eu*"] }).map((r) => r.name)).toEqual(["eu1", "eu2", "euro"]);
  });

  it("refuses patterns that are not names, empty lists and unknown fields", () => {
    expect(() => compileMemberSelector({ sites: ["eu.*"] })).toThrow("selector 'sites[0]' pattern 'eu.*' must be letters, digits, '_', '-' and '*' wildcards");
    expect(() => compileMemberSelector({ names: [] })).toThrow("selector 'names' must list at least one pattern (leave it out to select every node)");
    expect(() => compileMemberSelector({ site: ["eu"] } as never)).toThrow("unknown selector field 'site' (expected 'sites', 'names')");
    expect(() => compileMemberSelector({ sites: "eu-*" } as never)).toThrow(DiscoveryOptionError);
  });
});
