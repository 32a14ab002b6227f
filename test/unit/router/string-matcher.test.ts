import { describe, expect, it } from "vitest";
import { compileStringMatcher } from "../../../src/router/string-matcher.js";

describe("compileStringMatcher", () => {
  it("exact, case-sensitive and ignoreCase", () => {
    const m = compileStringMatcher({ exact: "Foo" });
    expect(m("Foo")).toBe(true);
    expect(m("foo")).toBe(false);
    expect(m("Foo ")).toBe(false);
    const ic = compileStringMatcher({ exact: "Foo", ignoreCase: true });
    expect(ic("fOO")).toBe(true);
    expect(ic("fOOo")).toBe(false);
  });

  it("exact empty string matches only the empty value", () => {
    const m = compileStringMatcher({ exact: "" });
    expect(m("")).toBe(true);
    expect(m("x")).toBe(false);
  });

  it("prefix / suffix / contains with and without ignoreCase", () => {
    expect(compileStringMatcher({ prefix: "ab" })("abc")).toBe(true);
    expect(compileStringMatcher({ prefix: "ab" })("ABc")).toBe(false);
    expect(compileStringMatcher({ prefix: "ab", ignoreCase: true })("ABc")).toBe(true);
    expect(compileStringMatcher({ suffix: "yz" })("xyz")).toBe(true);
    expect(compileStringMatcher({ suffix: "yz" })("xYZ")).toBe(false);
    expect(compileStringMatcher({ suffix: "yz", ignoreCase: true })("xYZ")).toBe(true);
    expect(compileStringMatcher({ suffix: "xyz" })("yz")).toBe(false);
    expect(compileStringMatcher({ contains: "mid" })("amidst")).toBe(true);
    expect(compileStringMatcher({ contains: "mid" })("aMIDst")).toBe(false);
    expect(compileStringMatcher({ contains: "MiD", ignoreCase: true })("amidst")).toBe(true);
  });

  it("ignoreCase folds ASCII only (like Envoy's absl helpers)", () => {
    const m = compileStringMatcher({ exact: "straße", ignoreCase: true });
    expect(m("STRAßE")).toBe(true);
    expect(m("STRASSE")).toBe(false);
    // "[" and "{" differ by 32 but are not letters: not equal.
    expect(compileStringMatcher({ exact: "[", ignoreCase: true })("{")).toBe(false);
  });

  it("safeRegex is a full match", () => {
    const m = compileStringMatcher({ safeRegex: "/a.*" });
    expect(m("/abc")).toBe(true);
    expect(m("x/abc")).toBe(false);
    const d = compileStringMatcher({ safeRegex: "\\d{3}" });
    expect(d("123")).toBe(true);
    expect(d("1234")).toBe(false);
    expect(d("a123")).toBe(false);
  });

  it("safeRegex tolerates explicit anchors", () => {
    const m = compileStringMatcher({ safeRegex: "^v[12]$" });
    expect(m("v1")).toBe(true);
    expect(m("v3")).toBe(false);
    expect(m("xv1")).toBe(false);
  });

  it("safeRegex with ignoreCase uses RE2 case-insensitive matching", () => {
    const m = compileStringMatcher({ safeRegex: "abc", ignoreCase: true });
    expect(m("ABC")).toBe(true);
    expect(compileStringMatcher({ safeRegex: "abc" })("ABC")).toBe(false);
  });

  it("catastrophic-backtracking pattern returns false (RE2 is linear time)", () => {
    const m = compileStringMatcher({ safeRegex: "(a+)+$" });
    expect(m("a".repeat(30) + "!")).toBe(false);
    expect(m("a".repeat(30))).toBe(true);
  });

  it("throws a clear error for an invalid regex or an empty matcher", () => {
    expect(() => compileStringMatcher({ safeRegex: "a(" }, "headers[0]")).toThrow(/headers\[0\].*invalid RE2 regex "a\("/);
    // Lookarounds / backreferences are not RE2.
    expect(() => compileStringMatcher({ safeRegex: "(?=a)" })).toThrow(/invalid RE2 regex/);
    expect(() => compileStringMatcher({})).toThrow(/no match kind/);
  });
});

describe("regex literal-prefix shortcut", () => {
  it("agrees with the plain RE2 full match", async () => {
    const { RE2JS } = await import("re2js");
    const patterns = ["abc", "ab*", "a*b", "(ab|ac)d?", "/api/v[0-9]+/x", "a{2}b", "x(?i)yz", "(?:abc)+", "a\\bb", "^ab$"];
    const inputs = ["", "a", "ab", "abc", "abd", "acd", "aab", "b", "xyz", "xYZ", "abcabc", "/api/v12/x", "/api/vx/x", "aabb"];
    for (const p of patterns) {
      const m = compileStringMatcher({ safeRegex: p });
      const plain = RE2JS.compile(p);
      for (const i of inputs) expect(m(i), `${p} on ${JSON.stringify(i)}`).toBe(plain.matches(i));
      const mi = compileStringMatcher({ safeRegex: p, ignoreCase: true });
      const plainI = RE2JS.compile(p, RE2JS.CASE_INSENSITIVE);
      for (const i of inputs) expect(mi(i), `(?i)${p} on ${JSON.stringify(i)}`).toBe(plainI.matches(i));
    }
  });
});
