// Real istiod output replayed over xDS: the production xDS client (createXdsSource with the
// production codec — proto-json.ts' anyToJson and decode-resource.ts' decoders) talks to the fake
// control plane over its Unix socket, in both modes (state of the world, delta), and is served:
//   1. every listener of a real 2023 sidecar's LDS (the shared corpus' authz testdata dump) with the
//      route configurations, clusters, endpoints and secrets they name: every response ACKed
//      (virtualInbound's ext_authz, a CUSTOM policy, runs fail-closed); and the same LDS made partly
//      bad (a filter Outrigger refuses put into virtualInbound): the other 28 apply, the response is
//      NACKed with exactly that reason;
//   2. the clusters, route configurations, endpoints and secrets of istio/istio's testdata config
//      dumps (test/fixtures/istio-dumps): all ACKed, the secrets land in Snapshot.secrets;
//   3. describe-http-config.json's route configuration `http.8080` behind a real listener of the
//      2023 dump, applied by a ProxyRuntime: GET /productpage reaches the upstream the EDS
//      endpoints name, an unmatched path answers 404 NR.
// Where the dumps do not carry a resource the served ones name, a minimal one is synthesized (each
// spot says so); real resources are served verbatim but for the `@type` of the dump wrapper.
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import type { Json } from "../../src/config/envoy/decoded.js";
import { decodeResource } from "../../src/config/envoy/decode-resource.js";
import { anyToJson } from "../../src/config/envoy/proto-json.js";
import type { ConfigSink, ConfigUpdate, UpdateResult } from "../../src/config/source/config-source.js";
import { createLogger } from "../../src/common/logger.js";
import { defaultLimits } from "../../src/bootstrap/bootstrap.js";
import { seededRandom } from "../../src/common/random.js";
import { ProxyRuntime } from "../../src/worker/proxy-runtime.js";
import type { StreamInfo } from "../../src/observability/stream-info.js";
import { createXdsSource, type XdsSource } from "../../src/xds/xds-source.js";
import type { ResourceCodec, XdsSourceOptions } from "../../src/xds/xds-options.js";
import { FakeXdsServer, type RecordedRequest } from "../helpers/fake-xds-server.js";
import { storeSink } from "../helpers/memory-source.js";
import { makeRootCa, issueLeaf, pkiDir } from "../helpers/pki.js";
import { sharedPath } from "../helpers/shared-dir.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor, within } from "../helpers/wait.js";
import { captureLog, NODE, RecordingSink } from "../unit/xds/xds-test-kit.js";

/** The production codec, as the bootstrap wires it. */
const codec: ResourceCodec = { anyToJson, decode: (t, j) => decodeResource(t, j, { origin: "xds" }) };

function xdsOptions(server: FakeXdsServer, mode: "sotw" | "delta"): XdsSourceOptions {
  return {
    ads: { target: server.target, clusterName: "xds-grpc" },
    mode,
    node: NODE,
    setNodeOnFirstMessageOnly: true,
    codec,
    // istiod's bootstrap: wait for ever (every dependency is served here, so nothing times out).
    initialFetchTimeoutMs: { cds: 0, lds: 0, eds: 0, rds: 0, sds: 0 },
    backoff: { baseMs: 5, maxMs: 20 },
    log: captureLog().log,
  };
}

// ---- the corpus ---------------------------------------------------------------------------

const fixture = (f: string): { configs: Json[] } => JSON.parse(readFileSync(new URL(`../fixtures/istio-dumps/${f}`, import.meta.url), "utf8")) as { configs: Json[] };
const configsOf = (f: string, kind: string): Json[] => fixture(f).configs.filter((c) => String(c["@type"]).endsWith(`.${kind}`));
const items = (f: string, kind: string, lists: string[], key: string): Json[] => configsOf(f, kind).flatMap((c) => lists.flatMap((l) => ((c[l] as Json[] | undefined) ?? []).map((x) => x[key] as Json)));
/** A resource as the fake server takes it: its own type comes from the set, not from the dump's `@type`. */
const bare = (j: Json): Json => {
  const { "@type": _t, ...rest } = j;
  return structuredClone(rest);
};

