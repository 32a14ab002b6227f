// PeerVerificationCache in isolation: lookup by fingerprint and its bound (the least recently
// stored entry goes first, so a mesh with more client certificates than the bound cannot grow it).

import { describe, expect, it } from "vitest";
import { PeerVerificationCache } from "../../../src/tls/peer-verification-cache.js";

describe("PeerVerificationCache", () => {
  it("returns what was stored for a fingerprint, nothing for another", () => {
    const c = new PeerVerificationCache();
    const v = { principal: "td/ns/a/sa/b" };
    c.set("AA:BB", v);
    expect(c.get("AA:BB")).toBe(v);
    expect(c.get("AA:BC")).toBeUndefined();
  });

  it("is bounded: past the bound the oldest entry is dropped", () => {
    const c = new PeerVerificationCache(2);
    c.set("1", {});
    c.set("2", {});
    c.set("3", {});
    expect(c.size).toBe(2);
    expect(c.get("1")).toBeUndefined();
    expect(c.get("2")).toBeDefined();
    expect(c.get("3")).toBeDefined();
  });
});
