import { compileSelector, selectorLookup, DEFAULT_SELECTOR_OPTIONS, type SelectorLookup } from "../src";
import { ev, lookupOf, messageOf } from "./selector-reference";

describe("compileSelector", () => {
  it("returns a frozen selector that keeps its text and matches only when the result is TRUE", () => {
    const s = compileSelector("color = 'red'");
    expect(s.text).toBe("color = 'red'");
    expect(Object.isFrozen(s)).toBe(true);
    expect([s.evaluate(lookupOf({ color: "red" })), s.matches(lookupOf({ color: "red" }))]).toEqual([true, true]);
    expect([s.evaluate(lookupOf({ color: "blue" })), s.matches(lookupOf({ color: "blue" }))]).toEqual([false, false]);
    expect([s.evaluate(lookupOf({})), s.matches(lookupOf({}))]).toEqual([null, false]);
  });

  it("asks the lookup for the identifiers it names, case preserved, and stops once the result is settled", () => {
    const asked: string[] = [];
    const lookup: SelectorLookup = (name) => {
      asked.push(name);
      return undefined;
    };
    compileSelector("Color = 'x' OR JMSType = 'y' OR color IN ('y')").evaluate(lookup);
    expect(asked).toEqual(["Color", "JMSType", "color"]);
    asked.length = 0;
    compileSelector("Color = 'x' OR JMSType IS NULL OR color IN ('y')").evaluate(lookup);
    expect(asked).toEqual(["Color", "JMSType"]);
  });

  it("has limits of 4096 characters and 100 levels by default", () => {
    expect(DEFAULT_SELECTOR_OPTIONS).toEqual({ maxLength: 4096, maxDepth: 100 });
    expect(Object.isFrozen(DEFAULT_SELECTOR_OPTIONS)).toBe(true);
  });
});

describe("selector literals", () => {
  it.each([
    ["s = 'it''s'", { s: "it's" }, true],
    ["s = ''''", { s: "'" }, true],
    ["s = ''", { s: "" }, true],
    ["s = 'a''''b'", { s: "a''b" }, true],
    ["s = 'ünï ✓ 😀'", { s: "ünï ✓ 😀" }, true],
    ["s = 'x'", { s: "X" }, false],
  ])("string %s", (text, values, expected) => {
    expect(ev(text, values)).toBe(expected);
  });

  it.each([
    ["17 = 17"], ["0x1F = 31"], ["0X1f = 31"], ["0x1FL = 31"], ["0xff = 255"], ["5L = 5"], ["5l = 5"], ["0 = 0"], ["0L = 0"],
    ["010 = 8"], ["007 = 7"], ["1.5 = 1.5"], ["1e3 = 1000"], ["1E3 = 1000"], [".5 = 0.5"], ["5. = 5"], ["1.5E-1 = 0.15"],
    ["2e+2 = 200"], ["00.5 = 0.5"], ["1 = 1.0"], ["0x7FFFFFFFFFFFFFFF > 9.2e18"], ["9223372036854775807 > 9.2e18"], ["-5 < 0"],
  ])("number %s", (text) => {
    expect(ev(text)).toBe(true);
  });

  it("reads TRUE, FALSE and NULL in any case", () => {
    expect([ev("TRUE"), ev("true"), ev("TrUe"), ev("FALSE"), ev("false"), ev("NULL"), ev("null"), ev("NOT FALSE"), ev("NOT NULL")])
      .toEqual([true, true, true, false, false, null, null, true, null]);
  });
});

