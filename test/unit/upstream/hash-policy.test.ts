// Hash policies as Envoy evaluates them: header, cookie (with generation), source IP, query
// parameter; combined in order; terminal.

import { describe, expect, it } from "vitest";
import type { HashPolicy } from "../../../src/config/model/types.js";
import { HeaderList } from "../../../src/http/header-list.js";
import { evaluateHashPolicies, makeSetCookie } from "../../../src/upstream/hash-policy.js";
import { hex64, xxHash64 } from "../../../src/upstream/xxhash64.js";

function input(headers: Array<[string, string]> = [], path = "/", sourceIp = "10.1.2.3") {
  return { headers: HeaderList.from(headers), path, sourceIp };
}

const rotate = (h: bigint): bigint => ((h << 1n) | (h >> 63n)) & 0xffffffffffffffffn;

describe("xxHash64", () => {
  it("matches the reference XXH64 vectors (short, 8/4/1-byte tails, 32-byte stripes)", () => {
    expect(hex64(xxHash64(""))).toBe("ef46db3751d8e999");
    expect(hex64(xxHash64("a"))).toBe("d24ec4f1a98c6e5b");
    expect(hex64(xxHash64("abc"))).toBe("44bc2cf5ad770999");
    expect(hex64(xxHash64("hello"))).toBe("26c7827d889f6da3");
    expect(hex64(xxHash64("Nobody inspects the spammish repetition"))).toBe("fbcea83c8a378bf1");
  });
});

describe("evaluateHashPolicies", () => {
  it("no policy, or none that applies → no hash", () => {
    expect(evaluateHashPolicies([], input())).toEqual({ hash: undefined });
    expect(evaluateHashPolicies([{ header: { headerName: "x-user" } }, { queryParameter: { name: "u" } }], input()).hash).toBeUndefined();
  });

  it("header: the value's hash; repeated values hashed in sorted order", () => {
    const p: HashPolicy[] = [{ header: { headerName: "X-User" } }];
    expect(evaluateHashPolicies(p, input([["x-user", "alice"]])).hash).toBe(xxHash64("alice"));
    const ab = evaluateHashPolicies(p, input([["x-user", "a"], ["X-User", "b"]])).hash;
    const ba = evaluateHashPolicies(p, input([["x-user", "b"], ["x-user", "a"]])).hash;
    expect(ab).toBe(ba);
    expect(ab).not.toBe(xxHash64("a"));
    expect(evaluateHashPolicies([{ header: { headerName: ":authority" } }], input([["host", "shop"]])).hash).toBe(xxHash64("shop"));
  });

  it("cookie: the request's cookie value (quotes stripped)", () => {
    const p: HashPolicy[] = [{ cookie: { name: "sid", ttlMs: 60_000 } }];
    const r = evaluateHashPolicies(p, input([["cookie", 'a=1; sid="xyz"; b=2']]));
    expect(r).toEqual({ hash: xxHash64("xyz") });
  });

  it("cookie: absent with a ttl → generated, hashed, and returned as Set-Cookie", () => {
    const p: HashPolicy[] = [{ cookie: { name: "sid", ttlMs: 3_600_000, path: "/shop" } }];
    const r = evaluateHashPolicies(p, { ...input(), sourcePort: 5555 });
    const value = hex64(xxHash64("10.1.2.3:5555"));
    expect(r.setCookie).toBe(`sid="${value}"; Max-Age=3600; Path=/shop; HttpOnly`);
    expect(r.hash).toBe(xxHash64(value));
    // The client sends it back: same hash, no new cookie.
    expect(evaluateHashPolicies(p, input([["cookie", `sid="${value}"`]]))).toEqual({ hash: r.hash });
  });

  it("cookie: absent without a ttl → no hash; ttl 0 → a session cookie", () => {
    expect(evaluateHashPolicies([{ cookie: { name: "sid" } }], input()).hash).toBeUndefined();
    expect(evaluateHashPolicies([{ cookie: { name: "sid", ttlMs: 0 } }], input()).setCookie).toMatch(/^sid="[0-9a-f]{16}"; HttpOnly$/);
    expect(makeSetCookie("s", "v", 1500, undefined)).toBe('s="v"; Max-Age=1; HttpOnly');
  });

  it("source IP and query parameter (raw value, first occurrence)", () => {
    expect(evaluateHashPolicies([{ connectionProperties: { sourceIp: true } }], input()).hash).toBe(xxHash64("10.1.2.3"));
    const q: HashPolicy[] = [{ queryParameter: { name: "user" } }];
    expect(evaluateHashPolicies(q, input([], "/p?x=1&user=a%20b&user=c")).hash).toBe(xxHash64("a%20b"));
    expect(evaluateHashPolicies(q, input([], "/p?user")).hash).toBe(xxHash64(""));
    expect(evaluateHashPolicies(q, input([], "/p?username=x")).hash).toBeUndefined();
  });

  it("combines in order: hash = rotl(hash, 1) ^ next", () => {
    const p: HashPolicy[] = [{ header: { headerName: "x-a" } }, { header: { headerName: "x-missing" } }, { connectionProperties: { sourceIp: true } }];
    const r = evaluateHashPolicies(p, input([["x-a", "1"]]));
    expect(r.hash).toBe(rotate(xxHash64("1")) ^ xxHash64("10.1.2.3"));
    // Duplicate policies do not cancel out.
    const twice = evaluateHashPolicies([{ header: { headerName: "x-a" } }, { header: { headerName: "x-a" } }], input([["x-a", "1"]]));
    expect(twice.hash).not.toBe(0n);
  });

  it("terminal stops once a hash exists, and is skipped while none does", () => {
    const p: HashPolicy[] = [{ header: { headerName: "x-a" }, terminal: true }, { connectionProperties: { sourceIp: true } }];
    expect(evaluateHashPolicies(p, input([["x-a", "1"]])).hash).toBe(xxHash64("1"));
    expect(evaluateHashPolicies(p, input()).hash).toBe(xxHash64("10.1.2.3"));
  });
});
