/**
 * Recursive-descent parser of JMS message selectors, from tokens to a checked AST.
 *
 * Precedence, loosest first (as in ActiveMQ's `SelectorParser.jj`, except NOT, see below):
 * `OR` < `AND` < `NOT` < `=` `<>` `IS [NOT] NULL` < `<` `<=` `>` `>=` `[NOT] LIKE` `[NOT] BETWEEN`
 * `[NOT] IN` < `+` `-` < `*` `/` `%` < unary `+` `-` < literals, identifiers, `( … )`.
 * Binary operators associate to the left (`a = b = TRUE` is `(a = b) = TRUE`).
 *
 * NOT binds looser than the comparisons, as JMS and SQL-92 say: `NOT a = 1` is `NOT (a = 1)`.
 * ActiveMQ's grammar parses NOT as a unary operator beside `-`, so there it is `(NOT a) = 1`,
 * which compares a boolean with a number and is never true; fedmq follows the specification.
 *
 * Checks made while parsing, as ActiveMQ makes them (they are errors there too):
 * - the selector, and each operand of AND, OR and NOT, must be a boolean expression, an
 *   identifier (its value taken as a boolean) or TRUE, FALSE, NULL: `a + 1` alone is refused;
 * - `=` and `<>` refuse a NULL literal (write `IS NULL`) and a TRUE/FALSE literal against a
 *   string or number literal;
 * - `<`, `<=`, `>`, `>=` and BETWEEN take no string, TRUE, FALSE or NULL literal and no boolean
 *   expression: only numbers are ordered (`a > 'x'` is refused);
 * - IN needs an identifier on its left; IN lists hold string literals only; an ESCAPE string is
 *   exactly one character.
 * Stricter than ActiveMQ (which fails while evaluating instead): an arithmetic operand may not be
 * a boolean expression.
 */
import { describeToken, selectorError, tokenize, type Punct, type Token } from "./selector-lexer";

/** A value a selector computes with; null is SQL's NULL (unknown). */
export type SelectorValue = string | number | boolean | null;
/** Comparison operators; `<>` is NOT `=`. */
export type CompareOp = "=" | "<>" | "<" | "<=" | ">" | ">=";
/** Binary arithmetic operators (`%` is a remainder, as in ActiveMQ). */
export type ArithOp = "+" | "-" | "*" | "/" | "%";

interface At {
  /** Offset in the selector text where the expression starts. */
  readonly pos: number;
  /** Height of the subtree: 1 for a literal or an identifier. */
  readonly depth: number;
}

/** A parsed selector expression. AND and OR chains are n-ary (`a AND b AND c` is one node). */
export type SelectorNode = At & (
  | { readonly kind: "literal"; readonly value: SelectorValue }
  | { readonly kind: "ident"; readonly name: string }
  | { readonly kind: "and" | "or"; readonly operands: readonly SelectorNode[] }
  | { readonly kind: "not"; readonly operand: SelectorNode }
  | { readonly kind: "compare"; readonly op: CompareOp; readonly left: SelectorNode; readonly right: SelectorNode }
  | { readonly kind: "arith"; readonly op: ArithOp; readonly left: SelectorNode; readonly right: SelectorNode }
  | { readonly kind: "sign"; readonly op: "+" | "-"; readonly operand: SelectorNode }
  | { readonly kind: "between"; readonly negated: boolean; readonly value: SelectorNode; readonly low: SelectorNode; readonly high: SelectorNode }
  | { readonly kind: "like"; readonly negated: boolean; readonly value: SelectorNode; readonly pattern: string; readonly escape: string | null }
  | { readonly kind: "in"; readonly negated: boolean; readonly value: SelectorNode; readonly list: readonly string[] }
  | { readonly kind: "isNull"; readonly negated: boolean; readonly value: SelectorNode }
);

type Unplaced<N> = N extends SelectorNode ? Omit<N, "depth"> : never;