describe("selector identifiers", () => {
  it.each([["_a"], ["$b"], ["a1_$"], ["ñandú"], ["JMSXGroupID"], ["x€"], ["_"]])("takes Java identifier %s", (name) => {
    expect(ev(`${name} = 'v'`, { [name]: "v" })).toBe(true);
  });

  it("is case-sensitive for identifiers, not for keywords", () => {
    expect(ev("A = 1", { a: "1" })).toBe(null);
    expect(ev("a = 1 aNd b = 2 Or c iS nOt NuLl", { a: "1", b: "2" })).toBe(true);
  });

  it("refuses a keyword as an identifier", () => {
    expect(messageOf("and = 1")).toBe("selector 'and = 1' : expected an expression, found reserved word AND at column 1");
    expect(messageOf("a = Between")).toBe("selector 'a = Between' : expected an expression, found reserved word BETWEEN at column 5");
  });

  it("takes an identifier as a condition only when it holds a boolean: the string 'true' is FALSE, a missing one unknown", () => {
    expect([ev("t", { t: true }), ev("t", { t: false }), ev("t", { t: "true" }), ev("t", { t: 1 }), ev("t", {})]).toEqual([true, false, false, false, null]);
    expect([ev("NOT t", { t: "true" }), ev("t = TRUE", { t: "true" }), ev("t = TRUE", { t: "TRUE" })]).toEqual([true, true, true]);
  });

  it("treats NaN and non-primitive lookup results as NULL", () => {
    expect(ev("n IS NULL", { n: NaN })).toBe(true);
    expect(compileSelector("o IS NULL").evaluate(() => ({}) as unknown as string)).toBe(true);
  });
});

describe("selector comparisons", () => {
  it.each([
    ["2 = 2", true], ["2 = 3", false], ["2 <> 3", true], ["2 <> 2", false], ["1 < 2", true], ["2 < 2", false], ["2 <= 2", true],
    ["3 <= 2", false], ["3 > 2", true], ["2 > 2", false], ["2 >= 2", true], ["2 >= 3", false], ["-0 = 0", true], ["0.1 + 0.2 = 0.3", false],
  ])("numbers: %s is %s", (text, expected) => {
    expect(ev(text)).toBe(expected);
  });

  it.each([
    // ActiveMQ (STOMP, convert_string_expressions): a string meets a number by converting the string.
    ["h = 5", "5", true], ["5 = h", "5", true], ["h <> 5", "5", false], ["h > 4", "5", true], ["h < 4", "5", false], ["h >= 5", "5", true],
    ["h = 5.0", "5", true], ["h = 5", "5.0", true], ["h > 5", "5.5", true], ["h = 100", "1e2", true], ["h < 0", "-3", true], ["h = 3", "+3", true],
    ["h = 0.5", ".5", true], ["h = 5", "5.", true],
    // Not a decimal number: the comparison is FALSE (not unknown), so <> is TRUE.
    ["h = 5", "abc", false], ["h <> 5", "abc", true], ["h > 5", "abc", false], ["h < 5", "abc", false], ["NOT h > 5", "abc", true],
    ["h = 5", " 5", false], ["h = 16", "0x10", false], ["h > 0", "Infinity", false], ["h > 0", "NaN", false], ["h = 5", "", false],
    // Two strings: equality and UTF-16 order, no conversion.
    ["h = '5'", "5", true], ["h = '5.0'", "5", false], ["h <> '5.0'", "5", true],
  ])("string header: %s with h = '%s' is %s", (text, h, expected) => {
    expect(ev(text, { h })).toBe(expected);
  });

  it("orders two string values by UTF-16 code units, as Java's String.compareTo", () => {
    expect([ev("h < k", { h: "10", k: "9" }), ev("h > k", { h: "b", k: "a" }), ev("h < k", { h: "Z", k: "a" }), ev("h <= k", { h: "x", k: "x" })])
      .toEqual([true, true, true, true]);
  });

  it("converts a string met with a boolean as Java's Boolean.valueOf ('true' in any case is TRUE)", () => {
    expect([ev("f = TRUE", { f: "true" }), ev("f = TRUE", { f: "True" }), ev("f = FALSE", { f: "yes" }), ev("f = TRUE", { f: "1" })])
      .toEqual([true, true, true, false]);
    expect([ev("TRUE = f", { f: "true" }), ev("f <> FALSE", { f: "false" }), ev("(a = 1) = f", { a: 1, f: "TRUE" })]).toEqual([true, false, true]);
  });

  it("compares numbers and booleans from the lookup, and finds a number never equal to a boolean", () => {
    expect([ev("n = '4'", { n: 4 }), ev("n > h", { n: 4, h: "3.5" }), ev("n = TRUE", { n: 1 }), ev("n <> TRUE", { n: 1 }), ev("b = TRUE", { b: true })])
      .toEqual([true, true, false, true, true]);
    expect([ev("b > c", { b: true, c: false }), ev("b >= c", { b: false, c: true }), ev("b < n", { b: true, n: 1 })]).toEqual([true, false, false]);
  });

  it.each([["m = 1"], ["1 = m"], ["m <> 1"], ["m < 1"], ["m >= 1"], ["m = m"], ["m <> m"], ["m = 'x'"], ["'x' = m"], ["m = TRUE"], ["m + 1 = 1"]])(
    "gives unknown when a side is missing: %s",
    (text) => {
      expect(ev(text)).toBe(null);
      expect(ev(`NOT (${text})`)).toBe(null);
    },
  );

  it("chains = to the left: a = b = TRUE is (a = b) = TRUE", () => {
    expect([ev("1 + 2 = 3 = TRUE"), ev("a = b = FALSE", { a: "x", b: "y" }), ev("a > 1 = TRUE", { a: 2 })]).toEqual([true, true, true]);
  });
});

