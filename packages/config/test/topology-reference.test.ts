/**
 * docs/topology.md against the code, so the two cannot drift: every object and key the schema
 * accepts is documented and nothing else is, `required` marks exactly the keys a file must give,
 * the documented defaults are the defaults tables' and the loader's, and the doc's examples
 * validate as shown. The doc's conventions are in the comment at its top.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { DEFAULT_LEASE_TIMING } from "@fedmq/protocol";
import {
  DEFAULT_CONNECTOR_OPTIONS,
  DEFAULT_HA_OPTIONS,
  DEFAULT_NODE_OPTIONS,
  DEFAULT_TLS_OPTIONS,
  DEFAULT_SECURITY_OPTIONS,
  DEFAULT_DISCOVERY_OPTIONS,
  formatTopologyIssue,
  parseTopology,
  TopologyError,
  TopologyInputSchema,
  type Topology,
} from "@fedmq/config";
import { yaml } from "./helpers";

const DOC_FILE = path.resolve(__dirname, "../../../docs/topology.md");

// ---- the schema's objects ----------------------------------------------------------------------

interface SchemaKey {
  /** May be left out of a file. */
  readonly optional: boolean;
  readonly schema: z.ZodType;
}

/**
 * Every object the schema accepts, by path: `""` (the top level), `nodes.<name>`,
 * `connectors[]`, `nodes.<name>.ha` (the keys every `mode` has) and
 * `nodes.<name>.ha mode: redis` (the keys of one mode).
 */
function schemaObjects(schema: z.ZodType, at: string, out: Map<string, Map<string, SchemaKey>>): void {
  if (schema instanceof z.ZodOptional) return schemaObjects(schema.unwrap() as z.ZodType, at, out);
  if (schema instanceof z.ZodRecord) return schemaObjects(schema.valueType as z.ZodType, `${at}.<name>`, out);
  if (schema instanceof z.ZodArray) return schemaObjects(schema.element as z.ZodType, `${at}[]`, out);
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const discriminator = schema._zod.def.discriminator;
    const options = schema.options as readonly z.ZodObject[];
    const keysOf = (o: z.ZodObject) => Object.keys(o.shape);
    const common = keysOf(options[0]!).filter((key) => options.every((o) => key in o.shape));
    for (const option of options) {
      const value = String((option.shape[discriminator] as z.ZodLiteral).value);
      addObject(option, common, at, out);
      addObject(option, keysOf(option).filter((key) => !common.includes(key)), `${at} ${discriminator}: ${value}`, out);
    }
    return;
  }
  if (schema instanceof z.ZodUnion) {
    for (const option of schema.options as readonly z.ZodType[]) schemaObjects(option, at, out);
    return;
  }
  if (schema instanceof z.ZodObject) addObject(schema, Object.keys(schema.shape), at, out);
}

function addObject(object: z.ZodObject, keys: readonly string[], at: string, out: Map<string, Map<string, SchemaKey>>): void {
  const entry = new Map(keys.map((key): [string, SchemaKey] => {
    const schema = object.shape[key] as z.ZodType;
    return [key, { optional: schema.safeParse(undefined).success, schema }];
  }));
  const earlier = out.get(at);
  if (earlier !== undefined && [...earlier.keys()].join() !== keys.join()) {
    throw new Error(`the schema has two shapes at '${at}' (${[...earlier.keys()].join(", ")} / ${keys.join(", ")}); document them apart`);
  }
  out.set(at, entry);
  for (const key of keys) schemaObjects(object.shape[key] as z.ZodType, at === "" ? key : `${at}.${key}`, out);
}

const SCHEMA = new Map<string, Map<string, SchemaKey>>();
schemaObjects(TopologyInputSchema, "", SCHEMA);

/** The defaults tables in code, by the object they are the defaults of. */
const CODE_DEFAULTS: Readonly<Record<string, object>> = {
  defaults: DEFAULT_NODE_OPTIONS,
  "nodes.<name>.ha mode: replicated": DEFAULT_HA_OPTIONS,
  "nodes.<name>.ha.lease": DEFAULT_LEASE_TIMING,
  "connectors[]": DEFAULT_CONNECTOR_OPTIONS,
  "security.tls": DEFAULT_TLS_OPTIONS,
  security: DEFAULT_SECURITY_OPTIONS,
  discovery: DEFAULT_DISCOVERY_OPTIONS,
};

// ---- the doc's tables and examples -------------------------------------------------------------

/** `object[key]`, for the code's option interfaces. */
const valueOf = (object: object, key: string): unknown => (object as Record<string, unknown>)[key];

/** How messages name an object. */
const label = (object: string): string => (object === "" ? "the top level" : `'${object}'`);

type DocDefault =
  | { readonly kind: "required" }
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "prose"; readonly text: string };

interface DocRow {
  readonly key: string;
  readonly line: number;
  readonly default: DocDefault;
}

