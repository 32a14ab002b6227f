import { afterEach, describe, expect, it } from "vitest";
import { createXdsSource, type XdsSource } from "../../../src/xds/xds-source.js";
import { FakeXdsServer } from "../../helpers/fake-xds-server.js";
import { ManualTimers } from "../../helpers/manual-timers.js";
import { assignment, captureLog, edsCluster, inlineRouteListener, options, rdsListener, RecordingSink, routeConfig, staticCluster } from "./xds-test-kit.js";

let server: FakeXdsServer | undefined;
let client: XdsSource | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  client = undefined;
  server = undefined;
});

describe.each(["sotw", "delta"] as const)("xDS warming (%s)", (mode) => {
  it("keeps an EDS cluster warming until its ClusterLoadAssignment arrives, and a listener until its RDS route config does", async () => {
    server = await FakeXdsServer.start();
    server.set("cluster", [edsCluster("outbound|80||a", { serviceName: "svc-a" }), staticCluster("static")]);
    server.set("listener", [rdsListener("l-rds", 0, "80"), inlineRouteListener("l-inline", 0)]);
    const sink = new RecordingSink();
    client = createXdsSource(options(server, mode, captureLog().log));
    // start() resolves once Envoy's initialisation is done: nothing left warming.
    let started = false;
    const first = client.start(sink).then((r) => ((started = true), r));
    // EDS is asked by service_name; RDS by the HCM's route_config_name.
    const eds = await server.nextRequest("endpoint");
    expect(mode === "sotw" ? eds.resourceNames : eds.subscribe).toEqual(["svc-a"]);
    await server.nextRequest("routeConfiguration");
    await sink.waitFor(() => sink.names("listener").includes("l-inline"));
    expect(sink.names("cluster")).toEqual(["static"]);
    expect(sink.names("listener")).toEqual(["l-inline"]);
    expect(client.warming()).toEqual({ clusters: ["outbound|80||a"], listeners: ["l-rds"] });
    expect(started).toBe(false);

    server.set("endpoint", [assignment("svc-a", ["10.0.0.1", 80])]);
    await sink.waitFor(() => sink.names("cluster").includes("outbound|80||a"));
    expect(client.warming().clusters).toEqual([]);
    server.set("routeConfiguration", [routeConfig("80")]);
    await sink.waitFor(() => sink.names("listener").includes("l-rds"));
    expect(sink.names("routeConfiguration")).toEqual(["80"]);
    expect(client.warming()).toEqual({ clusters: [], listeners: [] });
    expect((await first).accepted).toBe(true);
  });

  it("releases a warming cluster and listener when the EDS / RDS initial fetch timeout passes", async () => {
    server = await FakeXdsServer.start();
    server.set("cluster", [edsCluster("never-eds")]);
    server.set("listener", [rdsListener("l", 0, "never-rds")]);
    const sink = new RecordingSink();
    const { log, lines } = captureLog();
    const timers = new ManualTimers();
    client = createXdsSource(options(server, mode, log, { timers, initialFetchTimeoutMs: { cds: 0, lds: 0, eds: 30, rds: 30, sds: 0 } }));
    const first = client.start(sink);
    await server.nextRequest("endpoint");
    await server.nextRequest("routeConfiguration");
    expect(client.warming()).toEqual({ clusters: ["never-eds"], listeners: ["l"] });
    timers.advance(29);
    expect(client.warming()).toEqual({ clusters: ["never-eds"], listeners: ["l"] });
    timers.advance(1);
    await sink.waitFor(() => sink.names("cluster").includes("never-eds") && sink.names("listener").includes("l"));
    expect(sink.store.snapshot!.clusters["never-eds"]!.loadAssignment.endpoints).toEqual([]);
    expect(client.warming()).toEqual({ clusters: [], listeners: [] });
    expect((await first).accepted).toBe(true);
    expect(lines.some((l) => /initial fetch timeout \(30 ms\) for endpoint "never-eds"/.test(l))).toBe(true);
    expect(lines.some((l) => /initial fetch timeout \(30 ms\) for routeConfiguration "never-rds"/.test(l))).toBe(true);
    expect(client.stats().endpoint.initFetchTimeout).toBe(1);
    expect(client.stats().routeConfiguration.initFetchTimeout).toBe(1);
    // The assignment arriving later still applies.
    server.set("endpoint", [assignment("never-eds", ["10.9.9.9", 1])]);
    await sink.waitFor(() => sink.store.snapshot!.clusters["never-eds"]!.loadAssignment.endpoints.length === 1);
  });

  it("applies an update of an active cluster at once when its dependencies are there, and keeps serving the old version while a changed one warms", async () => {
    server = await FakeXdsServer.start();
    server.set("cluster", [edsCluster("c", { serviceName: "s1" })]);
    server.set("endpoint", [assignment("s1", ["10.0.0.1", 80])]);
    server.set("listener", []);
    const sink = new RecordingSink();
    client = createXdsSource(options(server, mode, captureLog().log));
    await client.start(sink);
    await sink.waitFor(() => sink.names("cluster").includes("c"));
    const activeBefore = sink.store.snapshot!.clusters.c;
    // The cluster now wants service s2, which the server does not have: the old one keeps serving.
    server.upsert("cluster", edsCluster("c", { serviceName: "s2" }));
    await server.nextRequest("endpoint", (r) => (mode === "sotw" ? r.resourceNames.includes("s2") : r.subscribe.includes("s2")));
    expect(client.warming().clusters).toEqual(["c"]);
    expect(sink.store.snapshot!.clusters.c).toBe(activeBefore);
    server.upsert("endpoint", assignment("s2", ["10.0.0.2", 80]));
    await sink.waitFor(() => client!.warming().clusters.length === 0 && sink.pushes.at(-1)!.update.updates.some((u) => u.type === "cluster"));
    expect(client.warming().clusters).toEqual([]);
  });
});

describe.each(["sotw", "delta"] as const)("xDS subscriptions follow the resources (%s)", (mode) => {
  it("keeps assignments a per-name response leaves out, and unsubscribes the assignment of a removed cluster", async () => {
    server = await FakeXdsServer.start();
    server.set("cluster", [edsCluster("c1"), edsCluster("c2")]);
    server.set("endpoint", [assignment("c1", ["10.0.0.1", 80]), assignment("c2", ["10.0.0.2", 80])]);
    server.set("listener", []);
    const sink = new RecordingSink();
    client = createXdsSource(options(server, mode, captureLog().log));
    await client.start(sink);
    await sink.waitFor(() => sink.names("endpoint").length === 2);
    // An EDS response carrying c2 only (SotW EDS is per name): c1's assignment stays.
    server.upsert("endpoint", assignment("c2", ["10.0.0.3", 80]));
    await sink.waitFor(() => sink.store.snapshot!.clusters.c2!.loadAssignment.endpoints[0]!.lbEndpoints[0]!.address === "10.0.0.3");
    expect(sink.store.snapshot!.clusters.c1!.loadAssignment.endpoints[0]!.lbEndpoints[0]!.address).toBe("10.0.0.1");
    // c1 goes: its assignment is unsubscribed and dropped.
    server.remove("cluster", "c1");
    const unsub = await server.nextRequest("endpoint", (r) => (mode === "sotw" ? r.kind === "subscription" && !r.resourceNames.includes("c1") : r.unsubscribe.includes("c1")));
    if (mode === "sotw") expect(unsub.resourceNames).toEqual(["c2"]);
    else expect(unsub.subscribe).toEqual([]);
    expect(sink.names("cluster")).toEqual(["c2"]);
    expect(sink.store.meta("endpoint").has("c1")).toBe(false);
  });
});