describe("selector logic", () => {
  const v = { t: true, f: false };
  it.each([
    ["t", "t", true, true], ["t", "f", false, true], ["t", "u", null, true],
    ["f", "t", false, true], ["f", "f", false, false], ["f", "u", false, null],
    ["u", "t", null, true], ["u", "f", false, null], ["u", "u", null, null],
  ])("%s AND/OR %s is %s / %s", (a, b, and, or) => {
    expect(ev(`${a} AND ${b}`, v)).toBe(and);
    expect(ev(`${a} OR ${b}`, v)).toBe(or);
    expect(compileSelector(`${a} AND ${b}`).matches(lookupOf(v))).toBe(and === true);
    expect(compileSelector(`${a} OR ${b}`).matches(lookupOf(v))).toBe(or === true);
  });

  it("negates TRUE and FALSE and keeps unknown unknown", () => {
    expect([ev("NOT t", v), ev("NOT f", v), ev("NOT u", v), ev("NOT NOT t", v), ev("NOT NOT u", v)]).toEqual([false, true, null, true, null]);
  });

  it("evaluates long chains as one n-ary node", () => {
    expect(ev(`f${" OR f".repeat(500)} OR t`, v)).toBe(true);
    expect(ev(`t${" AND t".repeat(500)} AND u`, v)).toBe(null);
    expect(ev(`u${" AND u".repeat(500)} AND f`, v)).toBe(false);
  });
});

