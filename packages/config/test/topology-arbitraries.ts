/**
 * What the topology fuzzing (fuzz-topology.test.ts) feeds the loader: YAML texts built from the
 * schema's own keys (at random, or a valid topology with a few faults), arbitrary strings,
 * mutations of the example topologies in `topologies/`, and alias bombs.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { stringify } from "yaml";
import { MAX_TOPOLOGY_ALIAS_EXPANSION, TopologyInputSchema } from "@fedmq/config";

// ---- texts from the schema's keys ------------------------------------------------------------

/** Names, including those every JavaScript object answers to. */
const NAMES = ["eu-1", "us-1", "ap-1", "eu-1", "us-1", "g1", "g2", "a", "A_b-c", "constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "1a", "", "a b", "ü", "x-a", "<<"];
const nameArb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

/** Values that mean something for a key of that name, right and wrong. */
const POOLS: Readonly<Record<string, readonly string[]>> = {
  listen: ["tcp://127.0.0.1:61616", "tcp://127.0.0.1:61626", "tls://127.0.0.1:61617", "tcp://0.0.0.0:61616", "tcp://[::1]:61618", "tcp://localhost:61616", "stomp://127.0.0.1:61613", "ws://127.0.0.1:61614/stomp", "wss://127.0.0.1:61615/stomp", "stomp+tls://127.0.0.1:61612", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536", "tcp://127.0.0.1", "vm://x", "tcp://h_1:1", "http://127.0.0.1:1"],
  admin: ["http://127.0.0.1:8161", "http://127.0.0.1:8171", "http://0.0.0.0:8161", "https://127.0.0.1:8161", "http://127.0.0.1:61616", "http://[::1]:8162", "http://127.0.0.1"],
  redis: ["redis://127.0.0.1:6379/0", "rediss://u:p@h:1/2", "redis://", "redis://h/x", "http://h:1", "redis://h:1/"],
  replicaListen: ["tcp://127.0.0.1:61629", "tls://127.0.0.1:61628", "tcp://127.0.0.1:61616", "stomp://127.0.0.1:1"],
  uri: ["static:(tcp://127.0.0.1:61616)", "masterslave:(tcp://127.0.0.1:1,tcp://127.0.0.1:2)", "static:()", "masterslave:(tcp://a:1)", "static:(tcp://127.0.0.1:61616, tcp://127.0.0.1:61626)", "static:(http://a:1)", "static:tcp://a:1"],
  destination: ["queue://orders.>", "topic://prices.*", "queue://>", "queue://", "queue://a..b", "foo", "topic://ActiveMQ.Advisory.>", "queue://a.>.b"],
  path: ["./.fedmq", "/tmp/x", "./pki/node.{node}.crt", "..", ".", "./users/demo.yaml", "{node}", "C:\\x"],
  mode: ["shared-file", "redis", "replicated", "Redis", "x"],
  store: ["journal", "memory", "Memory", "redis"],
  sync: ["replica", "local", "remote"],
  clientAuth: ["none", "request", "require", "optional"],
};
const POOL_OF: Readonly<Record<string, string>> = {
  listen: "listen", admin: "admin", redis: "redis", election: "redis", replicaListen: "replicaListen", uri: "uri", destination: "destination",
  dynamicallyIncludedDestinations: "destination", staticallyIncludedDestinations: "destination", excludedDestinations: "destination",
  dataDir: "path", dir: "path", users: "path", adminTokenFile: "path", ca: "path", cert: "path", key: "path", mode: "mode", store: "store", sync: "sync", clientAuth: "clientAuth",
};
const NAME_KEYS = new Set(["network", "site", "group", "name", "from", "to", "read", "write"]);

/** Any plain YAML value (the wrong type for most keys). */
const anyValue = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1, 1.5, 1e21, Number.NaN, Number.POSITIVE_INFINITY, "", "yes", "no", "~", "null", "0x10", "1e3", "0o7", "*", "&"),
  fc.string({ maxLength: 20 }),
  fc.jsonValue({ maxDepth: 1 }),
);
const stringFor = (key: string): fc.Arbitrary<unknown> => {
  const pool = POOL_OF[key];
  const known = pool !== undefined ? fc.constantFrom(...POOLS[pool]!) : NAME_KEYS.has(key) ? nameArb : fc.string({ maxLength: 16 });
  return fc.oneof({ weight: 8, arbitrary: known }, { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: "grapheme" }) }, { weight: 1, arbitrary: anyValue });
};
const numberArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 3, 100, 1024, 1023, 1000, 5000, 15000, 3_600_000, 3_600_001, 16 * 1024 * 1024, 2 ** 30, 2 ** 30 + 1, 2 ** 53, -1, 0.5) },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 1, arbitrary: anyValue },
);

