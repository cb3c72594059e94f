/**
 * Turns a checked selector AST into closures, once; evaluating them does no parsing, no
 * allocation beyond the lookups' own, and never throws.
 *
 * Semantics (three-valued: a result is TRUE, FALSE or unknown = null), checked against ActiveMQ's
 * `org.apache.activemq.filter` classes with the `convert_string_expressions:` prefix that its
 * STOMP transport puts before every `selector` header:
 *
 * - Identifiers: the lookup's value; `undefined`, NaN and any non-primitive are NULL.
 * - AND, OR, NOT: SQL's truth tables (FALSE AND unknown = FALSE, TRUE OR unknown = TRUE,
 *   NOT unknown = unknown) — ActiveMQ's `LogicExpression` and `UnaryExpression.createNOT`.
 * - An identifier used as a condition (`WHERE flag`) is its boolean value; NULL is unknown;
 *   any other value, the string 'true' included, is FALSE — ActiveMQ's `createBooleanCast`
 *   converts nothing either: write `flag = TRUE` for a string header.
 * - Comparisons: NULL on either side gives unknown. Otherwise (ActiveMQ `ComparisonExpression`
 *   with `convertStringExpressions`): two numbers compare numerically, two strings by UTF-16 code
 *   units (Java `String.compareTo`), two booleans FALSE < TRUE. A string against a number is
 *   converted to a number first, and a string against a boolean to a boolean ('true' in any case
 *   is TRUE, anything else FALSE, as Java `Boolean.valueOf`). When the string is not a number, or
 *   the types cannot meet (boolean against number), the comparison is FALSE — not unknown — so
 *   `NOT (h = 5)` holds for h = 'abc', and `<>` (which is NOT `=`) is TRUE there.
 *   A string counts as a number when it is a decimal literal: optional sign, digits with an
 *   optional fraction, optional exponent (`-5`, `2.50`, `.5`, `1e3`); no spaces, hex, NaN or
 *   Infinity. ActiveMQ parses it with the Java type of the other side (`Integer.valueOf` against
 *   the literal `5`, so '5.0' = 5 is FALSE there); fedmq has one number type and accepts any
 *   decimal form, so '5.0' = 5 is TRUE. ActiveMQ also makes `missing = missing` TRUE and
 *   `'x' = missing` FALSE (artifacts of reusing its IS NULL code); fedmq answers unknown, as SQL.
 * - BETWEEN: `v >= low AND v <= high`; NOT BETWEEN: `v < low OR v > high` (as ActiveMQ).
 * - LIKE: `%` any run, `_` one UTF-16 code unit (line breaks included); the ESCAPE character
 *   escapes only a following `%`, `_` or itself, and is literal elsewhere (as ActiveMQ). NULL
 *   gives unknown, a non-string FALSE (so NOT LIKE gives TRUE).
 * - IN: NULL or a non-string gives unknown (for NOT IN too); else membership (as ActiveMQ).
 * - IS NULL / IS NOT NULL: never unknown.
 * - Arithmetic (`+ - * /` `%`, unary `+ -`): on numbers, as IEEE doubles; a string operand that is
 *   a number (rule above) is converted, anything else (non-numeric string, boolean, NULL) gives
 *   unknown. Division or remainder by zero, and NaN results, give unknown. ActiveMQ differs:
 *   it concatenates when the left side of `+` is a string, throws on other arithmetic with a
 *   string, keeps int/long arithmetic (which wraps) and returns Infinity for `x / 0`.
 */
import type { ArithOp, CompareOp, SelectorNode, SelectorValue } from "./selector-parser";

/** Gives an identifier's value; `undefined` or `null` when the message has none. */
export type SelectorLookup = (identifier: string) => SelectorValue | undefined;

/** A compiled expression. */
export type Evaluator = (lookup: SelectorLookup) => SelectorValue;

/** A compiled condition: TRUE, FALSE or unknown (null). */
export type Condition = (lookup: SelectorLookup) => boolean | null;

const NUMERIC = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The number a value stands for in arithmetic and against a number, or null. */
export function numericValue(v: SelectorValue): number | null {
  if (typeof v === "number") return v;
  if (typeof v === "string" && NUMERIC.test(v)) return Number(v);
  return null;
}

/** Orders two non-null values: <0, 0, >0, or undefined when they cannot be compared. */
export function orderOf(a: string | number | boolean, b: string | number | boolean): number | undefined {
  if (typeof a === typeof b) {
    if (typeof a === "boolean") return Number(a) - Number(b);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === "string") {
    const o = orderOf(b, a);
    return o === undefined ? undefined : -o;
  }
  if (typeof b !== "string") return undefined; // number against boolean
  if (typeof a === "number") {
    const n = numericValue(b);
    return n === null ? undefined : a < n ? -1 : a > n ? 1 : 0;
  }
  return Number(a) - Number(/^true$/i.test(b));
}

/** Compiles a value-producing node. */
export function compileExpression(n: SelectorNode): Evaluator {
  switch (n.kind) {
    case "literal": {
      const v = n.value;
      return () => v;
    }
    case "ident": {
      const name = n.name;
      return (lookup) => {
        const v = lookup(name);
        switch (typeof v) {
          case "string": case "boolean": return v;
          case "number": return Number.isNaN(v) ? null : v;
          default: return null;
        }
      };
    }
    case "arith": return arithmetic(n.op, compileExpression(n.left), compileExpression(n.right));
    case "sign": {
      const operand = compileExpression(n.operand);
      const negate = n.op === "-";
      return (lookup) => {
        const v = numericValue(operand(lookup));
        return v === null ? null : negate ? -v : v;
      };
    }
    default: return compileCondition(n);
  }
}

