import { afterEach, describe, expect, it } from "vitest";
import { createXdsSource, type XdsSource } from "../../../src/xds/xds-source.js";
import { FakeXdsServer } from "../../helpers/fake-xds-server.js";
import { ManualTimers } from "../../helpers/manual-timers.js";
import { assignment, captureLog, edsCluster, options, rdsListener, RecordingSink, routeConfig } from "./xds-test-kit.js";

let server: FakeXdsServer | undefined;
let client: XdsSource | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe.each(["sotw", "delta"] as const)("xDS reconnect (%s)", (mode) => {
  it("keeps its config when the stream drops, reconnects with back-off and re-subscribes with what it has", async () => {
    const s = (server = await FakeXdsServer.start());
    s.set("cluster", [edsCluster("c1")]);
    s.set("endpoint", [assignment("c1", ["10.0.0.1", 80])]);
    s.set("listener", [rdsListener("l1", 0, "r1")]);
    s.set("routeConfiguration", [routeConfig("r1")]);
    const sink = new RecordingSink();
    const { log, lines } = captureLog();
    client = createXdsSource(options(s, mode, log));
    await client.start(sink);
    await sink.waitFor(() => sink.names("listener").length === 1 && sink.names("cluster").length === 1);
    await s.waitFor((r) => r.type === "routeConfiguration" && r.kind === "ack");
    const cdsVersion = s.acks("cluster").at(-1)!.versionInfo;
    const pushes = sink.pushes.length;

    s.dropStreams();
    // Twice in a row: one failure streak, logged once.
    const second = await s.waitFor((r) => r.stream === 2 && r.type === "cluster");
    expect(second.node?.id).toBeDefined();
    s.dropStreams();
    const third = (type: string) => s.waitFor((r) => r.stream === 3 && r.type === type && r.kind !== "ack");
    const [cds, lds, eds, rds] = await Promise.all([third("cluster"), third("listener"), third("endpoint"), third("routeConfiguration")]);
    expect(cds.node).toBeDefined();
    if (mode === "sotw") {
      // Every subscription again, with the last accepted versions and no nonce.
      expect(cds.nonce).toBe("");
      expect(cds.versionInfo).toBe(cdsVersion);
      expect(eds.resourceNames).toEqual(["c1"]);
      expect(eds.versionInfo).not.toBe("");
      expect(rds.resourceNames).toEqual(["r1"]);
      expect(lds.versionInfo).not.toBe("");
    } else {
      // Delta: what it holds, as initial_resource_versions.
      expect(Object.keys(cds.initialResourceVersions)).toEqual(["c1"]);
      expect(Object.keys(lds.initialResourceVersions)).toEqual(["l1"]);
      expect(eds.subscribe).toEqual(["c1"]);
      expect(Object.keys(eds.initialResourceVersions)).toEqual(["c1"]);
      expect(rds.subscribe).toEqual(["r1"]);
    }
    // Nothing was removed meanwhile.
    expect(sink.names("cluster")).toEqual(["c1"]);
    expect(sink.names("listener")).toEqual(["l1"]);
    expect(sink.pushes.slice(pushes).every((p) => p.update.updates.every((u) => (u.kind === "delta" ? u.removed.length === 0 : Object.keys(u.resources).length > 0)))).toBe(true);
    // Each drop ended a working stream (it had answered since): two streaks, each logged once, each recovery too.
    expect(lines.filter((l) => / warn .*ADS stream to .* ended/.test(l)).length).toBe(2);
    expect(lines.filter((l) => /ADS stream to .* is back/.test(l)).length).toBeGreaterThanOrEqual(1);

    // Envoy counts update_failure per subscribed type and stream failure.
    expect(client!.stats().cluster.updateFailure).toBe(2);
    expect(client!.stats().listener.updateFailure).toBe(2);
    // Updates flow on the new stream.
    s.upsert("endpoint", assignment("c1", ["10.0.0.2", 80]));
    await sink.waitFor(() => sink.store.snapshot!.clusters.c1!.loadAssignment.endpoints[0]!.lbEndpoints[0]!.address === "10.0.0.2");
  });
});

it("keeps retrying a control plane that cannot be reached, warning once per failure streak", async () => {
  const s = (server = await FakeXdsServer.start());
  s.set("cluster", []);
  s.set("listener", []);
  const sink = new RecordingSink();
  const { log, lines, waitForLine } = captureLog();
  client = createXdsSource({ ...options(s, "sotw", log), ads: { target: `unix:${s.socketPath}.absent`, clusterName: "xds-grpc" } });
  void client.start(sink);
  // grpc-js fails the call (UNAVAILABLE); the client logs once, then keeps retrying with back-off (debug lines).
  await waitForLine(/ warn .*ADS stream to .* ended \(UNAVAILABLE/);
  await waitForLine(/ended again/);
  expect(lines.filter((l) => / warn .*ADS stream to .* ended/.test(l)).length).toBe(1);
  expect(sink.pushes).toEqual([]);
});

it("close() ends the streams and clears every timer: nothing runs after it", async () => {
  const s = (server = await FakeXdsServer.start());
  s.set("cluster", [edsCluster("waits")]);
  s.set("listener", []);
  const sink = new RecordingSink();
  const timers = new ManualTimers();
  const { log, lines, waitForLine } = captureLog();
  client = createXdsSource({ ...options(s, "delta", log), timers, random: () => 0.5, initialFetchTimeoutMs: { cds: 0, lds: 0, eds: 20, rds: 0, sds: 0 } });
  const first = client.start(sink);
  await s.nextRequest("endpoint");
  // The EDS initial fetch timeout is pending; a dropped stream adds the reconnect back-off (half of base, jitter 0.5).
  expect(timers.waiting()).toEqual([20]);
  s.dropStreams();
  await waitForLine(/ADS stream to .* ended/);
  expect(timers.waiting()).toEqual([20, 2]);
  const pushes = sink.pushes.length;
  client.close();
  expect(timers.waiting()).toEqual([]);
  // start() was still waiting for the cluster to warm: it says why it ends.
  expect((await first).errors[0]!.message).toBe("the xDS client was closed before its first update");
  timers.advance(60_000);
  await new Promise((r) => setImmediate(r));
  expect(s.requests.some((r) => r.stream > 1)).toBe(false);
  expect(sink.pushes.length).toBe(pushes);
  expect(lines.some((l) => l.includes("initial fetch timeout"))).toBe(false);
});