interface ZodDef {
  readonly type: string;
  readonly shape?: Record<string, { _zod: { def: ZodDef } }>;
  readonly innerType?: { _zod: { def: ZodDef } };
  readonly options?: ReadonlyArray<{ _zod: { def: ZodDef } }>;
  readonly element?: { _zod: { def: ZodDef } };
  readonly valueType?: { _zod: { def: ZodDef } };
  readonly entries?: Record<string, string>;
  readonly values?: readonly unknown[];
}

/** Values for a schema (zod's own description of it): mostly of its shape, with the wrong types, unknown keys and values now and then. */
function fromSchema(def: ZodDef, key: string, depth = 0): fc.Arbitrary<unknown> {
  const sub = (s: { _zod: { def: ZodDef } }, k: string) => fromSchema(s._zod.def, k, depth + 1);
  let arb: fc.Arbitrary<unknown>;
  switch (def.type) {
    case "optional": return fromSchema(def.innerType!._zod.def, key, depth);
    case "object": {
      const shape = Object.fromEntries(Object.entries(def.shape!).map(([k, v]) => [k, sub(v, k)]));
      const known = fc.record(shape, { requiredKeys: [] });
      const unknownKeys = fc.dictionary(fc.oneof(fc.constantFrom("x-anchors", "listens", "nmae", "Network", "to ", "<<"), fc.string({ maxLength: 8 })), anyValue, { maxKeys: 2 });
      arb = fc.oneof({ weight: 6, arbitrary: known }, { weight: 1, arbitrary: fc.tuple(known, unknownKeys).map(([k, u]) => ({ ...u, ...k })) });
      break;
    }
    case "string": arb = stringFor(key); break;
    case "number": arb = numberArb; break;
    case "boolean": arb = fc.oneof({ weight: 6, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyValue }); break;
    case "enum": arb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...Object.values(def.entries!)) }, { weight: 1, arbitrary: stringFor(key) }); break;
    case "literal": arb = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...def.values!) }, { weight: 1, arbitrary: stringFor(key) }); break;
    case "union": arb = fc.oneof(...def.options!.map((o) => fromSchema(o._zod.def, key, depth))); break;
    case "array": arb = fc.array(sub(def.element!, key), { maxLength: depth < 3 ? 3 : 1 }); break;
    case "record": arb = fc.dictionary(nameArb, sub(def.valueType!, key), { maxKeys: depth < 2 ? 3 : 1 }); break;
    default: arb = anyValue;
  }
  return def.type === "object" || def.type === "union" ? arb : fc.oneof({ weight: 9, arbitrary: arb }, { weight: 1, arbitrary: anyValue });
}

const topologyDataArb = fromSchema((TopologyInputSchema as unknown as { _zod: { def: ZodDef } })._zod.def, "topology");

/** One object used in two places: the YAML writer turns the second into an alias (`*a1`). */
function shareSomething(data: unknown, pick: number): unknown {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return data;
  const nodes = (data as Record<string, unknown>)["nodes"];
  if (nodes === null || typeof nodes !== "object" || Array.isArray(nodes)) return data;
  const names = Object.keys(nodes);
  if (names.length < 2) return data;
  const from = names[pick % names.length]!;
  const to = names[(pick + 1) % names.length]!;
  return { ...data, nodes: { ...nodes, [to]: (nodes as Record<string, unknown>)[from] } };
}