/** Compiles a node used as a condition; a non-boolean value (an identifier's) counts FALSE. */
export function compileCondition(n: SelectorNode): Condition {
  switch (n.kind) {
    case "and": case "or": return logic(n.kind, n.operands.map(compileCondition));
    case "not": {
      const operand = compileCondition(n.operand);
      return (lookup) => {
        const v = operand(lookup);
        return v === null ? null : !v;
      };
    }
    case "compare": return comparison(n.op, compileExpression(n.left), compileExpression(n.right));
    case "between": {
      const [value, low, high] = [compileExpression(n.value), compileExpression(n.low), compileExpression(n.high)];
      const negated = n.negated;
      return (lookup) => {
        const v = value(lookup);
        const lo = ordered(v, low(lookup), (o) => (negated ? o < 0 : o >= 0));
        const hi = ordered(v, high(lookup), (o) => (negated ? o > 0 : o <= 0));
        return negated ? or2(lo, hi) : and2(lo, hi);
      };
    }
    case "like": {
      const value = compileExpression(n.value);
      const test = likeMatcher(n.pattern, n.escape);
      const negated = n.negated;
      return (lookup) => {
        const v = value(lookup);
        if (v === null) return null;
        return typeof v === "string" ? test(v) !== negated : negated;
      };
    }
    case "in": {
      const value = compileExpression(n.value);
      const set = new Set(n.list);
      const negated = n.negated;
      return (lookup) => {
        const v = value(lookup);
        return typeof v === "string" ? set.has(v) !== negated : null;
      };
    }
    case "isNull": {
      const value = compileExpression(n.value);
      const negated = n.negated;
      return (lookup) => (value(lookup) === null) !== negated;
    }
    default: {
      const value = compileExpression(n);
      return (lookup) => {
        const v = value(lookup);
        return v === null ? null : v === true;
      };
    }
  }
}

function and2(a: boolean | null, b: boolean | null): boolean | null {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

function or2(a: boolean | null, b: boolean | null): boolean | null {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

function logic(kind: "and" | "or", operands: Condition[]): Condition {
  const decisive = kind === "or"; // the value that settles the result on its own
  return (lookup) => {
    let unknown = false;
    for (const c of operands) {
      const v = c(lookup);
      if (v === decisive) return decisive;
      if (v === null) unknown = true;
    }
    return unknown ? null : !decisive;
  };
}

/** unknown when a side is NULL, FALSE when they cannot be ordered, else `test(order)`. */
function ordered(a: SelectorValue, b: SelectorValue, test: (order: number) => boolean): boolean | null {
  if (a === null || b === null) return null;
  const o = orderOf(a, b);
  return o === undefined ? false : test(o);
}

const ORDER_TESTS: Record<CompareOp, (order: number) => boolean> = {
  "=": (o) => o === 0,
  "<>": (o) => o !== 0,
  "<": (o) => o < 0,
  "<=": (o) => o <= 0,
  ">": (o) => o > 0,
  ">=": (o) => o >= 0,
};

function comparison(op: CompareOp, left: Evaluator, right: Evaluator): Condition {
  if (op === "<>") {
    // NOT (a = b): values that cannot meet are unequal.
    return (lookup) => {
      const eq = ordered(left(lookup), right(lookup), ORDER_TESTS["="]);
      return eq === null ? null : !eq;
    };
  }
  const test = ORDER_TESTS[op];
  return (lookup) => ordered(left(lookup), right(lookup), test);
}

function arithmetic(op: ArithOp, left: Evaluator, right: Evaluator): Evaluator {
  const apply: (a: number, b: number) => number | null = {
    "+": (a: number, b: number) => a + b,
    "-": (a: number, b: number) => a - b,
    "*": (a: number, b: number) => a * b,
    "/": (a: number, b: number) => (b === 0 ? null : a / b),
    "%": (a: number, b: number) => (b === 0 ? null : a % b),
  }[op];
  return (lookup) => {
    const a = numericValue(left(lookup));
    if (a === null) return null;
    const b = numericValue(right(lookup));
    if (b === null) return null;
    const r = apply(a, b);
    return r === null || Number.isNaN(r) ? null : r;
  };
}

const ANY_RUN = -1;
const ANY_ONE = -2;

/**
 * A LIKE pattern as a matcher over UTF-16 code units. Linear-space greedy matching with one
 * backtrack point (O(pattern × value) at worst), so no pattern can make it blow up the way a
 * backtracking regular expression can.
 */
export function likeMatcher(pattern: string, escape: string | null): (value: string) => boolean {
  const tokens: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const next = pattern[i + 1];
    if (c === escape && (next === "%" || next === "_" || next === escape)) {
      tokens.push(next.charCodeAt(0));
      i++;
    } else if (c === "%") {
      if (tokens[tokens.length - 1] !== ANY_RUN) tokens.push(ANY_RUN);
    } else if (c === "_") {
      tokens.push(ANY_ONE);
    } else {
      tokens.push(c.charCodeAt(0));
    }
  }
  const m = tokens.length;
  return (s) => {
    let p = 0;
    let i = 0;
    let runP = -1;
    let runI = 0;
    while (i < s.length) {
      const t = tokens[p];
      if (p < m && (t === ANY_ONE || t === s.charCodeAt(i))) {
        p++;
        i++;
      } else if (p < m && t === ANY_RUN) {
        runP = p++;
        runI = i;
      } else if (runP >= 0) {
        p = runP + 1;
        i = ++runI;
      } else {
        return false;
      }
    }
    while (p < m && tokens[p] === ANY_RUN) p++;
    return p === m;
  };
}
