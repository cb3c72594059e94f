/**
 * A node's registration: what the members bucket holds under the node's name, as JSON.
 *
 * Validation is one function for both directions: `register()` refuses a bad record with
 * `InvalidNodeRecordError` naming the field (unknown fields refused too, so a typo is not
 * silently dropped); a watcher reading the bucket uses the same checks but ignores fields it does
 * not know (a newer node may add some).
 */
import { parseListenUri } from "@fedmq/protocol";
import { InvalidNodeRecordError } from "./errors";

/** A node's role in its HA group, as registered. */
export type NodeHaRole = "master" | "slave";

/** The value stored under a node's key (its name) in the members bucket. */
export interface NodeRecord {
  /** The node's name, unique in the federation; also its key. Letters, digits, `_`, `-`, starting with a letter. */
  readonly name: string;
  /** The site (region, data centre) it runs in; same rule as `name`. Selectors match it (`eu-*`). */
  readonly site: string;
  /**
   * The URLs other nodes and clients reach it on: `tcp://`, `tls://`, `stomp://`, `stomp+tls://`,
   * `ws://`, `wss://`, each with a host other nodes can dial (not `0.0.0.0` / `::`) and a port 1-65535.
   */
  readonly listen: readonly string[];
  /** Its HA group (same rule as `name`); given with `haRole` or not at all. */
  readonly haGroup?: string;
  /** Its role in `haGroup`. */
  readonly haRole?: NodeHaRole;
  /** Its admin endpoint, `http://host:port` or `https://host:port`. */
  readonly admin?: string;
  /** The fedmq version it runs. */
  readonly version: string;
  /** Its local consumers, by destination and selector (the network's demand, learned in one round trip); absent: none published. */
  readonly demand?: readonly DemandClaim[];
  /** The nodes (or HA groups) its active bridges forward to: the links demand is routed over. */
  readonly links?: readonly string[];
  /**
   * Strictly increasing per node name: a new value each time the node registers a changed record
   * (not on renewals), and above any epoch already in the bucket for that name when the node
   * starts. A registration with a higher epoch supersedes one with a lower epoch.
   */
  readonly epoch: number;
}

/** What `NodeRegistry.register()` takes: a record without the fields the registry fills in. */
/** Consumers of one node for one destination and selector. */
export interface DemandClaim {
  /** `queue://…` or `topic://…`. */
  readonly destination: string;
  /** The consumers' JMS selector; absent: every message. */
  readonly selector?: string;
  /** How many local consumers want it (≥ 1). */
  readonly consumers: number;
}

export interface NodeRegistration {
  readonly name: string;
  readonly site: string;
  readonly listen: readonly string[];
  readonly haGroup?: string;
  readonly haRole?: NodeHaRole;
  readonly admin?: string;
  /** @default FEDMQ_VERSION of @fedmq/protocol */
  readonly version?: string;
  readonly demand?: readonly DemandClaim[];
  readonly links?: readonly string[];
}

/** Names of nodes, sites and HA groups: the topology's rule (`@fedmq/config`'s NAME_PATTERN). */
export const NODE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** Longest name, site or HA group, in characters. */
export const MAX_NAME_LENGTH = 64;
/** Most listen URLs per record. */
export const MAX_LISTEN_URLS = 16;
/** Longest URL or version string, in characters. */
const MAX_TEXT_LENGTH = 256;
const VERSION_PATTERN = /^[0-9A-Za-z][0-9A-Za-z.+-]*$/;
const HA_ROLES: readonly NodeHaRole[] = ["master", "slave"];
const RECORD_FIELDS = new Set(["name", "site", "listen", "haGroup", "haRole", "admin", "version", "epoch", "demand", "links"]);
/** At most this many demand claims and links in a record. */
export const MAX_DEMAND_CLAIMS = 10_000;
export const MAX_LINKS = 1_024;
const MAX_DESTINATION_LENGTH = 1_024;
const MAX_SELECTOR_LENGTH = 4_096;
const UNSPECIFIED_HOSTS = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);

/** The problem with a name-like field, or undefined. */
export function nameProblem(field: string, value: unknown): string | undefined {
  if (typeof value !== "string") return `'${field}' must be a string, got ${describe(value)}`;
  if (!NODE_NAME_PATTERN.test(value)) return `'${field}' must be letters, digits, '_' and '-' starting with a letter, got '${value}'`;
  if (value.length > MAX_NAME_LENGTH) return `'${field}' must be at most ${MAX_NAME_LENGTH} characters, got ${value.length}`;
  return undefined;
}

/** The problem with one listen URL, or undefined. */
export function listenUrlProblem(field: string, value: unknown): string | undefined {
  if (typeof value !== "string") return `'${field}' must be a string, got ${describe(value)}`;
  if (value.length > MAX_TEXT_LENGTH) return `'${field}' must be at most ${MAX_TEXT_LENGTH} characters`;
  let host: string;
  let port: number;
  try {
    ({ host, port } = parseListenUri(value));
  } catch (err) {
    return `'${field}' ${(err as Error).message.replace(/^listener /, "")}`;
  }
  if (port === 0) return `'${field}' '${value}' must name the port it is bound to (1-65535), not 0`;
  if (UNSPECIFIED_HOSTS.has(host)) return `'${field}' '${value}' must name a host other nodes can dial, not the wildcard '${host}'`;
  return undefined;
}

