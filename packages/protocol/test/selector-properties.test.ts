import fc from "fast-check";
import { compileSelector, SelectorError } from "../src";
import { envArb, lookupOf, printSelector, printStyleArb, refCondition, selectorTree } from "./selector-reference";

/** Token soup: mostly-selector-like text that reaches deep into the parser. */
const tokenSoup = fc.array(fc.constantFrom(
  "a", "b1", "$x", "'s'", "'it''s'", "'", "''", "1", "0x1F", "0x", "017", "08", "1.5", ".5", "1e3", "5L", "(", ")", ",",
  "=", "<>", "<", "<=", ">", ">=", "!=", "+", "-", "*", "/", "%", "AND", "or", "NOT", "BETWEEN", "LIKE", "ESCAPE", "IN",
  "IS", "NULL", "TRUE", "false", "XPATH", "--", "/*", "*/", "\"", "\n", "é", "\u0000",
), { maxLength: 25 }).chain((parts) => fc.constantFrom(" ", "").map((sep) => parts.join(sep)));

describe("selector properties", () => {
  it("compiling arbitrary text throws nothing but SelectorError, and what compiles evaluates to TRUE/FALSE/unknown without throwing", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: "grapheme", maxLength: 30 }), tokenSoup), envArb, (text, env) => {
        let selector;
        try {
          selector = compileSelector(text);
        } catch (e) {
          expect(e).toBeInstanceOf(SelectorError);
          expect((e as InstanceType<typeof SelectorError>).code).toBe("FEDMQ_ERR_INVALID_SELECTOR");
          expect((e as Error).message).toMatch(/^selector '.*' : .+ at (line \d+, )?column \d+$/s);
          return;
        }
        expect([true, false, null]).toContain(selector.evaluate(lookupOf(env)));
      }),
      { numRuns: 3000 },
    );
  });

  it("evaluates every generated selector, printed with minimal parentheses, as the reference evaluation of its tree", () => {
    fc.assert(
      fc.property(selectorTree.cond, printStyleArb, fc.array(envArb, { minLength: 1, maxLength: 4 }), (tree, style, envs) => {
        const text = printSelector(tree, style);
        const selector = compileSelector(text);
        for (const env of envs) {
          const expected = refCondition(tree, env);
          expect({ text, env, result: selector.evaluate(lookupOf(env)) }).toEqual({ text, env, result: expected });
          expect(selector.matches(lookupOf(env))).toBe(expected === true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("NOT (x) matches exactly when x evaluates to FALSE, not when it is unknown", () => {
    fc.assert(
      fc.property(selectorTree.cond, envArb, (tree, env) => {
        const text = printSelector(tree);
        const x = compileSelector(text).evaluate(lookupOf(env));
        expect(x).toBe(refCondition(tree, env));
        expect(compileSelector(`NOT (${text})`).matches(lookupOf(env))).toBe(x === false);
        expect(compileSelector(`NOT (${text})`).evaluate(lookupOf(env))).toBe(x === null ? null : !x);
      }),
      { numRuns: 1000 },
    );
  });

  it("LIKE, with and without ESCAPE, matches as the reference regular expression does", () => {
    const small = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 7 }).map((cs) => cs.join(""));
    fc.assert(
      fc.property(small(["a", "b", "%", "_", "!", "\n"]), small(["a", "b", "%", "_", "!"]), fc.constantFrom(null, "!", "%", "_", "a"), fc.boolean(),
        (value, pat, esc, not) => {
          const tree = { k: "like" as const, not, v: { k: "id" as const, name: "v" }, pat, esc };
          const text = printSelector(tree);
          expect({ text, value, result: compileSelector(text).evaluate(lookupOf({ v: value })) })
            .toEqual({ text, value, result: refCondition(tree, { v: value }) });
        }),
      { numRuns: 3000 },
    );
  });

  it("a selector's truth is unchanged by extra parentheses, keyword case and comments", () => {
    fc.assert(
      fc.property(selectorTree.cond, printStyleArb, envArb, (tree, style, env) => {
        const plain = compileSelector(printSelector(tree)).evaluate(lookupOf(env));
        expect(compileSelector(`(${printSelector(tree, style)}) /* trailing */`).evaluate(lookupOf(env))).toBe(plain);
      }),
      { numRuns: 500 },
    );
  });
});
