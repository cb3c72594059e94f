/**
 * Tokens of a JMS message selector (the SQL-92 subset ActiveMQ accepts in a STOMP `selector`
 * header), and `SelectorError`, the one error every invalid selector raises.
 *
 * Lexical rules follow ActiveMQ's `SelectorParser.jj`: keywords are case-insensitive,
 * identifiers case-sensitive; `--` line and `/* *\/` block comments are skipped (so `1 --2` is
 * `1`); a number with a leading `0` and more digits is octal (`010` is 8); a hex literal is at
 * most 0x7FFFFFFFFFFFFFFF (Java `Long.parseLong`); strings are single-quoted with `''` for a
 * quote; `!=` and double quotes are errors. Wider than ActiveMQ: an identifier may use any
 * Unicode letter (Java identifier rules; ActiveMQ takes ASCII only), the `L` suffix is accepted
 * on hex and octal literals too, and a `--` comment may end the text without a line break.
 * Every number is an IEEE double: integers beyond 2^53 lose precision.
 */
import { defineError } from "../errors";

/** A selector that does not parse, or breaks a limit ('maxLength', 'maxDepth'). Names the column. */
export const SelectorError = defineError("SelectorError", "FEDMQ_ERR_INVALID_SELECTOR");

/** Reserved words, upper-case. `XPATH` and `XQUERY` are reserved (as in ActiveMQ) but unsupported. */
export const KEYWORDS: ReadonlySet<string> = new Set([
  "NOT", "AND", "OR", "BETWEEN", "LIKE", "ESCAPE", "IN", "IS", "TRUE", "FALSE", "NULL", "XPATH", "XQUERY",
]);

/** Operators and punctuation. */
export type Punct = "(" | ")" | "," | "=" | "<>" | "<" | "<=" | ">" | ">=" | "+" | "-" | "*" | "/" | "%";

/** One token; `pos` is its offset in the selector text (0-based). */
export type Token =
  | { readonly kind: "keyword"; readonly word: string; readonly pos: number }
  | { readonly kind: "ident"; readonly name: string; readonly pos: number }
  | { readonly kind: "string"; readonly value: string; readonly pos: number }
  | NumberToken
  | { readonly kind: "punct"; readonly op: Punct; readonly pos: number }
  | { readonly kind: "eof"; readonly pos: number };

/** A numeric literal; `text` is how it was written (suffix included). */
export interface NumberToken {
  readonly kind: "number";
  readonly value: number;
  readonly text: string;
  readonly pos: number;
}

const QUOTE_MAX = 80;

/** Where `pos` (0-based offset) is, for messages: `column 5`, or `line 2, column 3` in multi-line text. */
function where(text: string, pos: number): string {
  if (!text.includes("\n")) return `column ${pos + 1}`;
  const before = text.slice(0, pos);
  const line = before.split("\n").length;
  return `line ${line}, column ${pos - before.lastIndexOf("\n")}`;
}

/** The error for `text`: `selector 'a = ' : expected an expression at column 5`. */
export function selectorError(text: string, message: string, pos: number): InstanceType<typeof SelectorError> {
  const quoted = text.length > QUOTE_MAX ? `${text.slice(0, QUOTE_MAX - 3)}...` : text;
  return new SelectorError(`selector '${quoted}' : ${message} at ${where(text, pos)}`);
}

/** How a token reads in a message: `')'`, `identifier 'b'`, `AND`, `end of selector`. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case "keyword": return t.word;
    case "ident": return `identifier '${t.name}'`;
    case "string": return `string '${t.value}'`;
    case "number": return `number ${t.text}`;
    case "punct": return `'${t.op}'`;
    case "eof": return "end of selector";
  }
}

const ID_START = /[\p{L}\p{Nl}\p{Sc}\p{Pc}]/u;
const ID_PART = /[\p{L}\p{Nl}\p{Nd}\p{Mn}\p{Mc}\p{Pc}\p{Sc}]/u;
const WS = new Set([" ", "\t", "\n", "\r", "\f"]);
const TWO_CHAR: ReadonlySet<string> = new Set(["<>", "<=", ">="]);
const ONE_CHAR: ReadonlySet<string> = new Set(["(", ")", ",", "=", "<", ">", "+", "-", "*", "/", "%"]);
const MAX_LONG = 2n ** 63n - 1n;

/** The whole code point at `i` (two code units for a surrogate pair). */
const codePointAt = (text: string, i: number): string => String.fromCodePoint(text.codePointAt(i) ?? 0);
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isHexDigit = (c: string | undefined): boolean => c !== undefined && /[0-9a-fA-F]/.test(c);

