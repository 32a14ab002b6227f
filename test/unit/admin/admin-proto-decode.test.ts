// The admin dumps decode with Envoy's own envoy.admin.v3 protos, unknown fields refused (issue 10
// "Admin": istioctl and Istio's e2e framework parse them as protos): /config_dump?include_eds built
// from translated Istio samples (bookinfo routing, security tasks), /server_info, /listeners and
// /clusters?format=json, /certs.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminControl } from "../../../src/admin/admin-control.js";
import { startAdminServer, type AdminServer } from "../../../src/admin/admin-server.js";
import { clusterStatus } from "../../../src/admin/cluster-status.js";
import { buildConfigDump } from "../../../src/admin/config-dump/config-dump.js";
import { serverState } from "../../../src/admin/server-state.js";
import { createLogger } from "../../../src/common/logger.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";
import type { HttpConnectionManager, Snapshot } from "../../../src/config/model/types.js";
import type { ResourceMeta, ResourceType } from "../../../src/config/source/config-source.js";
import type { AdminState } from "../../../src/supervisor/supervisor-api.js";
import { issueLeaf, makeRootCa, pkiDir } from "../../helpers/pki.js";
import { route } from "../../helpers/proxy.js";
import { normalizeProtoJson } from "../../../src/config/envoy/proto-json.js";
import { testBootstrap } from "../../helpers/admin.js";
import { sharedPath } from "../../helpers/shared-dir.js";
import { doc, httpbinSidecar, reviewsSE, run } from "../config/helpers.js";

type J = Record<string, unknown>;
const sample = (...p: string[]): string => readFileSync(sharedPath("istio-samples", ...p), "utf8") + "\n---\n";
const inNs = (yaml: string, ns: string): string => yaml.replace(/namespace: *\S+/g, `namespace: ${ns}`);

function translated(yaml: string): ReturnType<typeof run> {
  const r = run(yaml, {
    namespace: "foo",
    proxyLabels: { app: "httpbin" },
    defaultOutbound: { address: "127.0.0.1", port: 15001 },
    security: { trustDomain: "cluster.local", hasIdentity: true },
  });
  expect(r.messages).toEqual([]);
  return r;
}

const bookinfo =
  inNs(reviewsSE, "foo").replaceAll("reviews.shop", "reviews.foo") +
  "\n---\n" +
  inNs(sample("istio", "samples", "bookinfo", "networking", "destination-rule-all.yaml"), "foo").replaceAll("host: reviews\n", "host: reviews.foo.svc.cluster.local\n") +
  inNs(sample("istio", "samples", "bookinfo", "networking", "virtual-service-reviews-jason-v2-v3.yaml"), "foo");
const security =
  httpbinSidecar +
  "\n---\n" +
  sample("istio.io", "docs-tasks", "authz-http", "allow-nothing.yaml") +
  inNs(sample("istio.io", "docs-tasks", "authz-jwt", "requestauthentication-jwt-example.yaml"), "foo") +
  inNs(sample("istio.io", "docs-tasks", "authz-jwt", "authorizationpolicy-require-jwt.yaml"), "foo") +
  sample("istio.io", "docs-tasks", "authn-policy", "peerauthentication-foo-namespace-strict.yaml") +
  doc("PeerAuthentication", "p9000", "foo", "  selector: {matchLabels: {app: httpbin}}\n  portLevelMtls: {9000: {mode: PERMISSIVE}}", "security.istio.io/v1");

describe("admin dumps decode as envoy.admin.v3 messages", () => {
  for (const [name, yaml] of [
    ["bookinfo routing", bookinfo],
    ["security tasks", security],
    ["both", bookinfo + "\n---\n" + security],
  ] as const) {
    it(`/config_dump?include_eds of ${name} is an envoy.admin.v3.ConfigDump`, () => {
      const r = translated(yaml);
      const dump = buildConfigDump({ bootstrap: testBootstrap(), snapshot: { version: "v1", ...r.snapshot }, lastReloadError: null, lastUpdated: "2026-01-02T03:04:05.678Z" }, { includeEds: true });
      expect(dump.configs.length).toBe(7);
      const decoded = normalizeProtoJson("envoy.admin.v3.ConfigDump", dump as unknown as J);
      expect((decoded["configs"] as J[]).map((c) => c["@type"])).toEqual(dump.configs.map((c) => c["@type"]));
    });
  }
});

const ca = makeRootCa(pkiDir());
const leaf = issueLeaf(ca, { name: "workload" });
const secrets = {
  default: { name: "default", tlsCertificate: { certificateChain: readFileSync(leaf.certFile, "utf8"), privateKey: readFileSync(leaf.keyFile, "utf8") } },
  ROOTCA: { name: "ROOTCA", validationContext: { trustedCa: ca.certPem } },
};

