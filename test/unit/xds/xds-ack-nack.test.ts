import { afterEach, describe, expect, it } from "vitest";
import { createXdsSource, type XdsSource } from "../../../src/xds/xds-source.js";
import { FakeXdsServer } from "../../helpers/fake-xds-server.js";
import { captureLog, inlineRouteListener, options, RecordingSink, staticCluster } from "./xds-test-kit.js";

let server: FakeXdsServer | undefined;
let client: XdsSource | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

async function started(mode: "sotw" | "delta"): Promise<{ s: FakeXdsServer; sink: RecordingSink; lines: string[] }> {
  const s = (server = await FakeXdsServer.start());
  s.set("cluster", [staticCluster("a"), staticCluster("b")]);
  s.set("listener", [inlineRouteListener("l1", 0)]);
  const sink = new RecordingSink();
  const { log, lines } = captureLog();
  client = createXdsSource(options(s, mode, log));
  await client.start(sink);
  await s.waitFor((r) => r.type === "listener" && r.kind === "ack");
  await s.waitFor((r) => r.type === "cluster" && r.kind === "ack");
  return { s, sink, lines };
}

describe.each(["sotw", "delta"] as const)("xDS updates, removals, ACK and NACK (%s)", (mode) => {
  it("applies updates and removals: SotW by leaving a name out, delta by removed_resources", async () => {
    const { s, sink } = await started(mode);
    expect(sink.names("cluster")).toEqual(["a", "b"]);
    s.upsert("cluster", staticCluster("c"));
    await sink.waitFor(() => sink.names("cluster").includes("c"));
    s.remove("cluster", "a");
    await sink.waitFor(() => !sink.names("cluster").includes("a"));
    expect(sink.names("cluster")).toEqual(["b", "c"]);
    s.remove("listener", "l1");
    await sink.waitFor(() => sink.names("listener").length === 0);
    const last = sink.pushes.at(-1)!.update.updates[0]!;
    expect(last.kind).toBe(mode === "sotw" ? "state-of-the-world" : "delta");
    if (last.kind === "delta") expect(last.removed).toEqual(["l1"]);
    expect(s.nacks("cluster")).toEqual([]);
    expect(s.nacks("listener")).toEqual([]);
    // The store records each resource's version_info (delta: the resource's own version).
    const meta = sink.store.meta("cluster");
    expect(meta.get("c")?.origin).toBe("xds:ads");
    expect(meta.get("c")?.version).not.toBe("");
  });

  it("NACKs a bad resource with INVALID_ARGUMENT naming it, keeps the last good version, applies the good ones, and recovers", async () => {
    const { s, sink, lines } = await started(mode);
    const goodVersion = s.acks("cluster").at(-1)!.versionInfo;
    s.respond("cluster", { resources: [staticCluster("a"), staticCluster("b"), staticCluster("new-good"), staticCluster("bad-one")], version: "v-bad" });
    const nack = await s.nextRequest("cluster", (r) => r.kind === "nack");
    expect(nack.errorDetail!.code).toBe(3);
    expect(nack.errorDetail!.message).toContain('cluster "bad-one": bad-one.field: refused by the test codec');
    expect(nack.nonce).not.toBe("");
    // SotW: the NACK carries the last accepted version_info, not the refused one.
    if (mode === "sotw") expect(nack.versionInfo).toBe(goodVersion);
    // The valid resources of the refused response were applied.
    expect(sink.names("cluster")).toEqual(["a", "b", "new-good"]);
    expect(lines.some((l) => /NACK .*Cluster.*bad-one/.test(l))).toBe(true);
    const stats = client!.stats().cluster;
    expect(stats.updateRejected).toBe(1);
    expect(stats.updateSuccess).toBeGreaterThanOrEqual(1);
    expect(stats.updateAttempt).toBe(stats.updateSuccess + stats.updateRejected);
    s.respond("cluster", { resources: [staticCluster("a"), staticCluster("b")], version: "v-ok" });
    const ack = await s.nextRequest("cluster", (r) => r.kind === "ack");
    expect(client!.stats().cluster.updateSuccess).toBe(stats.updateSuccess + 1);
    expect(client!.stats().cluster.versionText).toBe("v-ok");
    if (mode === "sotw") expect(ack.versionInfo).toBe("v-ok");
    expect(ack.errorDetail).toBeUndefined();
  });

  it("NACKs every error of a response together, bytes that do not decode included", async () => {
    const { s, sink } = await started(mode);
    s.respond("cluster", { resources: [staticCluster("bad-1"), { type_url: "type.googleapis.com/envoy.config.cluster.v3.Cluster", value: Uint8Array.from([0xff, 0xff, 0xff]) }, staticCluster("bad-2")] });
    const nack = await s.nextRequest("cluster", (r) => r.kind === "nack");
    expect(nack.errorDetail!.message).toMatch(/bad-1\.field/);
    expect(nack.errorDetail!.message).toMatch(/bad-2\.field/);
    expect(nack.errorDetail!.message).toMatch(/(resources\[1\]|raw-1)/);
    // A resource that could not be named might be one already held: nothing is removed.
    expect(sink.names("cluster")).toEqual(["a", "b"]);
  });

  it("NACKs a response naming a resource twice and applies none of it", async () => {
    const { s, sink } = await started(mode);
    const pushes = sink.pushes.length;
    s.respond("cluster", { resources: [staticCluster("a"), staticCluster("dup"), staticCluster("dup")] });
    const nack = await s.nextRequest("cluster", (r) => r.kind === "nack");
    expect(nack.errorDetail).toEqual({ code: 3, message: 'duplicate cluster resource name "dup" in one response' });
    expect(sink.pushes.length).toBe(pushes);
    expect(sink.names("cluster")).toEqual(["a", "b"]);
  });

  it("NACKs with the sink's errors when it refuses the update, then ACKs once it accepts", async () => {
    const { s, sink } = await started(mode);
    sink.refuse = "address 127.0.0.1:80 is already used by listener x";
    s.upsert("cluster", staticCluster("c"));
    const nack = await s.nextRequest("cluster", (r) => r.kind === "nack");
    expect(nack.errorDetail!.message).toBe("xds:ads: address 127.0.0.1:80 is already used by listener x");
    expect(sink.names("cluster")).toEqual(["a", "b"]);
    sink.refuse = undefined;
    s.upsert("cluster", staticCluster("c"));
    await s.nextRequest("cluster", (r) => r.kind === "ack");
    expect(sink.names("cluster")).toEqual(["a", "b", "c"]);
  });

  it("logs a decoder's notes once per resource version and exposes them", async () => {
    const { s, lines } = await started(mode);
    const acked = s.acks("listener").length;
    s.upsert("listener", inlineRouteListener("noted-l", 0));
    await s.waitFor((r) => r.type === "listener" && r.kind === "ack" && s.acks("listener").length > acked);
    expect(client!.notes()).toEqual([{ type: "listener", name: "noted-l", note: { path: "filter_chains[0]", message: "carried as a no-op" } }]);
    const noted = (): number => lines.filter((l) => l.includes('listener "noted-l"') && l.includes("carried as a no-op")).length;
    expect(noted()).toBe(1);
    // The same resource again (SotW resends the whole LDS set with a new version_info): not logged again.
    s.upsert("listener", inlineRouteListener("l2", 0));
    await s.waitFor((r) => r.type === "listener" && r.kind === "ack" && s.acks("listener").length > acked + 1);
    expect(noted()).toBe(1);
  });
});