/**
 * A valid topology: 1–4 nodes on ports of their own (some in an HA group), connectors between
 * them, and now and then `defaults` and `security`.
 */
const validDataArb = fc.record({
  names: fc.uniqueArray(fc.constantFrom("eu-1", "us-1", "ap-1", "a", "B_2", "hub"), { minLength: 1, maxLength: 4 }),
  store: fc.constantFrom("memory", "journal"),
  ha: fc.boolean(),
  admin: fc.boolean(),
  defaults: fc.boolean(),
  security: fc.boolean(),
  connectors: fc.array(fc.record({ from: fc.nat(), to: fc.array(fc.nat(), { minLength: 1, maxLength: 2 }), duplex: fc.boolean(), networkTTL: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3 }),
}).map((v) => {
  const nodes: Record<string, unknown> = {};
  v.names.forEach((name, i) => {
    nodes[name] = {
      site: `site-${i}`, listen: i % 2 === 0 ? `tcp://127.0.0.1:${61_600 + i}` : [`tcp://127.0.0.1:${61_600 + i}`, `stomp://127.0.0.1:${61_700 + i}`],
      ...(v.admin ? { admin: `http://127.0.0.1:${8_100 + i}` } : {}),
      ...(v.ha && i < 2 ? { ha: { group: "grp", mode: "redis", redis: "redis://127.0.0.1:6379/0" } } : {}),
    };
  });
  const targets = v.names.filter((_, i) => !(v.ha && i < 2));
  const connectors = v.connectors.flatMap((c, i) => {
    const from = v.names[c.from % v.names.length]!;
    const fromGroup = v.ha && v.names.indexOf(from) < 2;
    const to = [...new Set(c.to.map((t) => targets[t % Math.max(1, targets.length)]).filter((t) => t !== undefined && t !== from))] as string[];
    return to.length === 0 ? [] : [{ name: `c${i}`, from: fromGroup ? "grp" : from, to, duplex: c.duplex, networkTTL: c.networkTTL }];
  });
  return {
    network: "net",
    ...(v.defaults ? { defaults: { store: v.store, dataDir: "./.fedmq" } } : {}),
    ...(v.security ? { security: { insecure: false, authorization: [{ destination: "queue://orders.>", read: ["apps"] }], users: "./users.yaml" } } : {}),
    nodes,
    ...(connectors.length > 0 ? { connectors } : {}),
  };
});

/** Every place in `data` a fault may go: paths to values, and to keys. */
function placesOf(data: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (at.length > 0) out.push(at);
  if (Array.isArray(data)) data.forEach((v, i) => placesOf(v, [...at, i], out));
  else if (data !== null && typeof data === "object") for (const [k, v] of Object.entries(data)) placesOf(v, [...at, k], out);
  return out;
}

type Fault = { readonly kind: "value" | "rename" | "delete" | "reference"; readonly place: number; readonly value: unknown; readonly key: string };
/** Where a name refers to a node or an HA group. */
const REFERENCES = new Set(["from", "to", "group"]);
/** Names every JavaScript object answers to, and names of the file in other roles. */
const REFERENCE_NAMES = ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "isPrototypeOf", "grp", "net", "c0", "site-0"];
/** Values that are wrong in some place, or right in another; names every JavaScript object answers to. */
const faultValueArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("constructor", "toString", "__proto__", "hasOwnProperty", "valueOf", "grp", "eu-1", "hub", "c0") },
  { weight: 3, arbitrary: fc.constantFrom(...Object.values(POOLS).flat()) },
  { weight: 2, arbitrary: anyValue },
  { weight: 1, arbitrary: numberArb },
);
const faultArb: fc.Arbitrary<Fault> = fc.record({
  kind: fc.constantFrom("value", "value", "value", "rename", "delete", "reference"),
  place: fc.nat(),
  value: faultValueArb,
  key: fc.oneof(fc.constantFrom("constructor", "toString", "__proto__", "x-ext", "<<", "listen", "from", "to", "uri", "ha", "staticBridge", "lease"), fc.string({ maxLength: 8 })),
});

