import { describe, expect, it } from "vitest";
import { Backoff } from "../../../src/xds/backoff.js";
import { jsonToStruct, nodeFromMessage, nodeToMessage, structToJson } from "../../../src/xds/struct-json.js";

describe("JSON ↔ google.protobuf.Struct (proto-loader form)", () => {
  it("round-trips nested objects, lists, numbers, booleans and null", () => {
    const j = { a: "x", n: 1.5, b: false, z: null, o: { p: ["q", 2, { r: true }] }, e: {} };
    const s = jsonToStruct(j);
    expect(s.fields.a).toEqual({ stringValue: "x" });
    expect(s.fields.o).toEqual({ structValue: { fields: { p: { listValue: { values: [{ stringValue: "q" }, { numberValue: 2 }, { structValue: { fields: { r: { boolValue: true } } } }] } } } } });
    expect(structToJson(s)).toEqual(j);
  });

  it("converts the node's metadata and leaves its other fields as they are", () => {
    const node = { id: "sidecar~1.2.3.4~a.b~b.svc.cluster.local", cluster: "a.b", metadata: { NAMESPACE: "b" }, locality: { zone: "z" } };
    const m = nodeToMessage(node);
    expect(m.metadata).toEqual({ fields: { NAMESPACE: { stringValue: "b" } } });
    expect(m.locality).toEqual({ zone: "z" });
    expect(nodeFromMessage(m)).toEqual(node);
  });

  it("names the field holding a value a Struct cannot carry", () => {
    expect(() => nodeToMessage({ id: "x", metadata: { f: { g: () => 1 } } })).toThrow("node.metadata.f.g: a function cannot be carried in a google.protobuf.Struct");
  });
});

describe("xDS back-off", () => {
  it("waits a random time below base·2^n, capped at max, and starts over after reset", () => {
    const b = new Backoff({ baseMs: 500, maxMs: 30_000 }, () => 0.999999);
    const waits = Array.from({ length: 10 }, () => b.next());
    expect(waits.slice(0, 4)).toEqual([499, 999, 1999, 3999]);
    expect(Math.max(...waits)).toBe(29_999);
    b.reset();
    expect(b.next()).toBe(499);
    expect(new Backoff({ baseMs: 500, maxMs: 30_000 }, () => 0).next()).toBe(0);
  });

  it("refuses a base of 0 or a max below base", () => {
    expect(() => new Backoff({ baseMs: 0, maxMs: 10 })).toThrow(/base \(0 ms\) must be > 0/);
    expect(() => new Backoff({ baseMs: 10, maxMs: 5 })).toThrow(/max \(5 ms\) >= base/);
  });
});
