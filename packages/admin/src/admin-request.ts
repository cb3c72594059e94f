import type http from "node:http";
import type { FastifyRequest } from "fastify";
import { BadParameterError } from "./admin-errors";

/**
 * How the admin endpoint reads a request target, the same as before it was served by fastify:
 *
 * - The target is parsed as a WHATWG URL (dot segments resolved, unsafe characters
 *   percent-encoded, an absolute-form target reduced to its path) and trailing slashes are
 *   dropped (`/api/v1/broker/` is `/api/v1/broker`). A target that is no URL answers 400.
 * - Path segments are matched as they are written: `/api/v1/%62roker` is no route. fastify's
 *   router decodes a path before matching it, so the rewritten target doubles every `%` (`%25`),
 *   which the router decodes back to the text as written; `decodePathParams` then decodes the
 *   parameters, so a malformed one answers 400 naming the parameter.
 * - The query is read with URLSearchParams; a repeated parameter is an array (the schema refuses
 *   it).
 */
export interface AdminTarget {
  /** The path as the routes see it (no trailing slash), used in error messages. */
  readonly pathname: string;
  /** `?…` or "". */
  readonly search: string;
  /** The target as received, when it is no URL (the not-found handler answers 400). */
  readonly invalid?: string;
}

const targets = new WeakMap<http.IncomingMessage, AdminTarget>();

/** Where a target that is not a URL is routed: no route has this path, so the 404 handler answers it. */
const UNROUTABLE = "/%25invalid-request-target";

/** fastify's `rewriteUrl`: normalises the target as above; never throws. */
export function rewriteTarget(req: http.IncomingMessage): string {
  const raw = req.url ?? "/";
  let url: URL;
  try {
    url = new URL(raw, "http://admin.invalid");
  } catch {
    targets.set(req, { pathname: raw, search: "", invalid: raw });
    return UNROUTABLE;
  }
  const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, "") : url.pathname;
  targets.set(req, { pathname, search: url.search });
  return pathname.replaceAll("%", "%25") + url.search;
}

/** The request's target as `rewriteTarget` read it. */
export function targetOf(request: FastifyRequest): AdminTarget {
  return targets.get(request.raw) ?? { pathname: request.url.split("?")[0]!, search: "" };
}

/** The 400 for a request target that is no URL. */
export function invalidTarget(target: string): BadParameterError {
  return new BadParameterError("path", `request target '${target}' is not a valid path`);
}

/** fastify's `querystringParser`: URLSearchParams, a repeated name collected into an array. */
export function parseQuery(search: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of new URLSearchParams(search)) {
    const prev = out[name];
    out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
  }
  return out;
}

/**
 * Decodes path parameters in place (the router hands them over as written, see `AdminTarget`).
 * Throws BadParameterError for malformed percent-encoding; with `requireNonEmpty`, also for an
 * empty value (a route's params schema checks that itself).
 */
export function decodePathParams(params: Record<string, string>, requireNonEmpty = false): void {
  for (const [name, raw] of Object.entries(params)) {
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw new BadParameterError(name, `parameter '${name}' is not valid percent-encoding: '${raw}'`);
    }
    if (requireNonEmpty && value === "") throw emptyParameter(name);
    params[name] = value;
  }
}

function emptyParameter(name: string): BadParameterError {
  return new BadParameterError(name, `parameter '${name}' is empty`);
}

/** A schema property of the querystring or params: a string, optionally one of `enum`. */
interface StringSchema {
  readonly type: "string";
  readonly enum?: readonly string[];
  readonly minLength?: number;
}

/** An object schema of the querystring or params. */
export interface PartSchema {
  readonly type: "object";
  readonly properties: Readonly<Record<string, StringSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties: false;
}

/** One error of ajv, as fastify attaches it to a validation error (`err.validation`). */
interface SchemaError {
  readonly keyword: string;
  readonly instancePath: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

/**
 * The schema error formatting of the admin endpoint: turns fastify's validation error (params
 * or querystring against the route's schema) into the BadParameterError the endpoint answered
 * before, message for message. The message names the method and path, and among several faults
 * the first in the request's order, which fastify's `schemaErrorFormatter` (given only ajv's
 * errors) cannot see: so this runs in the error handler, with the request.
 */
export function schemaViolation(request: FastifyRequest, part: string, errors: readonly SchemaError[]): BadParameterError {
  const schema = (request.routeOptions.schema as Record<string, PartSchema | undefined> | undefined)?.[part];
  const first = errors[0];
  if (part === "querystring" && schema) {
    const { pathname, search } = targetOf(request);
    const found = firstQueryFault(schema, new URLSearchParams(search), request.method, pathname);
    if (found) return found;
  }
  const name = first?.instancePath.replace(/^\//, "") || String(first?.params.missingProperty ?? first?.params.additionalProperty ?? part);
  if (first?.keyword === "minLength") return emptyParameter(name);
  return new BadParameterError(name, `parameter '${name}' is not valid: ${first?.message ?? "it does not match the schema"}`);
}

/** The first parameter, in the request's order, that the querystring schema refuses, described. */
function firstQueryFault(schema: PartSchema, search: URLSearchParams, method: string, pathname: string): BadParameterError | undefined {
  const known = Object.keys(schema.properties);
  const seen = new Set<string>();
  for (const [name, value] of search) {
    const p = Object.hasOwn(schema.properties, name) ? schema.properties[name] : undefined;
    if (!p) {
      return new BadParameterError(name, `unknown parameter '${name}' for ${method} ${pathname}: ${known.length ? `it takes ${known.map((k) => `'${k}'`).join(", ")}` : "it takes none"}`);
    }
    if (seen.has(name)) return new BadParameterError(name, `parameter '${name}' is given more than once`);
    if (p.enum && !p.enum.includes(value)) {
      return new BadParameterError(name, `parameter '${name}' is '${value}': expected ${p.enum.map((a) => `'${a}'`).join(" or ")}`);
    }
    if (value === "") return emptyParameter(name);
    seen.add(name);
  }
  return undefined;
}
