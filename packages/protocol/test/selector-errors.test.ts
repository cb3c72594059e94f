import { compileSelector, SelectorError, FedmqError, InvalidArgumentError } from "../src";
import { ev, lookupOf, messageOf } from "./selector-reference";

describe("selector errors", () => {
  it("are SelectorError with code FEDMQ_ERR_INVALID_SELECTOR", () => {
    let err: unknown;
    try {
      compileSelector("a = ");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorError);
    expect(err).toBeInstanceOf(FedmqError);
    expect(err).toMatchObject({ name: "SelectorError", code: "FEDMQ_ERR_INVALID_SELECTOR", message: "selector 'a = ' : expected an expression at column 5" });
    expect(SelectorError.code).toBe("FEDMQ_ERR_INVALID_SELECTOR");
  });

  it.each([
    ["", "expected an expression at column 1"],
    ["   ", "expected an expression at column 4"],
    ["a = ", "expected an expression at column 5"],
    ["= 1", "expected an expression, found '=' at column 1"],
    ["()", "expected an expression, found ')' at column 2"],
    ["NOT", "expected an expression at column 4"],
    ["a = b AND", "expected an expression at column 10"],
    ["(a = 1", "expected ')' to close '(', found end of selector at column 7"],
    ["a = 1)", "expected an operator or the end of the selector, found ')' at column 6"],
    ["a = 1 b", "expected an operator or the end of the selector, found identifier 'b' at column 7"],
    ["a ,", "expected an operator or the end of the selector, found ',' at column 3"],
    ["'abc", "unterminated string literal at column 1"],
    ["a = 'x", "unterminated string literal at column 5"],
    ["/* x", "unterminated comment at column 1"],
    ["a != 1", "unexpected '!=': write '<>' for not-equal at column 3"],
    ["a = \"x\"", "unexpected '\"': string literals use single quotes at column 5"],
    ["a # 1", "unexpected character '#' at column 3"],
    ["a = 1 \u0000", "unexpected character '\\u0000' at column 7"],
    ["a = 0x", "hex literal '0x' has no digits at column 5"],
    ["a = 08", "octal literal '08' has a digit above 7 at column 5"],
    ["a = 0x8000000000000000", "hex literal '0x8000000000000000' is out of range (at most 0x7FFFFFFFFFFFFFFF) at column 5"],
    ["a = 01000000000000000000000", "octal literal '01000000000000000000000' is out of range at column 5"],
    ["XPATH '//a'", "XPATH selectors are not supported at column 1"],
    ["a = xquery", "XQUERY selectors are not supported at column 5"],
    ["a + 1", "expected a boolean expression, found arithmetic '+' at column 1"],
    ["'abc'", "expected a boolean expression, found string 'abc' at column 1"],
    ["1", "expected a boolean expression, found number 1 at column 1"],
    ["a AND 1", "expected a boolean expression, found number 1 at column 7"],
    ["NOT 'x'", "expected a boolean expression, found string 'x' at column 5"],
    ["a OR b + 1", "expected a boolean expression, found arithmetic '+' at column 6"],
    ["a = NULL", "NULL cannot be compared with '=': use IS NULL or IS NOT NULL at column 5"],
    ["NULL <> a", "NULL cannot be compared with '<>': use IS NULL or IS NOT NULL at column 1"],
    ["TRUE = 1", "TRUE cannot be compared with number 1 at column 1"],
    ["'x' = FALSE", "string 'x' cannot be compared with FALSE at column 1"],
    ["a > 'x'", "string 'x' cannot be compared with '>': only numbers are ordered at column 5"],
    ["'x' < a", "string 'x' cannot be compared with '<': only numbers are ordered at column 1"],
    ["a >= TRUE", "TRUE cannot be compared with '>=': only numbers are ordered at column 6"],
    ["a < NULL", "NULL cannot be compared with '<': only numbers are ordered at column 5"],
    ["(a = 1) > 2", "a boolean expression cannot be compared with '>': only numbers are ordered at column 2"],
    ["a > b > c", "a boolean expression cannot be compared with '>': only numbers are ordered at column 1"],
    ["a BETWEEN 'a' AND 'c'", "string 'a' cannot be compared with BETWEEN: only numbers are ordered at column 11"],
    ["a BETWEEN 1 OR 2", "expected AND after the lower bound of BETWEEN, found OR at column 13"],
    ["a BETWEEN 1", "expected AND after the lower bound of BETWEEN, found end of selector at column 12"],
    ["a LIKE b", "expected a string literal after LIKE, found identifier 'b' at column 8"],
    ["a LIKE 'x' ESCAPE 'ab'", "ESCAPE 'ab' must be exactly one character at column 12"],
    ["a LIKE 'x' ESCAPE ''", "ESCAPE '' must be exactly one character at column 12"],
    ["a LIKE 'x' ESCAPE", "expected a string literal after ESCAPE, found end of selector at column 18"],
    ["a IN 'x'", "expected '(' after IN, found string 'x' at column 6"],
    ["a IN ()", "expected a string literal after '(' of IN, found ')' at column 7"],
    ["a IN ('x' 'y')", "expected ')' to close the IN list, found string 'y' at column 11"],
    ["a IN ('x',)", "expected a string literal after ',' in an IN list, found ')' at column 11"],
    ["a IN (1)", "expected a string literal after '(' of IN, found number 1 at column 7"],
    ["'x' IN ('x')", "IN needs an identifier on its left, found string 'x' at column 1"],
    ["a + 1 IN ('2')", "IN needs an identifier on its left, found arithmetic '+' at column 1"],
    ["a IS 1", "expected NULL or NOT NULL after IS, found number 1 at column 6"],
    ["a IS NOT", "expected NULL or NOT NULL after IS, found end of selector at column 9"],
    ["a NOT = 1", "expected LIKE, BETWEEN or IN after NOT, found '=' at column 7"],
    ["a = -TRUE", "TRUE cannot be an operand of '-' at column 6"],
    ["(a = 1) + 1", "a boolean expression cannot be an operand of '+' at column 2"],
    ["a * (b > 1) = 1", "a boolean expression cannot be an operand of '*' at column 6"],
    ["a LIKE 'x' ESCAPE 'y' ESCAPE 'z'", "expected an operator or the end of the selector, found ESCAPE at column 23"],
    ["é = 1 AND ¬", "unexpected character '¬' at column 11"],
  ])("refuses %j: %s", (text, message) => {
    expect(() => compileSelector(text)).toThrow(new SelectorError(`selector '${text}' : ${message}`));
  });

  it("names line and column in a selector of several lines, and shortens a long selector in the message", () => {
    expect(messageOf("a\n= 1 AND\n  b =")).toBe("selector 'a\n= 1 AND\n  b =' : expected an expression at line 3, column 6");
    const long = `${"a = 1 AND ".repeat(20)}b =`;
    expect(messageOf(long)).toBe(`selector '${long.slice(0, 77)}...' : expected an expression at column ${long.length + 1}`);
  });
});

