import { afterEach, describe, expect, it } from "vitest";
import { createXdsSource, type XdsSource } from "../../../src/xds/xds-source.js";
import { FakeXdsServer, type RecordedRequest } from "../../helpers/fake-xds-server.js";
import { ManualTimers } from "../../helpers/manual-timers.js";
import { assignment, captureLog, edsCluster, NODE, options, rdsListener, RecordingSink, routeConfig, staticCluster } from "./xds-test-kit.js";

let server: FakeXdsServer | undefined;
let client: XdsSource | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe.each(["sotw", "delta"] as const)("xDS initial fetch (%s)", (mode) => {
  it("sends the node verbatim once, asks CDS then LDS at once, then EDS and RDS for what they name, and pushes the warmed config", async () => {
    server = await FakeXdsServer.start();
    server.set("cluster", [edsCluster("outbound|9080||reviews"), staticCluster("BlackHoleCluster")]);
    server.set("endpoint", [assignment("outbound|9080||reviews", ["10.0.0.7", 9080])]);
    server.set("listener", [rdsListener("0.0.0.0_9080", 0, "9080")]);
    server.set("routeConfiguration", [routeConfig("9080")]);
    const { log } = captureLog();
    const sink = new RecordingSink();
    client = createXdsSource(options(server, mode, log));
    const first = client.start(sink);
    await sink.waitFor(() => sink.names("listener").length === 1 && sink.names("endpoint").length === 1);
    expect((await first).accepted).toBe(true);

    const initial = server.requests.filter((r) => r.kind === "initial").map((r) => r.type);
    expect(initial.slice(0, 2)).toEqual(["cluster", "listener"]);
    expect(initial).toContain("endpoint");
    expect(initial).toContain("routeConfiguration");
    // EDS follows the CDS ACK, RDS the LDS ACK.
    const idx = (pred: (r: RecordedRequest) => boolean): number => server!.requests.findIndex(pred);
    expect(idx((r) => r.type === "endpoint")).toBeGreaterThan(idx((r) => r.type === "cluster" && r.kind === "ack"));
    expect(idx((r) => r.type === "routeConfiguration")).toBeGreaterThan(idx((r) => r.type === "listener" && r.kind === "ack"));

    // The node goes once, on the very first request, with its metadata Struct intact.
    const withNode = server.requests.filter((r) => r.node !== undefined);
    expect(withNode).toHaveLength(1);
    expect(withNode[0]).toBe(server.requests[0]);
    expect(withNode[0]!.node).toEqual(NODE);

    const eds = server.requests.find((r) => r.type === "endpoint")!;
    expect(mode === "sotw" ? eds.resourceNames : eds.subscribe).toEqual(["outbound|9080||reviews"]);
    const rds = server.requests.find((r) => r.type === "routeConfiguration")!;
    expect(mode === "sotw" ? rds.resourceNames : rds.subscribe).toEqual(["9080"]);
    expect(sink.names("cluster")).toEqual(["BlackHoleCluster", "outbound|9080||reviews"]);
    expect(sink.names("routeConfiguration")).toEqual(["9080"]);
    expect(sink.store.snapshot!.clusters["outbound|9080||reviews"]!.loadAssignment.endpoints[0]!.lbEndpoints[0]!.address).toBe("10.0.0.7");
    expect(sink.pushes.every((p) => p.update.origin === "xds:ads")).toBe(true);
    // Every response was ACKed: SotW with its version_info, delta with its nonce.
    await server.waitFor((r) => r.type === "routeConfiguration" && r.kind === "ack");
    expect(server.nacks("cluster")).toEqual([]);
    if (mode === "sotw") expect(server.acks("cluster")[0]!.versionInfo).not.toBe("");
    expect(client.warming()).toEqual({ clusters: [], listeners: [] });
  });

  it("sends the node on every request when setNodeOnFirstMessageOnly is false", async () => {
    server = await FakeXdsServer.start();
    server.set("cluster", [staticCluster("c1")]);
    server.set("listener", []);
    const sink = new RecordingSink();
    client = createXdsSource(options(server, mode, captureLog().log, { setNodeOnFirstMessageOnly: false }));
    await client.start(sink);
    await server.waitFor((r) => r.type === "listener" && r.kind === "ack");
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    expect(server.requests.every((r) => r.node !== undefined && r.node.id === NODE.id)).toBe(true);
  });
});

it("refuses a node whose metadata is not an object, naming the field", async () => {
  server = await FakeXdsServer.start();
  const c = createXdsSource({ ...options(server, "sotw", captureLog().log), node: { id: "x", metadata: ["no"] } });
  await expect(c.start(new RecordingSink())).rejects.toThrow(/node\.metadata: must be a JSON object/);
  c.close();
  expect(server.requests).toEqual([]);
});

it("goes on without CDS/LDS when their initial fetch timeouts pass with no answer", async () => {
  server = await FakeXdsServer.start();
  server.mute("cluster");
  server.mute("listener");
  const { log, lines, waitForLine } = captureLog();
  const sink = new RecordingSink();
  const timers = new ManualTimers();
  client = createXdsSource({ ...options(server, "sotw", log), timers, initialFetchTimeoutMs: { cds: 20, lds: 30, eds: 0, rds: 0, sds: 0 } });
  const first = client.start(sink);
  await server.nextRequest("listener");
  timers.advance(20);
  await waitForLine(/CDS initial fetch timeout/);
  expect(sink.pushes).toEqual([]);
  timers.advance(10);
  const r = await first;
  expect(r.accepted).toBe(true);
  expect(sink.pushes).toHaveLength(1);
  expect(sink.pushes[0]!.update.updates).toEqual([]);
  expect(lines.some((l) => /CDS initial fetch timeout \(20 ms\) passed with no response/.test(l))).toBe(true);
  expect(client.stats().cluster).toMatchObject({ initFetchTimeout: 1, updateSuccess: 0, updateAttempt: 0 });
});

it("takes a CDS response larger than grpc-js' default 4 MB receive limit", async () => {
  server = await FakeXdsServer.start();
  const pad = "x".repeat(2000);
  server.set("cluster", Array.from({ length: 2600 }, (_, i) => staticCluster(`outbound|80||svc-${i}.${pad}`)));
  server.set("listener", []);
  const sink = new RecordingSink();
  client = createXdsSource(options(server, "sotw", captureLog().log));
  await client.start(sink);
  await sink.waitFor(() => sink.names("cluster").length === 2600);
  expect(server.nacks("cluster")).toEqual([]);
});

it("resolves start() with a refused first update too (Envoy's initialisation completes on a rejected one), NACKing it", async () => {
  server = await FakeXdsServer.start();
  server.set("cluster", [staticCluster("c")]);
  server.set("listener", []);
  const sink = new RecordingSink();
  sink.refuse = "refused by the test sink";
  client = createXdsSource(options(server, "delta", captureLog().log));
  const r = await client.start(sink);
  expect(r.accepted).toBe(false);
  expect(r.errors[0]!.message).toBe("refused by the test sink");
  const nack = await server.nextRequest("cluster", (x) => x.kind === "nack");
  expect(nack.errorDetail!.message).toBe("xds:ads: refused by the test sink");
  expect(client.stats().cluster.updateRejected).toBe(1);
});