describe("selector precedence", () => {
  it.each([
    ["a = 1 OR b = 1 AND c = 1", { a: 1, b: 0, c: 0 }, true],
    ["(a = 1 OR b = 1) AND c = 1", { a: 1, b: 0, c: 0 }, false],
    ["NOT a = 1", { a: 2 }, true],
    ["NOT a = 1 AND b = 1", { a: 2, b: 0 }, false],
    ["NOT (a = 1 AND b = 1)", { a: 2, b: 0 }, true],
    ["NOT a = 1 OR b = 1", { a: 1, b: 1 }, true],
    ["a BETWEEN 1 AND 3 AND b = 1", { a: 2, b: 1 }, true],
    ["a BETWEEN 1 AND 3 AND b = 1", { a: 2, b: 0 }, false],
    ["a NOT BETWEEN 1 AND 3 OR b = 1", { a: 2, b: 1 }, true],
    ["a = 1 IS NULL", {}, true],
    ["a = 1 IS NOT NULL", { a: 1 }, true],
    ["a LIKE 'x%' = TRUE", { a: "xy" }, true],
    ["a IN ('x') = FALSE", { a: "y" }, true],
    ["a + 1 > 2 AND a * 2 < 10", { a: 3 }, true],
  ])("%s with %j is %s", (text, values, expected) => {
    expect(ev(text, values)).toBe(expected);
  });

  it.each([
    ["1 + 2 * 3 = 7"], ["(1 + 2) * 3 = 9"], ["10 - 2 - 3 = 5"], ["10 - (2 - 3) = 11"], ["100 / 10 / 5 = 2"], ["2 * 3 % 4 = 2"],
    ["7 % 4 * 2 = 6"], ["-2 * -3 = 6"], ["- 2 + 3 = 1"], ["-(2 + 3) = -5"], ["+2 = 2"], ["- -2 = 2"], ["-(-2) = 2"], ["2 - -2 = 4"],
    ["1 + 2 > 2 + 0"], ["6 / 2 * 3 = 9"],
  ])("arithmetic %s", (text) => {
    expect(ev(text)).toBe(true);
  });

  it("skips comments and any whitespace", () => {
    expect(ev("a = 1 -- trailing comment", { a: 1 })).toBe(true);
    expect(ev("a /* c */ = /* d\n */ 1 -- c\n AND b = 2", { a: 1, b: 2 })).toBe(true);
    expect(ev("a = 1 --\r\nAND b = 2", { a: 1, b: 3 })).toBe(false);
    expect(ev("\ta\n=\r1\f", { a: 1 })).toBe(true);
    // '--' always starts a comment, as in ActiveMQ: 'a = 1 --2 = 3' is 'a = 1'.
    expect([ev("a = 1 --2 = 3", { a: 1 }), ev("a = 1 - -2 = 3", { a: 1 })]).toEqual([true, false]);
  });

  it("reads keywords in any case", () => {
    const values = { a: 2, s: "xa", m: null };
    for (const text of ["a between 1 and 3", "a NoT bEtWeEn 3 AnD 4", "s like 'x%' escape '!'", "s not like 'y%'", "s in ('xa')", "s nOt In ('y')", "m is null", "s Is NoT nUlL", "not a = 1", "a = 2 or false", "true aNd a = 2"]) {
      expect([text, ev(text, values)]).toEqual([text, true]);
    }
  });
});

describe("selector BETWEEN", () => {
  it.each([
    ["a BETWEEN 1 AND 3", { a: 1 }, true], ["a BETWEEN 1 AND 3", { a: 3 }, true], ["a BETWEEN 1 AND 3", { a: 3.01 }, false],
    ["a BETWEEN 1 AND 3", { a: 0 }, false], ["a BETWEEN 3 AND 1", { a: 2 }, false], ["a NOT BETWEEN 1 AND 3", { a: 4 }, true],
    ["a NOT BETWEEN 1 AND 3", { a: 1 }, false], ["a BETWEEN -1 * 2 AND b + 1", { a: -2, b: 0 }, true],
    ["a BETWEEN 1 AND 3", {}, null], ["a NOT BETWEEN 1 AND 3", {}, null],
    // A missing bound: AND / OR of the two comparisons, three-valued.
    ["a BETWEEN m AND 5", { a: 1 }, null], ["a BETWEEN m AND 5", { a: 6 }, false],
    ["a NOT BETWEEN m AND 5", { a: 6 }, true], ["a NOT BETWEEN m AND 5", { a: 1 }, null],
    // Strings convert; a non-number makes both comparisons FALSE, so BETWEEN and NOT BETWEEN are both FALSE.
    ["a BETWEEN 1 AND 10", { a: "5" }, true], ["a BETWEEN 1 AND 10", { a: "abc" }, false], ["a NOT BETWEEN 1 AND 10", { a: "abc" }, false],
  ])("%s with %j is %s", (text, values, expected) => {
    expect(ev(text, values)).toBe(expected);
  });
});