/** True for the expressions that yield TRUE/FALSE/unknown by themselves (not identifiers, not NULL). */
export function isBooleanKind(n: SelectorNode): boolean {
  switch (n.kind) {
    case "literal": return typeof n.value === "boolean";
    case "ident": case "arith": case "sign": return false;
    default: return true;
  }
}

function describeNode(n: SelectorNode): string {
  switch (n.kind) {
    case "literal":
      if (typeof n.value === "string") return `string '${n.value}'`;
      if (typeof n.value === "number") return `number ${n.value}`;
      return n.value === null ? "NULL" : n.value ? "TRUE" : "FALSE";
    case "ident": return `identifier '${n.name}'`;
    case "arith": case "sign": return `arithmetic '${n.op}'`;
    default: return "a boolean expression";
  }
}

/** Limits the parser enforces. */
export interface ParseLimits {
  readonly maxDepth: number;
}

/** Parses and checks `text`; throws `SelectorError` naming the column. Length is the caller's check. */
export function parseSelector(text: string, limits: ParseLimits): SelectorNode {
  return new Parser(text, tokenize(text), limits.maxDepth).parse();
}

const ORDERING: ReadonlySet<string> = new Set(["<", "<=", ">", ">="]);

class Parser {
  private i = 0;
  private nesting = 0;

  constructor(private readonly text: string, private readonly tokens: Token[], private readonly maxDepth: number) {}

  parse(): SelectorNode {
    const e = this.or();
    const t = this.peek();
    if (t.kind !== "eof") this.fail(`expected an operator or the end of the selector, found ${describeToken(t)}`, t.pos);
    this.requireCondition(e);
    return e;
  }