/** The problem with an admin URL, or undefined. */
export function adminUrlProblem(field: string, value: unknown): string | undefined {
  if (typeof value !== "string") return `'${field}' must be a string, got ${describe(value)}`;
  const expected = `'${field}' must be an http:// or https:// URL with a host and a port (e.g. 'http://127.0.0.1:8161'), got '${value}'`;
  if (value.length > MAX_TEXT_LENGTH) return `'${field}' must be at most ${MAX_TEXT_LENGTH} characters`;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return expected;
  }
  if ((u.protocol !== "http:" && u.protocol !== "https:") || u.hostname === "" || u.port === "") return expected;
  if (u.username !== "" || u.password !== "") return `'${field}' must not carry credentials, got a URL with a user`;
  if (UNSPECIFIED_HOSTS.has(u.hostname.replace(/^\[|\]$/g, ""))) return `'${field}' '${value}' must name a host others can reach, not a wildcard`;
  return undefined;
}

/** Every problem of a record-shaped value, in field order. `strict`: unknown fields are problems too. */
function recordProblems(value: unknown, strict: boolean, withStamp: boolean): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return [`a node record must be an object, got ${describe(value)}`];
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  const add = (p: string | undefined): void => {
    if (p !== undefined) problems.push(p);
  };
  add(nameProblem("name", r.name));
  add(nameProblem("site", r.site));
  if (!Array.isArray(r.listen)) {
    problems.push(`'listen' must be a list of URLs, got ${describe(r.listen)}`);
  } else if (r.listen.length === 0) {
    problems.push("'listen' must list at least one URL");
  } else if (r.listen.length > MAX_LISTEN_URLS) {
    problems.push(`'listen' must list at most ${MAX_LISTEN_URLS} URLs, got ${r.listen.length}`);
  } else {
    r.listen.forEach((u, i) => add(listenUrlProblem(`listen[${i}]`, u)));
    const listen = r.listen as unknown[];
    const dup = listen.find((u, i) => listen.indexOf(u) !== i);
    if (dup !== undefined) problems.push(`'listen' lists '${String(dup)}' twice`);
  }
  if (r.haGroup !== undefined) add(nameProblem("haGroup", r.haGroup));
  if (r.haRole !== undefined && !HA_ROLES.includes(r.haRole as NodeHaRole)) {
    problems.push(`'haRole' must be one of ${HA_ROLES.map((x) => `'${x}'`).join(", ")}, got ${describe(r.haRole)}`);
  }
  if ((r.haGroup === undefined) !== (r.haRole === undefined)) {
    problems.push(r.haGroup === undefined ? "'haRole' needs 'haGroup': give both or neither" : "'haGroup' needs 'haRole': give both or neither");
  }
  if (r.admin !== undefined) add(adminUrlProblem("admin", r.admin));
  if (r.demand !== undefined) problems.push(...demandProblems(r.demand));
  if (r.links !== undefined) problems.push(...linksProblems(r.links));
  if (r.version !== undefined || withStamp) {
    if (typeof r.version !== "string" || !VERSION_PATTERN.test(r.version) || r.version.length > 64) {
      problems.push(`'version' must be a version string such as '0.1.0', got ${describe(r.version)}`);
    }
  }
  if (withStamp) {
    if (!Number.isSafeInteger(r.epoch) || (r.epoch as number) < 1) problems.push(`'epoch' must be an integer >= 1, got ${describe(r.epoch)}`);
  } else if (r.epoch !== undefined) {
    problems.push("'epoch' is set by the registry: leave it out");
  }
  if (strict) {
    for (const k of Object.keys(r)) if (!RECORD_FIELDS.has(k)) problems.push(`unknown field '${k}'`);
  }
  return problems;
}

function demandProblems(demand: unknown): string[] {
  if (!Array.isArray(demand)) return [`'demand' must be a list, got ${describe(demand)}`];
  if (demand.length > MAX_DEMAND_CLAIMS) return [`'demand' must list at most ${MAX_DEMAND_CLAIMS} claims, got ${demand.length}`];
  const problems: string[] = [];
  const seen = new Set<string>();
  demand.forEach((c: unknown, i) => {
    const at = `demand[${i}]`;
    if (c === null || typeof c !== "object" || Array.isArray(c)) {
      problems.push(`'${at}' must be an object, got ${describe(c)}`);
      return;
    }
    const d = c as Record<string, unknown>;
    if (typeof d.destination !== "string" || !/^(queue|topic):\/\/./.test(d.destination) || d.destination.length > MAX_DESTINATION_LENGTH) {
      problems.push(`'${at}.destination' must be a queue:// or topic:// destination of at most ${MAX_DESTINATION_LENGTH} characters, got ${describe(d.destination)}`);
    }
    if (d.selector !== undefined && (typeof d.selector !== "string" || d.selector === "" || d.selector.length > MAX_SELECTOR_LENGTH)) {
      problems.push(`'${at}.selector' must be a non-empty string of at most ${MAX_SELECTOR_LENGTH} characters, got ${describe(d.selector)}`);
    }
    if (!Number.isSafeInteger(d.consumers) || (d.consumers as number) < 1) problems.push(`'${at}.consumers' must be an integer >= 1, got ${describe(d.consumers)}`);
    for (const k of Object.keys(d)) if (k !== "destination" && k !== "selector" && k !== "consumers") problems.push(`'${at}' has unknown field '${k}'`);
    const key = `${String(d.destination)}\u0000${String(d.selector ?? "")}`;
    if (seen.has(key)) problems.push(`'${at}' repeats destination '${String(d.destination)}'${d.selector === undefined ? "" : ` with selector '${String(d.selector)}'`}`);
    seen.add(key);
  });
  return problems;
}

