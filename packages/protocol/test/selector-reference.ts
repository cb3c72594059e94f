/**
 * Test-only model of JMS selectors: a generator of valid selector trees, a printer to text (with
 * only the parentheses precedence needs, random keyword case and spacing), and a straightforward
 * reference evaluator written from the documented semantics, independent of src/selector; plus
 * the small helpers the selector suites share.
 */
import fc from "fast-check";
import { compileSelector, type SelectorLookup, type SelectorValue } from "../src";

export type Val = string | number | boolean | null;
/** Identifier values of a message; a missing key is a missing identifier. */
export type Values = Readonly<Record<string, SelectorValue | undefined>>;

/** The lookup over `values` (own keys only). */
export const lookupOf = (values: Values): SelectorLookup => (name) => (Object.prototype.hasOwnProperty.call(values, name) ? values[name] : undefined);

/** The three-valued result of `text` for a message holding `values`. */
export const ev = (text: string, values: Values = {}): boolean | null => compileSelector(text).evaluate(lookupOf(values));

/** The message `compileSelector(text)` throws; fails when it compiles. */
export function messageOf(text: string): string {
  try {
    compileSelector(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`'${text}' compiled`);
}
export type Env = Readonly<Record<string, Val | undefined>>;

export type RExpr =
  | { k: "num"; v: number; text: string }
  | { k: "str"; v: string }
  | { k: "bool"; v: boolean }
  | { k: "null" }
  | { k: "id"; name: string }
  | { k: "arith"; op: "+" | "-" | "*" | "/" | "%"; l: RExpr; r: RExpr }
  | { k: "sign"; op: "+" | "-"; e: RExpr }
  | { k: "and" | "or"; l: RExpr; r: RExpr }
  | { k: "not"; e: RExpr }
  | { k: "cmp"; op: "=" | "<>" | "<" | "<=" | ">" | ">="; l: RExpr; r: RExpr }
  | { k: "between"; not: boolean; v: RExpr; lo: RExpr; hi: RExpr }
  | { k: "like"; not: boolean; v: RExpr; pat: string; esc: string | null }
  | { k: "in"; not: boolean; id: string; list: string[] }
  | { k: "isnull"; not: boolean; v: RExpr };

export const IDS = ["a", "b", "c", "_d", "$e"] as const;

const numLit: fc.Arbitrary<RExpr> = fc.oneof(
  fc.oneof(fc.constantFrom(0, 1, 2, 3, 10), fc.integer({ min: 0, max: 20 })).chain((v) =>
    fc.constantFrom(String(v), `${v}L`, `${v}l`, `0x${v.toString(16)}`, `0X${v.toString(16).toUpperCase()}`, v === 0 ? "0" : `0${v.toString(8)}`)
      .map((text) => ({ k: "num" as const, v, text }))),
  fc.constantFrom<[number, string]>([0.5, "0.5"], [0.5, ".5"], [2.5, "2.5"], [2.5, "25e-1"], [100, "1e2"], [1.5, "1.5E0"], [3, "3."], [3, "3.0"])
    .map(([v, text]) => ({ k: "num" as const, v, text })),
);
const strLit: fc.Arbitrary<RExpr> = fc.constantFrom("", "a", "abc", "1", "2.5", "-3", "0x1", "true", "TRUE", "it's", "x y", "a%c")
  .map((v) => ({ k: "str" as const, v }));
const idRef: fc.Arbitrary<RExpr> = fc.constantFrom(...IDS).map((name) => ({ k: "id" as const, name }));
const boolLit: fc.Arbitrary<RExpr> = fc.boolean().map((v) => ({ k: "bool" as const, v }));
const nullLit: fc.Arbitrary<RExpr> = fc.constant({ k: "null" as const });

/** Stands in for an operand the parser would refuse (NULL in `=`, TRUE against a literal). */
const A: RExpr = { k: "id", name: "a" };
const isLiteral = (e: RExpr): boolean => e.k === "num" || e.k === "str" || e.k === "bool";

/** Selector trees that pass the parser's checks: `cond` for a whole selector. */
export const selectorTree = fc.letrec<{ cond: RExpr; num: RExpr; operand: RExpr; eqSide: RExpr }>((tie) => ({
  // Orderable: no string/boolean/NULL literal, no boolean expression.
  num: fc.oneof({ depthSize: "small", maxDepth: 4, withCrossShrink: true },
    { arbitrary: numLit, weight: 2 }, { arbitrary: idRef, weight: 3 },
    fc.record({ k: fc.constant("arith" as const), op: fc.constantFrom("+", "-", "*", "/", "%" as const), l: tie("operand"), r: tie("operand") }),
    fc.record({ k: fc.constant("sign" as const), op: fc.constantFrom("+", "-" as const), e: tie("operand") })),
  // Arithmetic operands may also be string literals (converted) and NULL.
  operand: fc.oneof({ depthSize: "small" }, { arbitrary: tie("num"), weight: 6 }, { arbitrary: strLit, weight: 2 }, { arbitrary: nullLit, weight: 1 }),
  eqSide: fc.oneof({ depthSize: "small" }, tie("num"), strLit, boolLit, tie("cond")),
  cond: fc.oneof({ depthSize: "large", maxDepth: 7, withCrossShrink: true },
    boolLit, nullLit, idRef,
    fc.record({ k: fc.constant("not" as const), e: tie("cond") }),
    { arbitrary: fc.record({ k: fc.constantFrom("and" as const, "or" as const), l: tie("cond"), r: tie("cond") }), weight: 5 },
    fc.record({ k: fc.constant("cmp" as const), op: fc.constantFrom("=", "<>" as const), l: tie("eqSide"), r: tie("eqSide") })
      .map((e) => (e.l.k === "null" ? { ...e, l: A } : e))
      .map((e) => (e.r.k === "null" || (isLiteral(e.l) && isLiteral(e.r) && (e.l.k === "bool") !== (e.r.k === "bool")) ? { ...e, r: A } : e)),
    fc.record({ k: fc.constant("cmp" as const), op: fc.constantFrom("<", "<=", ">", ">=" as const), l: tie("num"), r: tie("num") }),
    fc.record({ k: fc.constant("between" as const), not: fc.boolean(), v: tie("num"), lo: tie("num"), hi: tie("num") }),
    fc.record({
      k: fc.constant("like" as const), not: fc.boolean(), v: fc.oneof(idRef, strLit, numLit),
      pat: fc.oneof(
        fc.constantFrom("a!%c", "a!_c", "a%!%", "!%%", "!!%", "a!!", "__!_", "a%", "%c", "_b_", "a%%c", "%", "", "a!c", "1%", "_"),
        fc.array(fc.constantFrom("a", "b", "c", "%", "_", "!", "'", ".", "*"), { maxLength: 6 }).map((cs) => cs.join("")),
      ),
      esc: fc.constantFrom(null, "!", "%", "_"),
    }),
    fc.record({ k: fc.constant("in" as const), not: fc.boolean(), id: fc.constantFrom(...IDS), list: fc.array(fc.constantFrom("a", "abc", "1", "", "true"), { minLength: 1, maxLength: 3 }) }),
    fc.record({ k: fc.constant("isnull" as const), not: fc.boolean(), v: fc.oneof(tie("num"), strLit, tie("cond")) }),
  ),
}));

/** A message: each identifier missing or holding a string (numeric or not), a number or a boolean. */
export const envArb: fc.Arbitrary<Env> = fc.record(
  Object.fromEntries(IDS.map((id) => [id, fc.oneof(
    fc.constant(undefined),
    fc.constantFrom("", "a", "abc", "1", "2.5", "-3", "0", "10", "true", "TRUE", "false", "a%c", "a_c", "a!c", "a!%c", "_b_", "%", "_", "x y", "it's", " 1", "1e2", "0x1"),
    fc.constantFrom(-3, 0, 0.5, 1, 2.5, 3, 10),
    fc.boolean(),
  )])),
);

/** How keywords are cased and tokens separated when printing. */
export interface PrintStyle {
  readonly keywordCase: "upper" | "lower" | "mixed";
  readonly space: string;
}
export const printStyleArb: fc.Arbitrary<PrintStyle> = fc.record({
  keywordCase: fc.constantFrom("upper", "lower", "mixed" as const),
  space: fc.constantFrom(" ", "  ", "\t", "\n", " /* c */ ", " -- c\n"),
});

const PREC: Record<string, number> = { or: 1, and: 2, not: 3, isnull: 4, between: 5, like: 5, in: 5 };
const precOf = (e: RExpr): number => {
  if (e.k === "cmp") return e.op === "=" || e.op === "<>" ? 4 : 5;
  if (e.k === "arith") return e.op === "+" || e.op === "-" ? 6 : 7;
  if (e.k === "sign") return 8;
  return PREC[e.k] ?? 9;
};

/** Prints a tree as selector text, parenthesising only where precedence or associativity needs it. */
export function printSelector(e: RExpr, style: PrintStyle = { keywordCase: "upper", space: " " }): string {
  const kw = (w: string): string => style.keywordCase === "upper" ? w : style.keywordCase === "lower" ? w.toLowerCase()
    : [...w].map((c, i) => (i % 2 ? c.toLowerCase() : c)).join("");
  const sp = style.space;
  const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  const p = (x: RExpr, min: number): string => {
    const s = body(x);
    return precOf(x) < min ? `(${sp}${s}${sp})` : s;
  };
  const not = (n: boolean): string => (n ? `${kw("NOT")}${sp}` : "");
  const body = (x: RExpr): string => {
    switch (x.k) {
      case "num": return x.text;
      case "str": return quote(x.v);
      case "bool": return kw(x.v ? "TRUE" : "FALSE");
      case "null": return kw("NULL");
      case "id": return x.name;
      case "arith": return [p(x.l, precOf(x)), x.op, p(x.r, precOf(x) + 1)].join(sp);
      case "sign": return `${x.op}${sp}${p(x.e, 8)}`;
      case "and": case "or": return [p(x.l, precOf(x)), kw(x.k.toUpperCase()), p(x.r, precOf(x) + 1)].join(sp);
      case "not": return `${kw("NOT")}${sp}${p(x.e, 3)}`;
      case "cmp": return x.op === "=" || x.op === "<>" ? [p(x.l, 4), x.op, p(x.r, 5)].join(sp) : [p(x.l, 6), x.op, p(x.r, 6)].join(sp);
      case "between": return [p(x.v, 6), `${not(x.not)}${kw("BETWEEN")}`, p(x.lo, 6), kw("AND"), p(x.hi, 6)].join(sp);
      case "like": return [p(x.v, 6), `${not(x.not)}${kw("LIKE")}`, quote(x.pat), ...(x.esc === null ? [] : [kw("ESCAPE"), quote(x.esc)])].join(sp);
      case "in": return [x.id, `${not(x.not)}${kw("IN")}`, `(${x.list.map(quote).join(`,${sp}`)})`].join(sp);
      case "isnull": return [p(x.v, 4), kw("IS"), `${not(x.not)}${kw("NULL")}`].join(sp);
    }
  };
  return body(e);
}

// ---- reference evaluation, written from the documented semantics ----

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const asNumber = (v: Val): number | null => (typeof v === "number" ? v : typeof v === "string" && DECIMAL.test(v) ? Number(v) : null);

/** -1/0/1, or "no" when the two values cannot be compared. */
function order(a: Exclude<Val, null>, b: Exclude<Val, null>): number | "no" {
  const sign = (d: number): number => (d < 0 ? -1 : d > 0 ? 1 : 0);
  if (typeof a === "number" && typeof b === "number") return sign(a - b);
  if (typeof a === "string" && typeof b === "string") return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === "boolean" && typeof b === "boolean") return sign(Number(a) - Number(b));
  if (typeof a === "number" && typeof b === "string") { const n = asNumber(b); return n === null ? "no" : sign(a - n); }
  if (typeof a === "string" && typeof b === "number") { const n = asNumber(a); return n === null ? "no" : sign(n - b); }
  if (typeof a === "boolean" && typeof b === "string") return sign(Number(a) - Number(b.toLowerCase() === "true"));
  if (typeof a === "string" && typeof b === "boolean") return sign(Number(a.toLowerCase() === "true") - Number(b));
  return "no";
}