const LISTENER_DUMP = JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8")) as {
  configs: Array<{ static_listeners: Array<{ listener: Json }>; dynamic_listeners: Array<{ active_state: { listener: Json } }> }>;
};

/**
 * All 29 listeners of the 2023 dump. The two static ones (the bootstrap's 15090 / 15021, unnamed in
 * static_resources, where Envoy names them itself) get a name so LDS can carry them.
 */
function realListeners(): Json[] {
  const ld = LISTENER_DUMP.configs[0]!;
  const statics = ld.static_listeners.map((s) => {
    const l = bare(s.listener);
    const sa = (l.address as Json).socket_address as Json;
    return { name: `static_${String(sa.address)}_${String(sa.port_value)}`, ...l };
  });
  return [...statics, ...ld.dynamic_listeners.map((d) => bare(d.active_state.listener))];
}

/** What the listeners name: RDS route configuration names and clusters (routes, tcp_proxy, inline routes). */
function namedBy(listeners: Json[]): { routes: string[]; clusters: string[] } {
  const routes = new Set<string>();
  const clusters = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (typeof v !== "object" || v === null) return;
    const o = v as Json;
    if (typeof o.route_config_name === "string") routes.add(o.route_config_name);
    if (typeof o.cluster === "string") clusters.add(o.cluster);
    for (const c of ((o.weighted_clusters as Json | undefined)?.clusters as Json[] | undefined) ?? []) clusters.add(String(c.name));
    Object.values(o).forEach(walk);
  };
  walk(listeners);
  return { routes: [...routes].sort(), clusters: [...clusters].sort() };
}

const proxyconfigClusters = (): Json[] => items("proxyconfig-config-dump.json", "ClustersConfigDump", ["static_clusters", "dynamic_active_clusters"], "cluster").map(bare);
const endpointDumpAssignments = (): Json[] => items("endpoint-configdump.json", "EndpointsConfigDump", ["dynamic_endpoint_configs"], "endpoint_config").map(bare);
const proxyconfigSecrets = (): Json[] => configsOf("proxyconfig-config-dump.json", "SecretsConfigDump").flatMap((c) => (c.dynamic_active_secrets as Json[]).map((s) => bare(s.secret as Json)));

/** An EDS cluster as istiod writes one (service_name = its name). Synthesized. */
function edsCluster(name: string): Json {
  return { name, type: "EDS", connect_timeout: "10s", lb_policy: "LEAST_REQUEST", eds_cluster_config: { eds_config: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" }, service_name: name } };
}

/**
 * The clusters the 2023 listeners name. The dump is LDS only: `agent` / `prometheus_stats` come
 * from the proxyconfig dump; the rest are synthesized minimally as istiod shapes them
 * (outbound|… EDS, the passthrough ones ORIGINAL_DST, BlackHoleCluster and the internal-listener
 * ones STATIC without endpoints, the inbound one STATIC on 127.0.0.1).
 */
function clustersFor(names: string[]): Json[] {
  const real = new Map(proxyconfigClusters().map((c) => [String(c.name), c]));
  return names.map((name) => {
    const r = real.get(name);
    if (r !== undefined) return r;
    if (name.startsWith("outbound|")) return edsCluster(name);
    if (name === "PassthroughCluster" || name === "InboundPassthroughClusterIpv4") return { name, type: "ORIGINAL_DST", connect_timeout: "10s", lb_policy: "CLUSTER_PROVIDED" };
    if (name.startsWith("inbound|")) return { name, type: "STATIC", connect_timeout: "10s", load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 80 } } } }] }] } };
    return { name, type: "STATIC", connect_timeout: "10s", load_assignment: { cluster_name: name, endpoints: [] } };
  });
}

/** EDS for the EDS clusters: the endpoint dump's real assignment when it has that name, else one synthesized endpoint. */
function assignmentsFor(clusters: Json[]): Json[] {
  const real = new Map(endpointDumpAssignments().map((a) => [String(a.cluster_name), a]));
  return clusters
    .filter((c) => c.type === "EDS")
    .map((c, i) => {
      const name = String(c.name);
      const port = Number(name.split("|")[1]);
      return real.get(name) ?? { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: `10.244.0.${i + 1}`, port_value: port } } } }] }] };
    });
}