interface Doc {
  /** Table rows by the object their heading names. */
  readonly sections: ReadonlyMap<string, readonly DocRow[]>;
  /** Fenced code blocks, in order. */
  readonly blocks: readonly { readonly lang: string; readonly body: string; readonly line: number }[];
  /** What does not follow the conventions. */
  readonly problems: readonly string[];
}

function defaultOf(cell: string): DocDefault {
  if (cell === "required") return { kind: "required" };
  const literal = /^`([^`]*)`/.exec(cell);
  return literal === null ? { kind: "prose", text: cell } : { kind: "value", value: parseYaml(literal[1]!) as unknown };
}

function readDoc(text: string): Doc {
  const sections = new Map<string, DocRow[]>();
  const blocks: { lang: string; body: string; line: number }[] = [];
  const problems: string[] = [];
  /** The heading each object's table is under. */
  const headingLines = new Map<string, number>();
  let heading: { readonly object: string; readonly line: number } | undefined;
  let header: string[] | undefined;
  let block: { lang: string; lines: string[]; line: number } | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const fence = /^```(\w*)/.exec(raw);
    if (block !== undefined) {
      if (fence !== null) {
        blocks.push({ lang: block.lang, body: block.lines.join("\n") + "\n", line: block.line });
        block = undefined;
      } else block.lines.push(raw);
      return;
    }
    if (fence !== null) {
      block = { lang: fence[1]!, lines: [], line };
      return;
    }
    const title = /^#+\s+(.*)$/.exec(raw);
    if (title !== null) {
      heading = { object: [...title[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]).join(" "), line };
      header = undefined;
      return;
    }
    if (!raw.startsWith("|")) {
      header = undefined;
      return;
    }
    const cells = raw.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
    if (header === undefined) {
      header = cells.map((cell) => cell.toLowerCase());
      return;
    }
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) return;
    const key = /^`([^`]+)`$/.exec(cells[0] ?? "")?.[1];
    const defaultCell = cells[header.indexOf("default")];
    if (heading === undefined || key === undefined || defaultCell === undefined) {
      problems.push(`docs/topology.md:${line}: a table row needs a heading above it, its key in backticks and a 'default' column`);
      return;
    }
    const first = headingLines.get(heading.object) ?? heading.line;
    const twice = `docs/topology.md:${heading.line}: ${label(heading.object)} has a table under line ${first} already`;
    if (first !== heading.line && !problems.includes(twice)) problems.push(twice);
    headingLines.set(heading.object, first);
    sections.set(heading.object, [...(sections.get(heading.object) ?? []), { key, line, default: defaultOf(defaultCell) }]);
  });
  return { sections, blocks, problems };
}

const DOC = readDoc(readFileSync(DOC_FILE, "utf8"));

/** Each documented object that the schema has, with its rows. */
function documented(): [string, readonly DocRow[], ReadonlyMap<string, SchemaKey>][] {
  return [...DOC.sections].flatMap(([object, rows]) => {
    const keys = SCHEMA.get(object);
    return keys === undefined ? [] : [[object, rows, keys]];
  });
}

// ---- the checks --------------------------------------------------------------------------------

describe("docs/topology.md", () => {
  it("has one table for each object of the schema, and none for anything else", () => {
    const problems = [...DOC.problems];
    for (const object of SCHEMA.keys()) {
      if (!DOC.sections.has(object)) problems.push(`${label(object)} is in the schema but has no table (a heading naming \`${object}\` above a table of its keys)`);
    }
    for (const [object, rows] of DOC.sections) {
      if (!SCHEMA.has(object)) problems.push(`docs/topology.md:${rows[0]!.line}: the table of ${label(object)} documents an object the schema does not have`);
    }
    expect(problems).toEqual([]);
  });

  it("documents every key the schema accepts, and no other", () => {
    const problems: string[] = [];
    for (const [object, rows, keys] of documented()) {
      const seen = new Set<string>();
      for (const row of rows) {
        if (seen.has(row.key)) problems.push(`docs/topology.md:${row.line}: ${label(object)}: key '${row.key}' is documented twice`);
        else if (!keys.has(row.key)) problems.push(`docs/topology.md:${row.line}: ${label(object)}: key '${row.key}' is documented but the schema refuses it`);
        seen.add(row.key);
      }
      for (const key of keys.keys()) {
        if (!seen.has(key)) problems.push(`${label(object)}: key '${key}' is accepted by the schema but not documented`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("says 'required' for exactly the keys a file must give", () => {
    const problems: string[] = [];
    for (const [object, rows, keys] of documented()) {
      for (const row of rows) {
        const optional = keys.get(row.key)?.optional;
        if (optional === undefined || optional === (row.default.kind !== "required")) continue;
        problems.push(`docs/topology.md:${row.line}: ${label(object)}: '${row.key}' is ${optional ? "optional" : "required"} in the schema`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("gives the defaults of the code's defaults tables, and only those", () => {
    expect(Object.keys(CODE_DEFAULTS).filter((object) => !SCHEMA.has(object))).toEqual([]);
    const problems: string[] = [];
    for (const [object, rows, keys] of documented()) {
      const table = CODE_DEFAULTS[object] ?? {};
      for (const key of Object.keys(table).filter((k) => !rows.some((row) => row.key === k))) {
        problems.push(`${label(object)}: '${key}' defaults to ${JSON.stringify(valueOf(table, key))} in code but is not documented`);
      }
      for (const row of rows) {
        const inCode = Object.hasOwn(table, row.key);
        const where = `docs/topology.md:${row.line}: ${label(object)}: '${row.key}'`;
        if (row.default.kind !== "value") {
          if (inCode) problems.push(`${where} defaults to ${JSON.stringify(valueOf(table, row.key))} in code; give it in backticks`);
          continue;
        }
        const shown = JSON.stringify(row.default.value);
        if (!inCode) problems.push(`${where}: the doc gives default ${shown}, the code's defaults tables none`);
        else if (!isDeepStrictEqual(row.default.value, valueOf(table, row.key))) {
          problems.push(`${where} defaults to ${JSON.stringify(valueOf(table, row.key))} in code, the doc says ${shown}`);
        }
        if (keys.get(row.key)?.schema.safeParse(row.default.value).success === false) problems.push(`${where}: the schema refuses the documented default ${shown}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("gives the defaults the loader applies", () => {
    const minimal = (connectorOptions = ""): Topology =>
      parseTopology(
        yaml(
          "network: n",
          "nodes:",
          "  a: { site: s, listen: tcp://127.0.0.1:1 }",
          "  b: { site: s, listen: tcp://127.0.0.1:2 }",
          "  r: { site: s, listen: tcp://127.0.0.1:3, ha: { group: g, mode: replicated, replicaListen: tcp://127.0.0.1:4, election: redis://127.0.0.1:6379/0 } }",
          `connectors: [{ name: c, from: a, to: b${connectorOptions} }]`,
        ),
        "/tmp/fedmq-doc/n.yaml",
      );
    const t = minimal();
    const a = t.nodes["a"]!;
    const ha = t.nodes["r"]!.ha!;
    const loaded: Readonly<Record<string, object>> = {
      // A node without a `dataDir` gets `<defaults.dataDir>/<node>`.
      defaults: { ...a, dataDir: path.relative("/tmp/fedmq-doc", path.dirname(a.dataDir)) },
      "nodes.<name>.ha mode: replicated": ha,
      "nodes.<name>.ha.lease": ha.lease,
      "connectors[]": t.connectors[0]!,
    };
    const problems: string[] = [];
    for (const [object, rows] of documented()) {
      const values = loaded[object];
      if (values === undefined) continue;
      for (const row of rows) {
        const where = `docs/topology.md:${row.line}: ${label(object)}: '${row.key}'`;
        if (row.default.kind === "value") {
          const value = object === "defaults" && row.key === "dataDir" ? path.normalize(String(row.default.value)) : row.default.value;
          const given = valueOf(values, row.key);
          if (!isDeepStrictEqual(given, value)) problems.push(`${where}: the loader gives ${JSON.stringify(given)}, the doc says ${JSON.stringify(value)}`);
        }
        // "as `networkTTL`": the key follows another key of the same object.
        const other = row.default.kind === "prose" ? /^as `([^`]+)`$/.exec(row.default.text)?.[1] : undefined;
        if (other !== undefined && object === "connectors[]") {
          const followed = valueOf(minimal(`, ${other}: 7`).connectors[0]!, row.key);
          if (followed !== 7) problems.push(`${where}: does not follow '${other}' (${other}: 7 gives ${JSON.stringify(followed)})`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("shows examples that validate as shown", () => {
    const examples = DOC.blocks.flatMap((block, i) => (block.lang === "yaml" ? [[block, DOC.blocks[i + 1]] as const] : []));
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const [example, output] of examples) {
      const [command, ...printed] = (output?.lang === "console" ? output.body.trimEnd() : "").split("\n");
      const file = /^\$ fedmq validate (\S+)$/.exec(command ?? "")?.[1];
      if (file === undefined) throw new Error(`docs/topology.md:${example.line}: a yaml example needs a console block after it, starting with '$ fedmq validate FILE'`);
      const shown = printed.filter((line) => !line.startsWith("fedmq: "));
      let loaded: Topology | undefined;
      try {
        loaded = parseTopology(example.body, file);
      } catch (err) {
        if (!(err instanceof TopologyError)) throw err;
        expect(shown).toEqual([err.message.split("\n")[0], ...err.issues.map(formatTopologyIssue)]);
      }
      if (loaded !== undefined) {
        // The CLI words the success line; the network's name is the loader's.
        expect(shown).toHaveLength(1);
        expect(shown[0]).toContain(`${file}: valid`);
        expect(shown[0]).toContain(`network '${loaded.network}'`);
      }
    }
  });
});