  // ---- token helpers ----

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.i + ahead, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.i++;
    return t;
  }

  private isKeyword(word: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === "keyword" && t.word === word;
  }

  private isPunct(op: Punct): boolean {
    const t = this.peek();
    return t.kind === "punct" && t.op === op;
  }

  private expectKeyword(word: string, after: string): void {
    if (!this.isKeyword(word)) this.fail(`expected ${word} after ${after}, found ${describeToken(this.peek())}`, this.peek().pos);
    this.i++;
  }

  private expectPunct(op: Punct, after: string): void {
    if (!this.isPunct(op)) this.fail(`expected '${op}' ${after}, found ${describeToken(this.peek())}`, this.peek().pos);
    this.i++;
  }

  private stringLiteral(after: string): string {
    const t = this.peek();
    if (t.kind !== "string") return this.fail(`expected a string literal after ${after}, found ${describeToken(t)}`, t.pos);
    this.i++;
    return t.value;
  }

  private fail(message: string, pos: number): never {
    throw selectorError(this.text, message, pos);
  }

  /** Builds a node, giving it its height; refuses one higher than 'maxDepth' (error at `at`, its operator). */
  private node(n: Unplaced<SelectorNode>, children: readonly SelectorNode[], at = n.pos): SelectorNode {
    let depth = 1;
    for (const c of children) depth = Math.max(depth, c.depth + 1);
    if (depth > this.maxDepth) this.tooDeep(at);
    return { ...n, depth } as SelectorNode;
  }

  private tooDeep(pos: number): never {
    return this.fail(`nested deeper than ${this.maxDepth} levels (option 'maxDepth')`, pos);
  }

  /** Runs a recursive step one level deeper; refuses nesting past 'maxDepth' before the stack grows. */
  private nested<T>(pos: number, step: () => T): T {
    if (++this.nesting > this.maxDepth) this.tooDeep(pos);
    try {
      return step();
    } finally {
      this.nesting--;
    }
  }

  // ---- static checks ----

  private requireCondition(n: SelectorNode): void {
    if (isBooleanKind(n) || n.kind === "ident" || (n.kind === "literal" && n.value === null)) return;
    this.fail(`expected a boolean expression, found ${describeNode(n)}`, n.pos);
  }

  private checkEquality(op: CompareOp, l: SelectorNode, r: SelectorNode): void {
    for (const n of [l, r]) {
      if (n.kind === "literal" && n.value === null) this.fail(`NULL cannot be compared with '${op}': use IS NULL or IS NOT NULL`, n.pos);
    }
    if (l.kind === "literal" && r.kind === "literal" && (typeof l.value === "boolean") !== (typeof r.value === "boolean")) {
      this.fail(`${describeNode(l)} cannot be compared with ${describeNode(r)}`, l.pos);
    }
  }

  private checkOrdered(what: string, n: SelectorNode): void {
    if (n.kind === "literal" ? typeof n.value !== "number" : isBooleanKind(n)) {
      this.fail(`${describeNode(n)} cannot be compared with ${what}: only numbers are ordered`, n.pos);
    }
  }

  private checkArithmetic(op: string, n: SelectorNode): void {
    if (isBooleanKind(n)) this.fail(`${describeNode(n)} cannot be an operand of '${op}'`, n.pos);
  }

  // ---- grammar ----

  private or(): SelectorNode {
    return this.chain("OR", () => this.and());
  }

  private and(): SelectorNode {
    return this.chain("AND", () => this.not());
  }

  private chain(word: "AND" | "OR", operand: () => SelectorNode): SelectorNode {
    const first = operand();
    if (!this.isKeyword(word)) return first;
    const operands = [first];
    const opPos = this.peek().pos;
    this.requireCondition(first);
    while (this.isKeyword(word)) {
      this.i++;
      const o = operand();
      this.requireCondition(o);
      operands.push(o);
    }
    return this.node({ kind: word === "AND" ? "and" : "or", operands, pos: first.pos }, operands, opPos);
  }

  private not(): SelectorNode {
    const t = this.peek();
    if (!this.isKeyword("NOT")) return this.equality();
    this.i++;
    const operand = this.nested(t.pos, () => this.not());
    this.requireCondition(operand);
    return this.node({ kind: "not", operand, pos: t.pos }, [operand]);
  }

  private equality(): SelectorNode {
    let left = this.relational();
    while (true) {
      const t = this.peek();
      if (t.kind === "punct" && (t.op === "=" || t.op === "<>")) {
        this.i++;
        const right = this.relational();
        this.checkEquality(t.op, left, right);
        left = this.node({ kind: "compare", op: t.op, left, right, pos: left.pos }, [left, right], t.pos);
      } else if (this.isKeyword("IS")) {
        this.i++;
        const negated = this.isKeyword("NOT");
        if (negated) this.i++;
        if (!this.isKeyword("NULL")) this.fail(`expected NULL or NOT NULL after IS, found ${describeToken(this.peek())}`, this.peek().pos);
        this.i++;
        left = this.node({ kind: "isNull", negated, value: left, pos: left.pos }, [left], t.pos);
      } else {
        return left;
      }
    }
  }

  private relational(): SelectorNode {
    let left = this.additive();
    while (true) {
      const t = this.peek();
      if (t.kind === "punct" && ORDERING.has(t.op)) {
        this.i++;
        const right = this.additive();
        this.checkOrdered(`'${t.op}'`, left);
        this.checkOrdered(`'${t.op}'`, right);
        left = this.node({ kind: "compare", op: t.op as CompareOp, left, right, pos: left.pos }, [left, right], t.pos);
        continue;
      }
      const negated = this.isKeyword("NOT");
      const word = this.peek(negated ? 1 : 0);
      if (word.kind !== "keyword" || !["LIKE", "BETWEEN", "IN"].includes(word.word)) {
        if (negated) this.fail(`expected LIKE, BETWEEN or IN after NOT, found ${describeToken(word)}`, word.pos);
        return left;
      }
      this.i += negated ? 2 : 1;
      if (word.word === "LIKE") left = this.like(left, negated, t.pos);
      else if (word.word === "BETWEEN") left = this.between(left, negated, t.pos);
      else left = this.inList(left, negated, t.pos);
    }
  }

  private like(value: SelectorNode, negated: boolean, opPos: number): SelectorNode {
    const pattern = this.stringLiteral("LIKE");
    let escape: string | null = null;
    if (this.isKeyword("ESCAPE")) {
      const at = this.next().pos;
      escape = this.stringLiteral("ESCAPE");
      if (escape.length !== 1) this.fail(`ESCAPE '${escape}' must be exactly one character`, at);
    }
    return this.node({ kind: "like", negated, value, pattern, escape, pos: value.pos }, [value], opPos);
  }

  private between(value: SelectorNode, negated: boolean, opPos: number): SelectorNode {
    const low = this.additive();
    this.expectKeyword("AND", "the lower bound of BETWEEN");
    const high = this.additive();
    for (const n of [value, low, high]) this.checkOrdered("BETWEEN", n);
    return this.node({ kind: "between", negated, value, low, high, pos: value.pos }, [value, low, high], opPos);
  }

  private inList(value: SelectorNode, negated: boolean, opPos: number): SelectorNode {
    if (value.kind !== "ident") this.fail(`IN needs an identifier on its left, found ${describeNode(value)}`, value.pos);
    this.expectPunct("(", "after IN");
    const list = [this.stringLiteral("'(' of IN")];
    while (this.isPunct(",")) {
      this.i++;
      list.push(this.stringLiteral("',' in an IN list"));
    }
    this.expectPunct(")", "to close the IN list");
    return this.node({ kind: "in", negated, value, list, pos: value.pos }, [value], opPos);
  }

  private additive(): SelectorNode {
    let left = this.multiplicative();
    while (true) {
      const t = this.peek();
      if (t.kind !== "punct" || (t.op !== "+" && t.op !== "-")) return left;
      this.i++;
      left = this.arith(t.op, left, this.multiplicative(), t.pos);
    }
  }

  private multiplicative(): SelectorNode {
    let left = this.unary();
    while (true) {
      const t = this.peek();
      if (t.kind !== "punct" || (t.op !== "*" && t.op !== "/" && t.op !== "%")) return left;
      this.i++;
      left = this.arith(t.op, left, this.unary(), t.pos);
    }
  }

  private arith(op: ArithOp, left: SelectorNode, right: SelectorNode, opPos: number): SelectorNode {
    this.checkArithmetic(op, left);
    this.checkArithmetic(op, right);
    return this.node({ kind: "arith", op, left, right, pos: left.pos }, [left, right], opPos);
  }

  private unary(): SelectorNode {
    const t = this.peek();
    if (t.kind === "punct" && (t.op === "+" || t.op === "-")) {
      this.i++;
      const operand = this.nested(t.pos, () => this.unary());
      this.checkArithmetic(t.op, operand);
      return this.node({ kind: "sign", op: t.op, operand, pos: t.pos }, [operand]);
    }
    return this.primary();
  }

  private primary(): SelectorNode {
    const t = this.next();
    switch (t.kind) {
      case "string": case "number":
        return this.node({ kind: "literal", value: t.value, pos: t.pos }, []);
      case "ident":
        return this.node({ kind: "ident", name: t.name, pos: t.pos }, []);
      case "keyword":
        if (t.word === "TRUE" || t.word === "FALSE") return this.node({ kind: "literal", value: t.word === "TRUE", pos: t.pos }, []);
        if (t.word === "NULL") return this.node({ kind: "literal", value: null, pos: t.pos }, []);
        return this.fail(`expected an expression, found reserved word ${t.word}`, t.pos);
      case "punct":
        if (t.op === "(") {
          const inner = this.nested(t.pos, () => this.or());
          this.expectPunct(")", "to close '('");
          return inner;
        }
        break;
      case "eof":
        return this.fail("expected an expression", t.pos);
    }
    return this.fail(`expected an expression, found ${describeToken(t)}`, t.pos);
  }
}