/** The 2023 dump carries no RDS: each named route configuration is synthesized as one catch-all to PassthroughCluster. */
function routeConfigsFor(names: string[]): Json[] {
  return names.map((name) => ({ name, validate_clusters: false, virtual_hosts: [{ name: `${name}-all`, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "PassthroughCluster" } }] }] }));
}

/** One response per type, each ACKed (but `nacked`): the whole exchange, request by request. */
function allAcked(...nacked: string[]): Record<string, string[]> {
  return Object.fromEntries(["cluster", "endpoint", "listener", "routeConfiguration", "secret"].map((t) => [t, ["initial", nacked.includes(t) ? "nack" : "ack"]]));
}

/** virtualInbound with a filter Outrigger refuses (local rate limiting) before the router of its first HTTP chain. */
function withRefusedFilter(l: Json): Json {
  const copy = JSON.parse(JSON.stringify(l)) as Json;
  const chains = copy.filter_chains as Json[];
  const hcm = ((chains[1]!.filters as Json[])[2]!.typed_config as Json).http_filters as Json[];
  hcm.splice(hcm.length - 1, 0, { name: "envoy.filters.http.local_ratelimit", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", stat_prefix: "rl" } });
  return copy;
}


// ---- harness --------------------------------------------------------------------------------

let server: FakeXdsServer | undefined;
let client: XdsSource | undefined;
let runtime: ProxyRuntime | undefined;
let upstream: EchoUpstream | undefined;
afterEach(async () => {
  client?.close();
  await server?.close();
  await runtime?.close();
  await upstream?.close();
  client = server = runtime = upstream = undefined;
});

/** Per type, the kind of every request the client sent (initial, then one answer per response). */
function exchanges(s: FakeXdsServer): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of s.requests) (out[r.type ?? r.typeUrl] ??= []).push(r.kind);
  return out;
}

/** Waits until the client has answered every response the server sent so far (the server's last nonce per type). */
async function settled(s: FakeXdsServer, types: Array<NonNullable<RecordedRequest["type"]>>): Promise<void> {
  for (const t of types) await within(s.waitFor((r) => r.type === t && (r.kind === "ack" || r.kind === "nack")), 10_000, `an answer to the ${t} response`);
}