function compare(op: string, a: Val, b: Val): Val {
  if (a === null || b === null) return null;
  const o = order(a, b);
  if (op === "<>") return o === "no" ? true : o !== 0;
  if (o === "no") return false;
  return { "=": o === 0, "<": o < 0, "<=": o <= 0, ">": o > 0, ">=": o >= 0 }[op] ?? null;
}

function likeRegExp(pat: string, esc: string | null): RegExp {
  let src = "";
  for (let i = 0; i < pat.length; i++) {
    const c = pat[i];
    if (esc !== null && c === esc && i + 1 < pat.length && ["%", "_", esc].includes(pat[i + 1])) {
      src += pat[++i].replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    } else if (c === "%") src += "[\\s\\S]*";
    else if (c === "_") src += "[\\s\\S]";
    else src += c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${src}$`);
}

const truth = (v: Val): boolean | null => (v === null ? null : v === true);
const not3 = (v: boolean | null): boolean | null => (v === null ? null : !v);
const and3 = (a: boolean | null, b: boolean | null): boolean | null => (a === false || b === false ? false : a === null || b === null ? null : true);
const or3 = (a: boolean | null, b: boolean | null): boolean | null => (a === true || b === true ? true : a === null || b === null ? null : false);

/** The value of a tree for a message. */
export function refValue(e: RExpr, env: Env): Val {
  switch (e.k) {
    case "num": return e.v;
    case "str": return e.v;
    case "bool": return e.v;
    case "null": return null;
    case "id": return env[e.name] ?? null;
    case "arith": {
      const a = asNumber(refValue(e.l, env));
      const b = asNumber(refValue(e.r, env));
      if (a === null || b === null) return null;
      if ((e.op === "/" || e.op === "%") && b === 0) return null;
      const r = e.op === "+" ? a + b : e.op === "-" ? a - b : e.op === "*" ? a * b : e.op === "/" ? a / b : a % b;
      return Number.isNaN(r) ? null : r;
    }
    case "sign": {
      const a = asNumber(refValue(e.e, env));
      return a === null ? null : e.op === "-" ? -a : a;
    }
    case "and": return and3(refCondition(e.l, env), refCondition(e.r, env));
    case "or": return or3(refCondition(e.l, env), refCondition(e.r, env));
    case "not": return not3(refCondition(e.e, env));
    case "cmp": return compare(e.op, refValue(e.l, env), refValue(e.r, env));
    case "between": {
      const v = refValue(e.v, env);
      const lo = refValue(e.lo, env);
      const hi = refValue(e.hi, env);
      return e.not
        ? or3(compare("<", v, lo) as boolean | null, compare(">", v, hi) as boolean | null)
        : and3(compare(">=", v, lo) as boolean | null, compare("<=", v, hi) as boolean | null);
    }
    case "like": {
      const v = refValue(e.v, env);
      if (v === null) return null;
      const m = typeof v === "string" && likeRegExp(e.pat, e.esc).test(v);
      return e.not ? !m : m;
    }
    case "in": {
      const v = env[e.id] ?? null;
      if (typeof v !== "string") return null;
      return e.list.includes(v) !== e.not;
    }
    case "isnull": return (refValue(e.v, env) === null) !== e.not;
  }
}

/** The three-valued result of a tree used as a condition. */
export function refCondition(e: RExpr, env: Env): boolean | null {
  return truth(refValue(e, env));
}