describe("selector LIKE", () => {
  it.each([
    ["abc", "a%", true], ["abc", "%c", true], ["abc", "%b%", true], ["abc", "a_c", true], ["abc", "_", false], ["abc", "___", true],
    ["abc", "abc", true], ["ABC", "abc", false], ["", "%", true], ["", "_", false], ["", "", true], ["a", "", false],
    ["a\nb", "a_b", true], ["a\r\nb", "a%b", true], ["a.c", "a.c", true], ["abc", "a.c", false], ["a*", "a*", true], ["aa", "a*", false],
    ["[x]", "[x]", true], ["x", "[x]", false], ["a\\b", "a\\b", true], ["a%", "a\\%", false], ["(a|b)", "(a|b)", true], ["a", "(a|b)", false],
    ["^a$", "^a$", true], ["a{2}", "a{2}", true], ["aa", "a{2}", false], ["a+?", "a+?", true], ["😀", "_", false], ["😀", "__", true],
    ["aXbXc", "a%b%c", true], ["abcbd", "a%b_", true], ["abcbde", "a%b_", false], ["mississippi", "%iss%ppi", true],
  ])("'%s' LIKE '%s' is %s", (value, pattern, expected) => {
    const text = `v LIKE '${pattern.replace(/'/g, "''")}'`;
    expect(ev(text, { v: value })).toBe(expected);
    expect(ev(text.replace("LIKE", "NOT LIKE"), { v: value })).toBe(!expected);
  });

  it.each([
    ["10%", "10!%", "!", true], ["100", "10!%", "!", false], ["a_b", "a!_b", "!", true], ["axb", "a!_b", "!", false],
    ["a!b", "a!!b", "!", true], ["a!!b", "a!!b", "!", false], ["a!b", "a!b", "!", true], ["a!", "a!", "!", true],
    ["5%", "5%%", "%", true], ["5x", "5%%", "%", false], ["5abx", "5%x", "%", true], ["5%y", "5%%%", "%", true],
    ["a_", "a__", "_", true], ["ab", "a__", "_", false], ["x%y", "%\\%%", "\\", true], ["xy", "%\\%%", "\\", false],
    ["it's", "it''s", "'", true],
  ])("'%s' LIKE '%s' ESCAPE '%s' is %s", (value, pattern, escape, expected) => {
    const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
    expect(ev(`v LIKE ${q(pattern)} ESCAPE ${q(escape)}`, { v: value })).toBe(expected);
  });

  it("gives unknown for a missing value, and FALSE (NOT LIKE: TRUE) for a value that is not a string", () => {
    expect([ev("v LIKE '%'"), ev("v NOT LIKE '%'"), ev("v LIKE '5'", { v: 5 }), ev("v NOT LIKE '5'", { v: 5 }), ev("v LIKE '5'", { v: "5" })])
      .toEqual([null, null, false, true, true]);
    expect([ev("'abc' LIKE 'a%'"), ev("5 LIKE '5'"), ev("NULL LIKE '%'")]).toEqual([true, false, null]);
  });

  it("matches in linear time where a backtracking regular expression would not finish", () => {
    const pattern = `${"%a".repeat(30)}%b`;
    const s = compileSelector(`v LIKE '${pattern}'`);
    expect(s.evaluate(lookupOf({ v: "a".repeat(20_000) }))).toBe(false);
    expect(s.evaluate(lookupOf({ v: `${"a".repeat(20_000)}b` }))).toBe(true);
  });
});

describe("selector IN", () => {
  it.each([
    ["v IN ('a', 'b')", { v: "a" }, true], ["v IN ('a', 'b')", { v: "c" }, false], ["v IN ('a', 'b')", { v: "A" }, false],
    ["v NOT IN ('a', 'b')", { v: "c" }, true], ["v NOT IN ('a', 'b')", { v: "b" }, false], ["v IN ('it''s')", { v: "it's" }, true],
    ["v IN ('')", { v: "" }, true], ["v IN ('a','b','c','d','e','f','g','h','i','j')", { v: "j" }, true],
    // Missing, or not a string: unknown, for NOT IN too (ActiveMQ createInExpression).
    ["v IN ('a')", {}, null], ["v NOT IN ('a')", {}, null], ["v IN ('1')", { v: 1 }, null], ["v NOT IN ('1')", { v: 1 }, null],
    ["v IN ('true')", { v: true }, null],
  ])("%s with %j is %s", (text, values, expected) => {
    expect(ev(text, values)).toBe(expected);
  });
});