/** Splits `text` into tokens, ending with one `eof` token. Throws `SelectorError`. */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  const fail = (message: string, pos: number): never => {
    throw selectorError(text, message, pos);
  };

  while (true) {
    // Whitespace and comments.
    while (i < n) {
      const c = text[i];
      if (WS.has(c)) i++;
      else if (c === "-" && text[i + 1] === "-") {
        while (i < n && text[i] !== "\n" && text[i] !== "\r") i++;
      } else if (c === "/" && text[i + 1] === "*") {
        const end = text.indexOf("*/", i + 2);
        if (end < 0) fail("unterminated comment", i);
        i = end + 2;
      } else break;
    }
    if (i >= n) {
      out.push({ kind: "eof", pos: n });
      return out;
    }
    const start = i;
    const c = text[i];

    if (c === "'") {
      let value = "";
      i++;
      while (true) {
        if (i >= n) fail("unterminated string literal", start);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      out.push({ kind: "string", value, pos: start });
    } else if (isDigit(c) || (c === "." && isDigit(text[i + 1]))) {
      const token = lexNumber(text, start, fail);
      out.push(token);
      i = start + token.text.length;
    } else if (ID_START.test(codePointAt(text, i))) {
      i += codePointAt(text, i).length;
      while (i < n && ID_PART.test(codePointAt(text, i))) i += codePointAt(text, i).length;
      const word = text.slice(start, i);
      const upper = word.toUpperCase();
      if (KEYWORDS.has(upper)) {
        if (upper === "XPATH" || upper === "XQUERY") fail(`${upper} selectors are not supported`, start);
        out.push({ kind: "keyword", word: upper, pos: start });
      } else {
        out.push({ kind: "ident", name: word, pos: start });
      }
    } else if (TWO_CHAR.has(text.slice(i, i + 2))) {
      out.push({ kind: "punct", op: text.slice(i, i + 2) as Punct, pos: start });
      i += 2;
    } else if (ONE_CHAR.has(c)) {
      out.push({ kind: "punct", op: c as Punct, pos: start });
      i++;
    } else if (c === "!" && text[i + 1] === "=") {
      fail("unexpected '!=': write '<>' for not-equal", start);
    } else if (c === '"') {
      fail(`unexpected '"': string literals use single quotes`, start);
    } else {
      const cp = text.codePointAt(i) ?? 0;
      const shown = cp < 0x20 || cp === 0x7f ? `\\u${cp.toString(16).padStart(4, "0")}` : String.fromCodePoint(cp);
      fail(`unexpected character '${shown}'`, start);
    }
  }
}

/** A numeric literal at `start`: decimal, hex (`0x1F`), octal (`017`), each with an optional `L`, or floating point. */
function lexNumber(text: string, start: number, fail: (message: string, pos: number) => never): NumberToken {
  const n = text.length;
  let i = start;
  const suffixL = (): void => {
    if (text[i] === "l" || text[i] === "L") i++;
  };
  if (text[i] === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
    i += 2;
    const digitsAt = i;
    while (i < n && isHexDigit(text[i])) i++;
    if (i === digitsAt) fail(`hex literal '${text.slice(start, i)}' has no digits`, start);
    const value = BigInt(`0x${text.slice(digitsAt, i)}`);
    if (value > MAX_LONG) fail(`hex literal '${text.slice(start, i)}' is out of range (at most 0x7FFFFFFFFFFFFFFF)`, start);
    suffixL();
    return { kind: "number", value: Number(value), text: text.slice(start, i), pos: start };
  }
  while (isDigit(text[i])) i++;
  let float = false;
  if (text[i] === ".") {
    float = true;
    i++;
    while (isDigit(text[i])) i++;
  }
  if ((text[i] === "e" || text[i] === "E")) {
    let j = i + 1;
    if (text[j] === "+" || text[j] === "-") j++;
    if (isDigit(text[j])) {
      float = true;
      while (isDigit(text[j])) j++;
      i = j;
    }
  }
  const digits = text.slice(start, i);
  if (float) return { kind: "number", value: Number(digits), text: digits, pos: start };
  let value: number;
  if (digits.length > 1 && digits[0] === "0") {
    if (!/^[0-7]+$/.test(digits)) fail(`octal literal '${digits}' has a digit above 7`, start);
    const big = BigInt(`0o${digits}`);
    if (big > MAX_LONG) fail(`octal literal '${digits}' is out of range`, start);
    value = Number(big);
  } else {
    value = Number(digits);
  }
  suffixL();
  return { kind: "number", value, text: text.slice(start, i), pos: start };
}