function linksProblems(links: unknown): string[] {
  if (!Array.isArray(links)) return [`'links' must be a list of node names, got ${describe(links)}`];
  if (links.length > MAX_LINKS) return [`'links' must list at most ${MAX_LINKS} nodes, got ${links.length}`];
  const problems: string[] = [];
  links.forEach((l, i) => {
    const p = nameProblem(`links[${i}]`, l);
    if (p !== undefined) problems.push(p);
  });
  const dup = links.find((l, i) => links.indexOf(l) !== i);
  if (dup !== undefined) problems.push(`'links' lists '${String(dup)}' twice`);
  return problems;
}

/** Demand claims in canonical order (destination, then selector), each with its fields in order. */
function canonicalDemand(demand: readonly DemandClaim[]): readonly DemandClaim[] {
  const key = (c: DemandClaim) => `${c.destination}\u0000${c.selector ?? ""}`;
  return Object.freeze([...demand].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)).map((c) => Object.freeze({
    destination: c.destination, ...(c.selector === undefined ? {} : { selector: c.selector }), consumers: c.consumers,
  })));
}

/** Throws `InvalidNodeRecordError` listing every problem of a registration; returns a canonical copy. */
export function validateRegistration(value: unknown): NodeRegistration {
  const problems = recordProblems(value, true, false);
  if (problems.length > 0) throw new InvalidNodeRecordError(`node record is not valid: ${problems.join("; ")}`);
  const r = value as NodeRegistration;
  return Object.freeze({
    name: r.name,
    site: r.site,
    listen: Object.freeze([...r.listen]),
    ...(r.haGroup !== undefined ? { haGroup: r.haGroup, haRole: r.haRole } : {}),
    ...(r.admin !== undefined ? { admin: r.admin } : {}),
    ...(r.version !== undefined ? { version: r.version } : {}),
    ...(r.demand !== undefined ? { demand: canonicalDemand(r.demand) } : {}),
    ...(r.links !== undefined ? { links: Object.freeze([...r.links].sort()) } : {}),
  });
}

/** A frozen record with its fields in canonical order (so equal records encode to equal bytes). */
export function canonicalRecord(r: NodeRecord): NodeRecord {
  return Object.freeze({
    name: r.name,
    site: r.site,
    listen: Object.freeze([...r.listen]),
    ...(r.haGroup !== undefined ? { haGroup: r.haGroup } : {}),
    ...(r.haRole !== undefined ? { haRole: r.haRole } : {}),
    ...(r.admin !== undefined ? { admin: r.admin } : {}),
    version: r.version,
    epoch: r.epoch,
    ...(r.demand !== undefined ? { demand: canonicalDemand(r.demand) } : {}),
    ...(r.links !== undefined ? { links: Object.freeze([...r.links].sort()) } : {}),
  });
}

/** The bytes stored in the bucket for `record`. */
export function encodeNodeRecord(record: NodeRecord): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(canonicalRecord(record)));
}

/**
 * Parses a bucket value stored under `key`. Throws `InvalidNodeRecordError` naming what is wrong
 * (not JSON, a bad field, a `name` other than the key); fields it does not know are dropped.
 */
export function decodeNodeRecord(key: string, bytes: Uint8Array): NodeRecord {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new InvalidNodeRecordError(`value of key '${key}' is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const problems = recordProblems(value, false, true);
  if (problems.length > 0) throw new InvalidNodeRecordError(`value of key '${key}' is not a valid node record: ${problems.join("; ")}`);
  const record = canonicalRecord(value as NodeRecord);
  if (record.name !== key) throw new InvalidNodeRecordError(`value of key '${key}' names node '${record.name}': a node's key must be its name`);
  return record;
}

/** True when both records have the same fields and values. */
export function sameRecord(a: NodeRecord, b: NodeRecord): boolean {
  return JSON.stringify(canonicalRecord(a)) === JSON.stringify(canonicalRecord(b));
}

/** A short description of a value of the wrong type, for messages. */
function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "string") return `'${v.length > 80 ? `${v.slice(0, 80)}…` : v}'`;
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