describe("selector IS NULL", () => {
  it("is TRUE or FALSE, never unknown", () => {
    expect([ev("v IS NULL"), ev("v IS NULL", { v: "" }), ev("v IS NOT NULL"), ev("v IS NOT NULL", { v: "x" }), ev("v IS NULL", { v: null })])
      .toEqual([true, false, false, true, true]);
    expect([ev("(v = 1) IS NULL"), ev("NULL IS NULL"), ev("v + 1 IS NULL", { v: "x" }), ev("NOT v IS NULL")]).toEqual([true, true, true, false]);
  });
});

describe("selector arithmetic", () => {
  it.each([
    ["a + b = 5", { a: 2, b: 3 }, true], ["a + b = 5", { a: "2", b: "3" }, true], ["a * 2 = 7", { a: "3.5" }, true],
    ["'2' + '3' = 5", {}, true], ["-a = -5", { a: "5" }, true], ["+a = 5", { a: "5" }, true], ["7 / 2 = 3.5", {}, true],
    ["7 % 3 = 1", {}, true], ["-7 % 3 = -1", {}, true], ["7.5 % 2 = 1.5", {}, true], ["1e308 * 10 > 1e308", {}, true],
    // Not numbers, NULL, division by zero and NaN: unknown.
    ["a + 1 = 2", { a: "x" }, null], ["a + 1 = 2", { a: true }, null], ["a + 1 = 2", {}, null], ["-a = 1", { a: "x" }, null],
    ["NULL + 1 = 1", {}, null], ["1 / 0 = 1", {}, null], ["1 / 0 > 0", {}, null], ["NOT (1 / 0 = 1)", {}, null], ["5 % 0 > 0", {}, null],
    ["a / b = 0", { a: 0, b: "0" }, null], ["1e308 * 10 - 1e308 * 10 = 0", {}, null], ["1 / a = 1", { a: "-0" }, null],
  ])("%s with %j is %s", (text, values, expected) => {
    expect(ev(text, values)).toBe(expected);
  });
});

describe("selectorLookup", () => {
  const message = {
    headers: { color: "red", JMSPriority: "9", weight: "2.5" },
    priority: 4, persistent: true, timestamp: 1_700_000_000_000, expiration: 0, correlationId: "c-1", messageId: "ID:n1-1", type: "order",
  };

  it.each([
    ["JMSPriority = 4"], ["JMSPriority > 3 AND JMSPriority < 5"], ["JMSDeliveryMode = 'PERSISTENT'"], ["JMSTimestamp = 1700000000000"],
    ["JMSExpiration = 0"], ["JMSCorrelationID = 'c-1'"], ["JMSMessageID = 'ID:n1-1'"], ["JMSType = 'order'"], ["color = 'red'"],
    ["weight * 2 = 5"], ["jmspriority IS NULL"], ["constructor IS NULL"], ["toString IS NULL"], ["__proto__ IS NULL"], ["hasOwnProperty IS NULL"],
  ])("maps %s", (text) => {
    expect(compileSelector(text).evaluate(selectorLookup(message))).toBe(true);
  });

  it("gives NON_PERSISTENT, NULL for absent fields, and reads Map headers", () => {
    const lookup = selectorLookup({ headers: new Map([["color", "blue"]]), persistent: false });
    expect(compileSelector("JMSDeliveryMode = 'NON_PERSISTENT' AND color = 'blue'").matches(lookup)).toBe(true);
    for (const name of ["JMSPriority", "JMSTimestamp", "JMSExpiration", "JMSCorrelationID", "JMSMessageID", "JMSType", "size"]) {
      expect([name, compileSelector(`${name} IS NULL`).matches(lookup)]).toEqual([name, true]);
    }
    expect(compileSelector("JMSDeliveryMode IS NULL").matches(selectorLookup({ headers: {} }))).toBe(true);
  });
});