function fullSnapshot(): Snapshot {
  return { version: "2026-01-02T03:04:05Z/7", ...translated(bookinfo + "\n---\n" + security).snapshot, secrets };
}

describe("config_dump: static and dynamic resources with their own meta", () => {
  const snapshot = fullSnapshot();
  const firstListener = snapshot.listeners[0]!.name;
  const firstCluster = Object.keys(snapshot.clusters)[0]!;
  const meta = (type: ResourceType): ReadonlyMap<string, ResourceMeta> => {
    const m = new Map<string, ResourceMeta>();
    const dyn = (name: string, version: string) => m.set(name, { origin: "xds:ads", version, lastUpdated: "2026-01-02T03:04:00Z", static: false });
    if (type === "listener") for (const l of snapshot.listeners) l.name === firstListener ? m.set(l.name, { origin: "bootstrap", version: "", lastUpdated: "2026-01-01T00:00:00Z", static: true }) : dyn(l.name, "lds-3");
    if (type === "cluster") for (const c of Object.keys(snapshot.clusters)) c === firstCluster ? m.set(c, { origin: "bootstrap", version: "", lastUpdated: "2026-01-01T00:00:00Z", static: true }) : dyn(c, "cds-2");
    if (type === "endpoint") for (const c of Object.keys(snapshot.clusters)) dyn(c, "eds-9");
    if (type === "routeConfiguration") for (const r of Object.keys(snapshot.routeConfigs)) dyn(r, "rds-4");
    if (type === "secret") m.set("ROOTCA", { origin: "bootstrap", version: "", lastUpdated: "2026-01-01T00:00:00Z", static: true }).set("default", { origin: "xds:sds", version: "2026-01-02T03:04:05Z/1", lastUpdated: "2026-01-02T03:04:05Z", static: false });
    return m;
  };
  const envoyBootstrap = {
    node: { id: "sidecar~10.1.2.3~productpage.foo~foo.svc.cluster.local", metadata: { ISTIO_VERSION: "1.24.0" } },
    static_resources: {
      secrets: [{ name: "inline", tls_certificate: { certificate_chain: { inline_string: "CERT" }, private_key: { inline_string: "KEY" } } }],
      clusters: [{ name: "xds-grpc", type: "STATIC", load_assignment: { cluster_name: "xds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: "./etc/istio/proxy/XDS" } } } }] }] } }],
    },
  };
  const dump = buildConfigDump(
    { bootstrap: testBootstrap(), snapshot, lastReloadError: null, lastUpdated: "2026-01-02T03:04:05Z", resourceMeta: meta, envoyBootstrap, typeVersion: (t) => ({ listener: "lds-3", cluster: "cds-2" })[t as string] },
    { includeEds: true },
  );
  const of = (t: string) => dump.configs.find((c) => c["@type"] === `type.googleapis.com/envoy.admin.v3.${t}`) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it("decodes as envoy.admin.v3.ConfigDump", () => {
    expect(() => normalizeProtoJson("envoy.admin.v3.ConfigDump", dump as unknown as J)).not.toThrow();
  });

  it("static resources go to static_* with their last_updated, dynamic ones carry their own version_info", () => {
    expect(of("ListenersConfigDump").version_info).toBe("lds-3");
    expect(of("ListenersConfigDump").static_listeners).toEqual([{ listener: expect.objectContaining({ name: firstListener }), last_updated: "2026-01-01T00:00:00Z" }]);
    expect(of("ListenersConfigDump").dynamic_listeners.map((l: J) => l["name"])).not.toContain(firstListener);
    expect(of("ListenersConfigDump").dynamic_listeners[0].active_state).toMatchObject({ version_info: "lds-3", last_updated: "2026-01-02T03:04:00Z" });
    expect(of("ClustersConfigDump").version_info).toBe("cds-2");
    expect(of("ClustersConfigDump").static_clusters).toEqual([{ cluster: expect.objectContaining({ name: firstCluster }), last_updated: "2026-01-01T00:00:00Z" }]);
    expect(of("ClustersConfigDump").dynamic_active_clusters[0]).toMatchObject({ version_info: "cds-2" });
    expect(of("EndpointsConfigDump").static_endpoint_configs).toHaveLength(1);
    expect(of("EndpointsConfigDump").static_endpoint_configs[0].version_info).toBeUndefined();
    expect(of("EndpointsConfigDump").dynamic_endpoint_configs[0]).toMatchObject({ version_info: "eds-9" });
    expect(of("RoutesConfigDump").dynamic_route_configs[0]).toMatchObject({ version_info: "rds-4", last_updated: "2026-01-02T03:04:00Z" });
    expect(of("SecretsConfigDump").static_secrets).toEqual([{ name: "ROOTCA", last_updated: "2026-01-01T00:00:00Z", secret: expect.objectContaining({ name: "ROOTCA" }) }]);
    expect(of("SecretsConfigDump").dynamic_active_secrets).toEqual([
      { name: "default", version_info: "2026-01-02T03:04:05Z/1", last_updated: "2026-01-02T03:04:05Z", secret: expect.objectContaining({ name: "default" }) },
    ]);
  });

  it("the Envoy bootstrap as read, inline private keys redacted", () => {
    const b = of("BootstrapConfigDump").bootstrap;
    expect(b.node).toEqual(envoyBootstrap.node);
    expect(b.static_resources.secrets[0].tls_certificate).toEqual({ certificate_chain: { inline_string: "CERT" }, private_key: { inline_string: "[redacted]" } });
    expect(b.static_resources.clusters).toEqual(envoyBootstrap.static_resources.clusters);
  });
});

describe("config_dump: inline route configurations", () => {
  it("are listed in static_route_configs (Envoy's static route config providers), with their listener's last_updated", () => {
    const l = httpListener({ address: "0.0.0.0", port: 15021, direction: "INBOUND", routeConfigName: "health" });
    const hcm = l.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
    hcm.routeConfig = { name: "health", virtualHosts: [{ name: "backend", domains: ["*"], routes: [route("ready", { route: { cluster: "agent" } })] }] };
    const snapshot: Snapshot = { version: "v", listeners: [l], routeConfigs: {}, clusters: {} };
    const dump = buildConfigDump({ bootstrap: testBootstrap(), snapshot, lastReloadError: null, lastUpdated: "2026-01-02T03:04:05Z" });
    const routes = dump.configs.find((c) => c["@type"] === "type.googleapis.com/envoy.admin.v3.RoutesConfigDump")!;
    expect(routes["static_route_configs"]).toEqual([{ route_config: expect.objectContaining({ name: "health" }), last_updated: "2026-01-02T03:04:05Z" }]);
    expect(routes["dynamic_route_configs"]).toBeUndefined();
    expect(() => normalizeProtoJson("envoy.admin.v3.ConfigDump", dump as unknown as J)).not.toThrow();
  });
});

describe("admin endpoints decode as envoy.admin.v3 messages", () => {
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("/server_info (ServerInfo), /listeners?format=json (Listeners), /clusters?format=json (Clusters), /certs (Certificates), /config_dump?include_eds (ConfigDump)", async () => {
    const snapshot = fullSnapshot();
    const state: AdminState = {
      isReady: () => true,
      configDump: () => ({ bootstrap: testBootstrap(), snapshot, lastReloadError: null, lastUpdated: "2026-01-02T03:04:05Z" }),
      // Hosts with stats, one ejected, a priority and a locality: every field /clusters can print.
      clusters: () =>
        Object.values(snapshot.clusters).map((c) => {
          const cs = clusterStatus(c, undefined);
          cs.hosts.forEach((h, i) => {
            h.stats = Array.from({ length: 32 }, (_, k) => k * 7 + i);
            h.ejected = i === 0;
            h.priority = i;
            h.region = "us-east";
            h.zone = "a";
          });
          return cs;
        }),
    };
    const control: AdminControl = {
      bootstrap: testBootstrap(),
      startedAtMs: Date.now() - 5_000,
      serverState: () => serverState(state, false, false),
      notReadyReason: () => undefined,
      setHealthCheckFailed: () => {},
      drainListeners: async () => {},
      quit: () => {},
      loggers: () => [],
      setLogLevels: async () => {},
      workerHeaps: async () => [],
      reopenLogs: async () => {},
    };
    server = await startAdminServer({ port: 0, state, control, log: createLogger("off") });
    const get = async (p: string): Promise<J> => {
      const r = await fetch(`http://127.0.0.1:${server!.port}${p}`);
      expect(r.status, p).toBe(200);
      return (await r.json()) as J;
    };
    const decode = async (p: string, type: string): Promise<J> => {
      const j = await get(p);
      return normalizeProtoJson(type, j);
    };
    // LIVE is the enum's zero value: canonical JSON leaves it out (Envoy prints it: always_print_primitive_fields).
    expect((await decode("/server_info", "envoy.admin.v3.ServerInfo"))["version"]).toMatch(/^outrigger\//);
    expect((await get("/server_info"))["state"]).toBe("LIVE");
    expect(((await decode("/listeners?format=json", "envoy.admin.v3.Listeners"))["listener_statuses"] as J[]).length).toBe(snapshot.listeners.length);
    expect(((await decode("/clusters?format=json", "envoy.admin.v3.Clusters"))["cluster_statuses"] as J[]).length).toBe(Object.keys(snapshot.clusters).length);
    expect(((await decode("/certs", "envoy.admin.v3.Certificates"))["certificates"] as J[]).length).toBeGreaterThan(0);
    expect(((await decode("/config_dump?include_eds", "envoy.admin.v3.ConfigDump"))["configs"] as J[]).length).toBe(7);
  });
});