function applyFault(data: unknown, f: Fault): unknown {
  const copy = structuredClone(data) as Record<string, unknown>;
  const all = placesOf(copy);
  const references = all.filter((p) => REFERENCES.has(String(p.at(-1))) || REFERENCES.has(String(p.at(-2))));
  const places = f.kind === "reference" && references.length > 0 ? references : all;
  if (places.length === 0) return copy;
  const where = places[f.place % places.length]!;
  const parent = where.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], copy) as Record<string | number, unknown>;
  const last = where.at(-1)!;
  if (f.kind === "reference") parent[last] = REFERENCE_NAMES[f.place % REFERENCE_NAMES.length];
  else if (f.kind === "value") parent[last] = f.value;
  else if (Array.isArray(parent)) parent.splice(Number(last), 1);
  else {
    const value = parent[last];
    delete parent[last];
    if (f.kind === "rename") Object.defineProperty(parent, f.key, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

const yamlOptionsArb = fc.record({
  indent: fc.integer({ min: 1, max: 4 }),
  defaultStringType: fc.constantFrom("PLAIN", "PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE", "BLOCK_LITERAL", "BLOCK_FOLDED") as fc.Arbitrary<"PLAIN" | "QUOTE_DOUBLE" | "QUOTE_SINGLE" | "BLOCK_LITERAL" | "BLOCK_FOLDED">,
  collectionStyle: fc.constantFrom("any", "any", "block", "flow") as fc.Arbitrary<"any" | "block" | "flow">,
});

/** Schema-shaped data at random, or a valid topology with up to three faults; written as YAML. */
const structuredArb = fc.tuple(
  fc.oneof({ weight: 1, arbitrary: topologyDataArb }, { weight: 3, arbitrary: fc.tuple(validDataArb, fc.array(faultArb, { maxLength: 3 })).map(([d, faults]) => faults.reduce(applyFault, d)) }),
  yamlOptionsArb,
  fc.option(fc.nat(), { freq: 4 }),
).map(([data, options, share]) => stringify(share === null ? data : shareSomething(data, share), options));

// ---- arbitrary strings and mutations of the examples -----------------------------------------

const YAML_BITS = [
  ":", ": ", "- ", "-", " ", "  ", "\n", "\r\n", "\t", "{", "}", "[", "]", ",", "&a ", "*a", "*b", "!!str ", "!!binary ", "!foo ", "|", ">", "'", "\"", "#", "%YAML 1.1\n", "---\n", "...\n", "?", "@", "`",
  "<<: *a", "\ufeff", "\u0000", "nodes", "connectors", "network", "listen", "from", "to", "ha", "mode", "eu-1", "tcp://127.0.0.1:1", "\\", "\u2028", "💥",
];
const soupArb = fc.array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...YAML_BITS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10, unit: "binary" }) }), { maxLength: 60 }).map((p) => p.join(""));

const EXAMPLES_DIR = path.resolve(__dirname, "../../../topologies");
export const EXAMPLES = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith(".yaml")).map((f) => readFileSync(path.join(EXAMPLES_DIR, f), "utf8"));
const TOKENS = ["eu-1", "us-1", "ap-1", "eu-west", "duplex", "true", "false", "networkTTL", "2", "tcp", "tls", "127.0.0.1", "61616", "queue://orders.>", "from", "to", "name", "nodes", "connectors", "ha", "group", "mode", "shared-file", "replicated", "redis", "journal", "memory", "constructor", "__proto__", "{", "}", "[", "]", ":", "-", "&x", "*x", "<<", "null", "~", ""];