describe.each(["sotw", "delta"] as const)("real istiod output replayed over xDS (%s)", (mode) => {
  async function serveLds(listeners: Json[]): Promise<{ s: FakeXdsServer; sink: RecordingSink; start: UpdateResult }> {
    const s = (server = await FakeXdsServer.start());
    const { routes, clusters: clusterNames } = namedBy(listeners);
    const clusters = clustersFor(clusterNames);
    s.set("cluster", clusters);
    s.set("endpoint", assignmentsFor(clusters));
    s.set("routeConfiguration", routeConfigsFor(routes));
    // The listeners' SDS configs name `default` / `ROOTCA`; with no SDS server configured they come over ADS.
    s.set("secret", proxyconfigSecrets());
    s.set("listener", listeners);
    const sink = new RecordingSink();
    client = createXdsSource(xdsOptions(s, mode));
    const start = await within(client.start(sink), 15_000, "the xDS client's initialisation");
    await settled(s, ["cluster", "endpoint", "listener", "routeConfiguration", "secret"]);
    return { s, sink, start };
  }

  it("LDS of a real 2023 sidecar: every response ACKed, all 29 listeners apply (virtualInbound's ext_authz, a CUSTOM policy, runs fail-closed)", async () => {
    const listeners = realListeners();
    expect(listeners).toHaveLength(29);
    const { routes, clusters } = namedBy(listeners);
    expect(routes).toHaveLength(12);
    expect(clusters).toHaveLength(24);
    const { s, sink, start } = await serveLds(listeners);
    expect(start.accepted).toBe(true);

    // One response per type, every one ACKed.
    expect(exchanges(s)).toEqual(allAcked());
    // RDS asked for every name the listeners give, EDS for every EDS cluster, SDS for default/ROOTCA.
    const first = (t: RecordedRequest["type"]): string[] => {
      const r = s.requests.find((x) => x.type === t)!;
      return [...(mode === "sotw" ? r.resourceNames : r.subscribe)].sort();
    };
    expect(first("routeConfiguration")).toEqual(routes);
    expect(first("endpoint")).toEqual(clustersFor(clusters).filter((c) => c.type === "EDS").map((c) => String(c.name)).sort());
    expect(first("secret")).toEqual(["ROOTCA", "default"]);
    expect(client!.stats().listener).toMatchObject({ updateAttempt: 1, updateSuccess: 1, updateRejected: 0 });
    expect(client!.stats().cluster).toMatchObject({ updateRejected: 0 });

    expect(sink.names("listener")).toEqual(listeners.map((l) => String(l.name)).sort());
    expect(sink.names("routeConfiguration")).toEqual(routes);
    expect(sink.names("cluster")).toEqual(clusters);
    expect(sink.names("secret")).toEqual(["ROOTCA", "default"]);
    expect(client!.warming()).toEqual({ clusters: [], listeners: [] });
    const last = sink.store.snapshot!;
    expect(last.listeners.find((l) => l.name === "virtualOutbound")).toMatchObject({ port: 15001, useOriginalDst: true });
    expect(JSON.stringify(last.listeners.find((l) => l.name === "virtualInbound"))).toContain("envoy.filters.http.ext_authz");
    expect(sink.store.meta("listener").get("0.0.0.0_9080")?.origin).toBe("xds:ads");
  });

  it("the same LDS made partly bad (virtualInbound given a filter Outrigger refuses): the other 28 apply, the whole response is NACKed with that reason", async () => {
    const listeners = realListeners().map((l) => (l.name === "virtualInbound" ? withRefusedFilter(l) : l));
    const { s, sink } = await serveLds(listeners);
    expect(exchanges(s)).toEqual(allAcked("listener"));
    const nack = s.nacks("listener")[0]!;
    expect(nack.errorDetail!.code).toBe(3);
    expect(nack.errorDetail!.message).toBe(
      'listener "virtualInbound": filter_chains[1].filters[2].typed_config.http_filters[8].typed_config.@type: http filter envoy.filters.http.local_ratelimit (envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit) is not supported by Outrigger',
    );
    expect(client!.stats().listener).toMatchObject({ updateAttempt: 1, updateSuccess: 0, updateRejected: 1 });
    expect(sink.names("listener")).toEqual(listeners.map((l) => String(l.name)).filter((n) => n !== "virtualInbound").sort());
    // Every push the sink took was accepted: the refusal was the decoder's, before the sink.
    expect(sink.pushes.every((p) => p.result.accepted)).toBe(true);
  });

  it("CDS/RDS/EDS/SDS of istio/istio's testdata dumps: all ACKed, the secrets decode into Snapshot.secrets", async () => {
    const s = (server = await FakeXdsServer.start());
    const describeClusters = items("describe-http-config.json", "ClustersConfigDump", ["static_clusters", "dynamic_active_clusters"], "cluster").map(bare);
    const routeConfigs = [
      ...items("describe-http-config.json", "RoutesConfigDump", ["static_route_configs", "dynamic_route_configs"], "route_config"),
      ...items("proxyconfig-config-dump.json", "RoutesConfigDump", ["static_route_configs", "dynamic_route_configs"], "route_config"),
    ].map(bare);
    const realAssignments = [...endpointDumpAssignments(), ...items("proxyconfig-config-dump.json", "EndpointsConfigDump", ["dynamic_endpoint_configs"], "endpoint_config").map(bare)];
    const realClusters = [...describeClusters, ...proxyconfigClusters()];
    const realClusterNames = new Set(realClusters.map((c) => String(c.name)));
    // EDS is asked for only by EDS clusters: the endpoint dump has no clusters, so one EDS cluster is
    // synthesized per dynamic endpoint set (the static ones belong to bootstrap clusters: not EDS).
    const synthesized = realAssignments.map((a) => String(a.cluster_name)).filter((n) => !realClusterNames.has(n)).map(edsCluster);
    // The dumps' own EDS clusters whose endpoints they do not carry get one synthesized endpoint.
    const assigned = new Set(realAssignments.map((a) => String(a.cluster_name)));
    const missing = realClusters.filter((c) => c.type === "EDS" && !assigned.has(String(c.name))).map((c) => String(c.name));
    expect(missing).toEqual(["outbound|9080|v1|productpage.default.svc.cluster.local", "inbound-vip|8000|http|httpbin.default.svc.cluster.local"]);
    const assignments = [...realAssignments, ...missing.map((n) => ({ cluster_name: n, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "10.244.1.1", port_value: 9080 } } } }] }] }))];
    // RDS is asked for only by listeners naming it: one synthesized listener per route configuration.
    const listeners = routeConfigs.map((rc, i) => ({
      name: `rds_${i}`,
      address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
      bind_to_port: false,
      filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", stat_prefix: `rds_${i}`, rds: { route_config_name: rc.name, config_source: { ads: {} } }, http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }] } }] }],
    }));
    s.set("cluster", [...realClusters, ...synthesized]);
    s.set("endpoint", assignments);
    s.set("routeConfiguration", routeConfigs);
    s.set("secret", proxyconfigSecrets());
    s.set("listener", listeners);
    const sink = new RecordingSink();
    client = createXdsSource(xdsOptions(s, mode));
    const start = await within(client.start(sink), 15_000, "the xDS client's initialisation");
    expect(start.accepted).toBe(true);
    await settled(s, ["cluster", "endpoint", "listener", "routeConfiguration", "secret"]);

    expect(exchanges(s)).toEqual(allAcked());
    expect(realAssignments.length).toBe(33);
    expect(sink.names("cluster")).toEqual([...realClusterNames, ...synthesized.map((c) => String(c.name))].sort());
    expect(sink.names("routeConfiguration")).toEqual(["http.8080", "inbound-vip|8000|http|httpbin.default.svc.cluster.local"]);
    expect(client!.warming()).toEqual({ clusters: [], listeners: [] });
    // The ambient waypoint's internal-listener endpoint is kept out with a note; the update is ACKed still.
    expect(client!.notes().some((n) => n.type === "endpoint" && n.note.message === "Envoy internal listeners are not supported: endpoint left out")).toBe(true);
    const snap = sink.store.snapshot!;
    const hosts = Object.values(snap.clusters).flatMap((c) => c.loadAssignment.endpoints.flatMap((g) => g.lbEndpoints));
    expect(hosts.length).toBeGreaterThan(30);
    // The secrets: the workload certificate (its PEM chain) and the mesh root.
    expect(Object.keys(snap.secrets ?? {}).sort()).toEqual(["ROOTCA", "default"]);
    expect(snap.secrets!.default!.tlsCertificate?.certificateChain).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(snap.secrets!.ROOTCA!.validationContext?.trustedCa).toMatch(/-----BEGIN CERTIFICATE-----/);
  });

  it("routes as the dump says: describe-http-config's http.8080 behind a real 2023 listener, endpoints by EDS, through a ProxyRuntime", async () => {
    upstream = await startEchoUpstream("productpage");
    const port = await freePort();
    const rt = (runtime = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(7), log: createLogger("off"), onStream: (i) => streams.push(i) }));
    const streams: StreamInfo[] = [];
    // The supervisor's part: the store validates, the runtime applies what it accepted.
    const { store, sink: inner } = storeSink();
    const applied: ConfigUpdate[] = [];
    const sink: ConfigSink = {
      push: async (u) => {
        const r = await inner.push(u);
        if (!r.accepted) return r;
        const a = await rt.apply(store.snapshot!);
        if (!a.ok) return { accepted: false, errors: a.errors.map((message) => ({ file: u.origin, line: 0, path: "", message, severity: "error" as const })), version: null };
        applied.push(u);
        return r;
      },
    };

    const s = (server = await FakeXdsServer.start());
    const rc = bare(items("describe-http-config.json", "RoutesConfigDump", ["dynamic_route_configs"], "route_config")[0]!);
    expect(rc.name).toBe("http.8080");
    // The route names `outbound|9080||productpage…`; the dump's cluster is its v1 subset. Both are
    // served: the dump's verbatim, and the same cluster under the route's name (name and EDS
    // service_name rewritten). Their transport_socket_matches pick mTLS only for endpoints labelled
    // tlsMode=istio: this endpoint is not, so plain text, but the SDS secrets they name must be served.
    const subset = bare(items("describe-http-config.json", "ClustersConfigDump", ["dynamic_active_clusters"], "cluster")[0]!);
    const target = "outbound|9080||productpage.default.svc.cluster.local";
    const main = structuredClone(subset);
    main.name = target;
    (main.eds_cluster_config as Json).service_name = target;
    const at = (cluster: string): Json => ({ cluster_name: cluster, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: upstream!.port } } } }] }] });
    // The listener: the 2023 dump's outbound 0.0.0.0_80, bound here (address, port, bind_to_port) and
    // pointed at http.8080 (its own RDS name is "80").
    const l = realListeners().find((x) => x.name === "0.0.0.0_80")!;
    l.address = { socket_address: { address: "127.0.0.1", port_value: port } };
    delete l.bind_to_port;
    (((l.filter_chains as Json[])[0]!.filters as Json[])[0]!.typed_config as Json).rds = { route_config_name: "http.8080", config_source: { ads: {} } };
    const dir = pkiDir();
    const ca = makeRootCa(dir);
    const leaf = issueLeaf(ca, { spiffe: "spiffe://cluster.local/ns/default/sa/bookinfo-productpage" });
    s.set("cluster", [subset, main]);
    s.set("endpoint", [at(String(subset.name)), at(target)]);
    s.set("routeConfiguration", [rc]);
    s.set("secret", [
      { name: "default", tls_certificate: { certificate_chain: { inline_string: leaf.chainPem }, private_key: { inline_string: leaf.keyPem } } },
      { name: "ROOTCA", validation_context: { trusted_ca: { inline_string: ca.rootPem } } },
    ]);
    s.set("listener", [l]);
    client = createXdsSource(xdsOptions(s, mode));
    const start = await within(client.start(sink), 15_000, "the xDS client's initialisation");
    expect(start.accepted).toBe(true);
    await settled(s, ["cluster", "endpoint", "listener", "routeConfiguration", "secret"]);
    expect(exchanges(s)).toEqual(allAcked());
    expect(applied.length).toBeGreaterThanOrEqual(1);

    const hit = await get(port, "/productpage");
    expect(hit.status).toBe(200);
    expect(hit.headers["x-upstream"]).toBe("productpage");
    expect(upstream.requests.map((r) => r.url)).toEqual(["/productpage"]);
    // StreamInfo is recorded when the stream ends, which may follow the client's last byte.
    await waitFor(() => streams.length >= 1, 5_000, "the first stream's StreamInfo");
    // The real listener's chain (raw_buffer + http/1.1 by the inspectors), the dump's route, the EDS host, plain text.
    expect(streams[0]).toMatchObject({ listenerName: "0.0.0.0_80", virtualHostName: "*:80", clusterName: target, upstreamHost: `127.0.0.1:${upstream.port}`, responseCodeDetails: "via_upstream", upstreamTls: undefined });

    const miss = await get(port, "/nowhere");
    expect(miss.status).toBe(404);
    expect(miss.body).toBe("");
    expect(upstream.requests).toHaveLength(1);
    await waitFor(() => streams.length >= 2, 5_000, "the second stream's StreamInfo");
    expect(streams[1]).toMatchObject({ responseCode: 404, responseFlags: ["NR"], responseCodeDetails: "route_not_found", clusterName: undefined });
  });
});

function get(port: number, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers: { host: "productpage.default.svc.cluster.local:9080" }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}
