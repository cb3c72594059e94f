import { InvalidUriError } from "./errors";

/** A transport endpoint: `tcp://host:port`, `tls://host:port` or `vm://name`. */
export interface EndpointUri {
  readonly kind: "endpoint";
  readonly scheme: "tcp" | "tls" | "vm";
  readonly host: string;
  /** 0 for vm. */
  readonly port: number;
  readonly params: Readonly<Record<string, string>>;
  /** The URI as written, without its query. */
  readonly text: string;
}

/** `failover:(…)`, `static:(…)` or `masterslave:(…)` over a list of endpoints. */
export interface CompositeUri {
  readonly kind: "composite";
  readonly scheme: "failover" | "static" | "masterslave";
  readonly uris: readonly EndpointUri[];
  readonly params: Readonly<Record<string, string>>;
}

export type ParsedUri = EndpointUri | CompositeUri;

const COMPOSITE = new Set(["failover", "static", "masterslave"]);

export function parseUri(text: string): ParsedUri {
  if (typeof text !== "string" || text.trim() === "") throw new InvalidUriError("uri is empty");
  const s = text.trim();
  const colon = s.indexOf(":");
  const scheme = colon > 0 ? s.slice(0, colon) : "";
  if (COMPOSITE.has(scheme)) return parseComposite(scheme as CompositeUri["scheme"], s.slice(colon + 1), s);
  return parseEndpoint(s);
}

export function parseEndpoint(text: string): EndpointUri {
  const m = /^(tcp|tls|vm):\/\/([^?/]*)(?:\/)?(?:\?(.*))?$/.exec(text);
  if (!m) {
    throw new InvalidUriError(`uri '${text}' is not valid: expected tcp://host:port, tls://host:port, vm://name, failover:(…), static:(…) or masterslave:(…)`);
  }
  const scheme = m[1] as EndpointUri["scheme"];
  const authority = m[2]!;
  const params = parseQuery(m[3], text);
  if (scheme === "vm") {
    if (!authority) throw new InvalidUriError(`uri '${text}' has no vm name`);
    return { kind: "endpoint", scheme, host: authority, port: 0, params, text: `vm://${authority}` };
  }
  const hp = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(authority);
  if (!hp) throw new InvalidUriError(`uri '${text}' needs host:port`);
  const port = Number(hp[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidUriError(`uri '${text}' has port ${hp[2]} out of range 0-65535`);
  const host = hp[1]!.replace(/^\[|\]$/g, "");
  return { kind: "endpoint", scheme, host, port, params, text: `${scheme}://${hp[1]}:${port}` };
}

function parseComposite(scheme: CompositeUri["scheme"], rest: string, whole: string): CompositeUri {
  let list: string;
  let query: string | undefined;
  if (rest.startsWith("(")) {
    const close = rest.lastIndexOf(")");
    if (close < 0) throw new InvalidUriError(`uri '${whole}' has '(' without a closing ')'`);
    list = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "" && !after.startsWith("?")) throw new InvalidUriError(`uri '${whole}' has unexpected text '${after}' after ')'`);
    query = after ? after.slice(1) : undefined;
  } else {
    // failover:tcp://a:1,tcp://b:2?opts — the query belongs to the composite.
    const q = rest.indexOf("?");
    list = q >= 0 ? rest.slice(0, q) : rest;
    query = q >= 0 ? rest.slice(q + 1) : undefined;
  }
  const parts = list.split(",").map((p) => p.trim()).filter((p) => p !== "");
  if (parts.length === 0) throw new InvalidUriError(`uri '${whole}' lists no endpoints`);
  const uris = parts.map((p) => {
    const inner = parseUri(p);
    if (inner.kind !== "endpoint") throw new InvalidUriError(`uri '${whole}' nests '${inner.scheme}:' inside '${scheme}:'`);
    return inner;
  });
  return { kind: "composite", scheme, uris, params: parseQuery(query, whole) };
}

function parseQuery(q: string | undefined, whole: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!q) return out;
  for (const pair of q.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new InvalidUriError(`uri '${whole}' has option '${pair}' without a value`);
    try {
      out[decodeURIComponent(pair.slice(0, eq))] = decodeURIComponent(pair.slice(eq + 1));
    } catch (err) {
      throw new InvalidUriError(`uri '${whole}' has a badly escaped option '${pair}'`, { cause: err });
    }
  }
  return out;
}

/** The endpoints a URI names, whatever its form. */
export function endpointsOf(uri: ParsedUri): readonly EndpointUri[] {
  return uri.kind === "endpoint" ? [uri] : uri.uris;
}