describe("selector limits", () => {
  it("takes 4096 characters and refuses 4097", () => {
    const ok = `a = '${"x".repeat(4090)}'`;
    expect(ok).toHaveLength(4096);
    expect(ev(ok, { a: "x".repeat(4090) })).toBe(true);
    const tooLong = `a = '${"x".repeat(4091)}'`;
    expect(messageOf(tooLong)).toBe(`selector '${tooLong.slice(0, 77)}...' : longer than 4096 characters (option 'maxLength') at column 4097`);
  });

  it("takes 100 levels of nesting and refuses 101", () => {
    const parens = (n: number): string => `${"(".repeat(n)}a${")".repeat(n)}`;
    expect(ev(parens(100), { a: true })).toBe(true);
    expect(messageOf(parens(101))).toMatch(/ : nested deeper than 100 levels \(option 'maxDepth'\) at column 101$/);
    expect(ev(`${"NOT ".repeat(99)}a`, { a: true })).toBe(false);
    expect(messageOf(`${"NOT ".repeat(100)}a`)).toMatch(/ : nested deeper than 100 levels \(option 'maxDepth'\) at column 1$/);
    // 98 additions chain to 99 levels and their comparison is the 100th; with 99 the '=' is one too
    // many, with 100 the last '+'.
    const sum = (n: number): string => `a = 1${" + 1".repeat(n)}`;
    expect(ev(sum(98), { a: 99 })).toBe(true);
    expect(messageOf(sum(99))).toMatch(/ : nested deeper than 100 levels \(option 'maxDepth'\) at column 3$/);
    expect(messageOf(sum(100))).toMatch(new RegExp(` : nested deeper than 100 levels \\(option 'maxDepth'\\) at column ${sum(100).length - 2}$`));
    expect(ev(`${"- ".repeat(98)}1 > 0`)).toBe(true);
    expect(messageOf(`${"- ".repeat(99)}1 < 0`)).toMatch(/ : nested deeper than 100 levels \(option 'maxDepth'\) at column 201$/);
  });

  it("throws SelectorError, not a stack overflow, on deep input with limits raised", () => {
    const options = { maxLength: 1_000_000 };
    for (const text of [`${"(".repeat(200_000)}a${")".repeat(200_000)}`, `${"NOT ".repeat(200_000)}a`, `${"- ".repeat(200_000)}1 = 1`, `a = 1${" + 1".repeat(200_000)}`]) {
      expect(() => compileSelector(text, options)).toThrow(SelectorError);
    }
  });

  it("takes its limits as options, checked", () => {
    expect(() => compileSelector("a = 1 AND b = 2", { maxLength: 10 })).toThrow(
      new SelectorError("selector 'a = 1 AND b = 2' : longer than 10 characters (option 'maxLength') at column 11"),
    );
    expect(() => compileSelector("NOT NOT a", { maxDepth: 2 })).toThrow(
      new SelectorError("selector 'NOT NOT a' : nested deeper than 2 levels (option 'maxDepth') at column 1"),
    );
    expect(compileSelector("NOT a", { maxDepth: 2 }).evaluate(lookupOf({ a: false }))).toBe(true);
    expect(() => compileSelector("a", { maxDepth: 0 })).toThrow(new InvalidArgumentError("option 'maxDepth' must be an integer >= 1, got '0'"));
    expect(() => compileSelector("a", { maxLength: 1.5 })).toThrow(new InvalidArgumentError("option 'maxLength' must be an integer >= 1, got '1.5'"));
  });
});