type Mutation =
  | { readonly op: "delete"; readonly at: number; readonly len: number }
  | { readonly op: "insert"; readonly at: number; readonly bits: string }
  | { readonly op: "duplicate-line" | "delete-line"; readonly line: number }
  | { readonly op: "swap-lines"; readonly a: number; readonly b: number }
  | { readonly op: "replace-token"; readonly nth: number; readonly by: string }
  | { readonly op: "indent"; readonly line: number; readonly by: number }
  | { readonly op: "truncate"; readonly at: number }
  | { readonly op: "crlf" };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 20 }) }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), bits: fc.oneof(fc.constantFrom(...YAML_BITS), soupArb) }),
  fc.record({ op: fc.constantFrom("duplicate-line" as const, "delete-line" as const), line: fc.nat() }),
  fc.record({ op: fc.constant("swap-lines" as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant("replace-token" as const), nth: fc.nat(), by: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })) }),
  fc.record({ op: fc.constant("indent" as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.constant({ op: "crlf" as const }),
);

function applyMutation(text: string, m: Mutation): string {
  const lines = text.split("\n");
  const line = (n: number) => n % lines.length;
  switch (m.op) {
    case "delete": { const at = m.at % (text.length + 1); return text.slice(0, at) + text.slice(at + m.len); }
    case "insert": { const at = m.at % (text.length + 1); return text.slice(0, at) + m.bits + text.slice(at); }
    case "duplicate-line": { const i = line(m.line); lines.splice(i, 0, lines[i]!); return lines.join("\n"); }
    case "delete-line": lines.splice(line(m.line), 1); return lines.join("\n");
    case "swap-lines": { const a = line(m.a); const b = line(m.b); [lines[a], lines[b]] = [lines[b]!, lines[a]!]; return lines.join("\n"); }
    case "replace-token": {
      const found = [...text.matchAll(/[A-Za-z0-9_.:/>*-]+|[{}[\],&*<]/g)];
      if (found.length === 0) return text;
      const hit = found[m.nth % found.length]!;
      return text.slice(0, hit.index) + m.by + text.slice(hit.index! + hit[0].length);
    }
    case "indent": { const i = line(m.line); lines[i] = m.by >= 0 ? " ".repeat(m.by) + lines[i] : lines[i]!.replace(new RegExp(`^ {0,${-m.by}}`), ""); return lines.join("\n"); }
    case "truncate": return text.slice(0, m.at % (text.length + 1));
    case "crlf": return text.replaceAll("\n", "\r\n");
  }
}

const mutatedArb = fc.tuple(fc.constantFrom(...EXAMPLES), fc.array(mutationArb, { minLength: 1, maxLength: 6 }))
  .map(([text, ms]) => ms.reduce(applyMutation, text));

// ---- aliases -----------------------------------------------------------------------------------

/**
 * An alias bomb of `levels` levels of `width` aliases each (it expands to width^levels nodes),
 * under an `x-` key the schema never reads, in front of an example topology.
 */
function aliasBomb(levels: number, width: number, example: string): string {
  const rows = [`x-bomb:`, `  l0: &l0 [${Array.from({ length: width }, () => '"lol"').join(", ")}]`];
  for (let i = 1; i <= levels; i++) rows.push(`  l${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(", ")}]`);
  return `${rows.join("\n")}\n${example}`;
}

export const bombArb = fc.tuple(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 12 }), fc.constantFrom(...EXAMPLES))
  .filter(([levels, width]) => width ** levels > 10 * MAX_TOPOLOGY_ALIAS_EXPANSION)
  .map(([levels, width, example]) => ({ text: aliasBomb(levels, width, example), expansion: width ** levels }));

/** Any text, from every source above. */
export const textArb = fc.oneof(
  { weight: 5, arbitrary: structuredArb },
  { weight: 4, arbitrary: mutatedArb },
  { weight: 2, arbitrary: soupArb },
  { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: "binary" }) },
  { weight: 1, arbitrary: bombArb.map((b) => b.text) },
);
