// AuthorizationPolicy on the data path over real sockets: the inbound HTTP RBAC filters (DENY
// before ALLOW, Envoy's 403 `RBAC: access denied` with rbac_access_denied_matched_policy[…]
// details, shadow and AUDIT rules counted but never enforced) and the network RBAC filter before
// tcp_proxy (a denied connection is closed before anything reaches the app); peer identity and JWT
// facts through stand-ins for the TLS transport and jwt_authn, which fill the same fields.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { buildRbacConfigs, type ParsedAuthorizationPolicy } from "../../src/config/istio/authorization-policy.js";
import type { AuthzRule } from "../../src/config/istio/authz-rbac-builder.js";
import { httpListener, tcpProxyFilterChain } from "../../src/config/model/listener-defaults.js";
import type { RbacConfig } from "../../src/config/model/rbac.js";
import { HTTP_RBAC_FILTER, NETWORK_RBAC_FILTER, type HttpConnectionManager, type NetworkFilter, type Snapshot } from "../../src/config/model/types.js";
import type { HttpFilterFactory } from "../../src/http/filters/http-filter.js";
import { builtInHttpFilters } from "../../src/http/filters/http-filter-registry.js";
import type { ConnectionInfo } from "../../src/listener/connection-info.js";
import { TransportSocketRegistry, type TransportFailure, type TransportSocketFactory, type UpstreamTransportOptions } from "../../src/listener/transport-socket.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { tcpProxyConfig, TcpTestClient } from "../helpers/tcp.js";
import { freePort, startEchoUpstream, startRawUpstream, type EchoUpstream, type RawUpstream } from "../helpers/upstreams.js";

let proxy: TestProxy | undefined;
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(closers.splice(0).map((c) => c()));
});

const policy = (name: string, action: ParsedAuthorizationPolicy["action"], rules: Array<Partial<AuthzRule>>): ParsedAuthorizationPolicy => ({
  ref: { kind: "AuthorizationPolicy", name, namespace: "foo", file: "t.yaml" },
  action,
  rules: rules.map((r) => ({ from: [], to: [], when: [], ...r })),
});

async function httpProxy(configs: RbacConfig[], stats: StatsStore): Promise<{ proxy: TestProxy; up: EchoUpstream; statPrefix: string }> {
  const up = await startEchoUpstream("app");
  closers.push(() => up.close());
  const port = await freePort();
  const l = httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" });
  const hcm = l.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
  hcm.httpFilters = [...configs.map((c) => ({ name: HTTP_RBAC_FILTER, typedConfig: c })), ...hcm.httpFilters];
  const snap: Snapshot = {
    version: "rbac/1",
    listeners: [l],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "app" } })] }] } },
    clusters: { app: cluster("app", [up.port]) },
  };
  proxy = await startProxy(snap, { runtime: { stats } });
  return { proxy, up, statPrefix: hcm.statPrefix };
}

describe("HTTP RBAC filter", () => {
  it("DENY is checked before ALLOW; denials are 403 'RBAC: access denied' with the matched policy (or none) in the details; allowed requests reach the app", async () => {
    const stats = new StatsStore();
    const configs = buildRbacConfigs([policy("deny-admin", "DENY", [{ to: [{ paths: ["/admin*"] }] }]), policy("allow-get", "ALLOW", [{ to: [{ methods: ["GET"] }] }])], false);
    const { proxy: p, up, statPrefix } = await httpProxy(configs, stats);

    const denied = await fetch(p.url("/admin/x"));
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("RBAC: access denied");
    expect(denied.headers.get("content-type")).toBe("text/plain");
    expect(p.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[ns[foo]-policy[deny-admin]-rule[0]]");

    const notAllowed = await fetch(p.url("/x"), { method: "POST", body: "hi" });
    expect(notAllowed.status).toBe(403);
    expect(await notAllowed.text()).toBe("RBAC: access denied");
    expect(p.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[none]");

    const ok = await fetch(p.url("/x?admin"));
    expect(ok.status).toBe(200);
    await ok.text();
    expect(up.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /x?admin"]);
    const counters = stats.snapshot().counters;
    // Both filters count on the connection manager's prefix, as in Envoy: the DENY filter allowed
    // POST /x and GET /x and denied /admin/x; the ALLOW filter denied POST /x and allowed GET /x.
    expect(counters[`http.${statPrefix}.rbac.denied`]).toBe(2);
    expect(counters[`http.${statPrefix}.rbac.allowed`]).toBe(3);
  });

  it("an ALLOW policy without rules denies every request; DENY without rules denies nothing", async () => {
    const stats = new StatsStore();
    const { proxy: p, up } = await httpProxy(buildRbacConfigs([policy("deny-none", "DENY", []), policy("allow-nothing", "ALLOW", [])], false), stats);
    const r = await fetch(p.url("/"));
    expect(r.status).toBe(403);
    expect(p.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[none]");
    expect(up.requests).toEqual([]);
  });

  it("shadow rules and AUDIT (LOG) are evaluated and counted, never enforced", async () => {
    const stats = new StatsStore();
    const shadow: RbacConfig = { shadowRules: { action: "DENY", policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } } }, shadowRulesStatPrefix: "istio_dry_run_deny_" };
    const audit = buildRbacConfigs([policy("audit", "AUDIT", [{ to: [{ paths: ["/audited"] }] }])], false);
    const { proxy: p, up, statPrefix } = await httpProxy([shadow, ...audit], stats);
    for (const path of ["/audited", "/other"]) {
      const r = await fetch(p.url(path));
      expect(r.status).toBe(200);
      await r.text();
    }
    expect(up.requests.length).toBe(2);
    const c = stats.snapshot().counters;
    expect(c[`http.${statPrefix}.rbac.istio_dry_run_deny_shadow_denied`]).toBe(2);
    expect(c[`http.${statPrefix}.rbac.logged`]).toBe(1);
    expect(c[`http.${statPrefix}.rbac.not_logged`]).toBe(1);
    expect(c[`http.${statPrefix}.rbac.denied`] ?? 0).toBe(0);
  });

  it("path templates: `{*}` one segment, `{**}` the rest, matched on the path without the query; notPaths with a template", async () => {
    const stats = new StatsStore();
    const configs = buildRbacConfigs(
      [policy("deny-tmpl", "DENY", [{ to: [{ notPaths: ["/public/{**}"] }], when: [{ key: "request.headers[x-deny]", values: ["yes"] }] }]), policy("allow-tmpl", "ALLOW", [{ to: [{ paths: ["/api/{*}/info", "/files/{**}"] }] }])],
      false,
    );
    const { proxy: p, up } = await httpProxy(configs, stats);
    const status = async (path: string, headers: Record<string, string> = {}): Promise<number> => {
      const r = await fetch(p.url(path), { headers });
      await r.text();
      return r.status;
    };
    expect(await status("/api/v1/info")).toBe(200);
    expect(await status("/api/v1/info?x=/y")).toBe(200);
    expect(await status("/api/v1/v2/info")).toBe(403);
    expect(p.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[none]");
    expect(await status("/files/")).toBe(200);
    expect(await status("/files/a/b/c.txt")).toBe(200);
    expect(await status("/files")).toBe(403);
    expect(await status("/files/a", { "x-deny": "yes" })).toBe(403);
    expect(p.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[ns[foo]-policy[deny-tmpl]-rule[0]]");
    expect(up.requests.map((r) => r.url)).toEqual(["/api/v1/info", "/api/v1/info?x=/y", "/files/", "/files/a/b/c.txt"]);
  });

  it("dry-run policies (shadow rules) never decide: counted under istiod's prefixes next to an enforced policy of the same action", async () => {
    const stats = new StatsStore();
    const configs = buildRbacConfigs(
      [
        { ...policy("dry-deny-admin", "DENY", [{ to: [{ paths: ["/admin*"] }] }]), dryRun: true },
        { ...policy("dry-allow-get", "ALLOW", [{ to: [{ methods: ["GET"] }] }]), dryRun: true },
        policy("allow-not-secret", "ALLOW", [{ to: [{ notPaths: ["/secret"] }] }]),
      ],
      false,
    );
    const { proxy: p, up, statPrefix } = await httpProxy(configs, stats);
    const status = async (path: string, method = "GET"): Promise<number> => {
      const r = await fetch(p.url(path), { method, ...(method === "POST" ? { body: "x" } : {}) });
      await r.text();
      return r.status;
    };
    expect(await status("/admin/x")).toBe(200);
    expect(await status("/x", "POST")).toBe(200);
    expect(await status("/secret")).toBe(403);
    // The enforced ALLOW policy decides; the dry-run ALLOW policy in the same filter did not match POST.
    expect(p.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[none]");
    expect(up.requests.map((r) => `${r.method} ${r.url}`)).toEqual(["GET /admin/x", "POST /x"]);
    const c = stats.snapshot().counters;
    const rbac = `http.${statPrefix}.rbac.`;
    expect(c[`${rbac}istio_dry_run_deny_shadow_denied`]).toBe(1);
    expect(c[`${rbac}istio_dry_run_deny_shadow_allowed`]).toBe(2);
    expect(c[`${rbac}istio_dry_run_allow_shadow_allowed`]).toBe(2);
    expect(c[`${rbac}istio_dry_run_allow_shadow_denied`]).toBe(1);
    // Only the enforced ALLOW filter counts allowed/denied; the DENY filter has no enforced rules.
    expect(c[`${rbac}allowed`]).toBe(2);
    expect(c[`${rbac}denied`]).toBe(1);
  });

  it("a config the engine cannot evaluate refuses the snapshot with the policy's name", async () => {
    const bad: RbacConfig = { rules: { action: "ALLOW", policies: { p: { permissions: [{ metadata: { filter: "other", path: ["k"], value: { presentMatch: true } } }], principals: [{ any: true }] } } } };
    await expect(httpProxy([bad], new StatsStore())).rejects.toThrow('metadata matcher on filter "other" is not supported');
  });
});

describe("network RBAC filter", () => {
  async function tcpProxyWith(rbac: RbacConfig[], stats: StatsStore): Promise<{ p: TestProxy; app: RawUpstream }> {
    const app = await startRawUpstream((s) => s.pipe(s));
    closers.push(() => app.close());
    const port = await freePort();
    const chain = tcpProxyFilterChain("inbound_tcp", tcpProxyConfig({ cluster: "app" }));
    chain.filters = [...rbac.map((c): NetworkFilter => ({ name: NETWORK_RBAC_FILTER, typedConfig: c })), ...chain.filters];
    const snap: Snapshot = {
      version: "tcp-rbac/1",
      listeners: [{ name: `127.0.0.1_${port}`, address: "127.0.0.1", port, trafficDirection: "INBOUND", listenerFilters: [], filterChains: [chain] }],
      routeConfigs: {},
      clusters: { app: cluster("app", [app.port]) },
    };
    const p = await startProxy(snap, { runtime: { stats } });
    proxy = p;
    return { p, app };
  }

  it("a denied connection is closed at once and never reaches the app; tcp.rbac.denied counts it", async () => {
    const stats = new StatsStore();
    const port = await freePort();
    const deny = buildRbacConfigs([policy("tcp-policy", "DENY", [{ to: [{ methods: ["GET"], ports: [String(port)] }] }])], true);
    // The DENY rule lost its HTTP-only field: it denies the whole port. Build the listener on that port.
    const app = await startRawUpstream((s) => s.pipe(s));
    closers.push(() => app.close());
    const chain = tcpProxyFilterChain("inbound_tcp", tcpProxyConfig({ cluster: "app" }));
    chain.filters = [...deny.map((c): NetworkFilter => ({ name: NETWORK_RBAC_FILTER, typedConfig: c })), ...chain.filters];
    proxy = await startProxy({ version: "v", listeners: [{ name: "l", address: "127.0.0.1", port, trafficDirection: "INBOUND", listenerFilters: [], filterChains: [chain] }], routeConfigs: {}, clusters: { app: cluster("app", [app.port]) } }, { runtime: { stats } });
    const c = new TcpTestClient(port);
    await c.connected;
    c.socket.write("hello");
    await c.closed;
    expect(c.data).toBe("");
    expect(app.sockets.length).toBe(0);
    expect(stats.snapshot().counters["tcp.rbac.denied"]).toBe(1);
  });

  it("an allowed connection is proxied; a denied one from another rule set is closed", async () => {
    const stats = new StatsStore();
    const allowLoopback = buildRbacConfigs([policy("allow-lo", "ALLOW", [{ from: [{ ipBlocks: ["127.0.0.0/8"] }] }])], true);
    const { p, app } = await tcpProxyWith(allowLoopback, stats);
    const c = new TcpTestClient(p.port);
    c.socket.write("ping");
    await c.received("ping");
    c.socket.end();
    await c.closed;
    expect(app.sockets.length).toBe(1);
    expect(stats.snapshot().counters["tcp.rbac.allowed"]).toBe(1);
    await p.close();
    proxy = undefined;

    const stats2 = new StatsStore();
    const allowOther = buildRbacConfigs([policy("allow-other", "ALLOW", [{ from: [{ ipBlocks: ["10.0.0.0/8"] }] }])], true);
    const second = await tcpProxyWith(allowOther, stats2);
    const d = new TcpTestClient(second.p.port);
    await d.closed;
    expect(second.app.sockets.length).toBe(0);
    expect(stats2.snapshot().counters["tcp.rbac.denied"]).toBe(1);
  });

  it("a dry-run DENY of the whole port lets the connection through and counts tcp.rbac.istio_dry_run_deny_shadow_denied", async () => {
    const stats = new StatsStore();
    const { p, app } = await tcpProxyWith(buildRbacConfigs([{ ...policy("dry-deny-all", "DENY", [{}]), dryRun: true }], true), stats);
    const c = new TcpTestClient(p.port);
    c.socket.write("ping");
    await c.received("ping");
    c.socket.end();
    await c.closed;
    expect(app.sockets.length).toBe(1);
    const counters = stats.snapshot().counters;
    expect(counters["tcp.rbac.istio_dry_run_deny_shadow_denied"]).toBe(1);
    expect(counters["tcp.rbac.denied"] ?? 0).toBe(0);
  });

  it("only network RBAC may precede the terminal filter", async () => {
    const port = await freePort();
    const chain = tcpProxyFilterChain("c", tcpProxyConfig({ cluster: "app" }));
    chain.filters = [{ name: "envoy.filters.network.ext_authz" } as never, ...chain.filters];
    await expect(startProxy({ version: "v", listeners: [{ name: "l", address: "127.0.0.1", port, trafficDirection: "INBOUND", listenerFilters: [], filterChains: [chain] }], routeConfigs: {}, clusters: { app: cluster("app", [1]) } })).rejects.toThrow(
      "filter chain c: only envoy.filters.network.rbac may come before the terminal network filter, got envoy.filters.network.ext_authz, envoy.filters.network.tcp_proxy",
    );
  });
});


/**
 * Stand-in for the TLS transport (written in parallel): hands the socket on as is and fills
 * `info.tls` with the peer identity the test chose, as the real one does after the handshake.
 */
class FakeMtls implements TransportSocketFactory {
  readonly name = "test.transport_sockets.fake-mtls";
  readonly hashKey = "fake";
  peer: string | undefined;

  wrapDownstream(s: Socket, info: ConnectionInfo, done: (stream: Duplex | undefined) => void): void {
    if (this.peer !== undefined) {
      info.tls = {
        version: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
        alpn: "",
        sni: "",
        sessionReused: false,
        localUriSans: [],
        peerCertificate: { uriSans: [`spiffe://${this.peer}`], dnsSans: [], subject: "", sha256: "", serial: "", pem: "" },
        peerPrincipal: this.peer,
      };
    }
    done(s);
  }

  connectUpstream(s: Socket, _o: UpstreamTransportOptions, done: (f: TransportFailure | undefined, stream: Duplex | undefined) => void): void {
    done(undefined, s);
  }
}

/** Stand-in for jwt_authn: the request's `x-test-jwt-sub` becomes StreamInfo.requestAuth. */
const fakeJwt: HttpFilterFactory = {
  name: "test.fake_jwt",
  create(cb) {
    const sub = cb.requestHeaders.headers.get("x-test-jwt-sub");
    if (sub !== undefined) cb.streamInfo.requestAuth = { principal: `issuer/${sub}`, issuer: "issuer", subject: sub, audiences: ["aud"], presenter: "", claims: { groups: ["group1"] } };
    return undefined;
  },
};

describe("RBAC on the peer identity and the request's JWT (stand-in transport and jwt filter)", () => {
  it("HTTP: principals from the peer certificate, requestPrincipals and claims from StreamInfo.requestAuth", async () => {
    const up = await startEchoUpstream("app");
    closers.push(() => up.close());
    const mtls = new FakeMtls();
    const transports = new TransportSocketRegistry().register(mtls.name, () => mtls);
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" });
    l.filterChains[0]!.transportSocket = { name: mtls.name };
    const hcm = l.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
    const configs = buildRbacConfigs(
      [
        policy("mtls-sleep", "ALLOW", [{ from: [{ principals: ["cluster.local/ns/default/sa/sleep"] }], to: [{ paths: ["/mtls"] }] }]),
        policy("jwt", "ALLOW", [{ from: [{ requestPrincipals: ["issuer/alice"] }], to: [{ paths: ["/jwt"] }], when: [{ key: "request.auth.claims[groups]", values: ["group1"] }] }]),
      ],
      false,
    );
    hcm.httpFilters = [{ name: "test.fake_jwt" }, ...configs.map((c) => ({ name: HTTP_RBAC_FILTER, typedConfig: c })), ...hcm.httpFilters];
    const snap: Snapshot = {
      version: "mtls/1",
      listeners: [l],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "app" } })] }] } },
      clusters: { app: cluster("app", [up.port]) },
    };
    proxy = await startProxy(snap, { runtime: { transportSockets: transports, httpFilters: builtInHttpFilters().register(fakeJwt) } });
    const get = async (path: string, headers: Record<string, string> = {}): Promise<number> => {
      // A new connection per request: the identity is the connection's.
      const r = await fetch(proxy!.url(path), { headers: { ...headers, connection: "close" } });
      await r.text();
      return r.status;
    };
    mtls.peer = "cluster.local/ns/default/sa/sleep";
    expect(await get("/mtls")).toBe(200);
    expect(await get("/jwt")).toBe(403);
    mtls.peer = "cluster.local/ns/default/sa/other";
    expect(await get("/mtls")).toBe(403);
    mtls.peer = undefined;
    expect(await get("/mtls")).toBe(403);
    expect(await get("/jwt", { "x-test-jwt-sub": "alice" })).toBe(200);
    expect(await get("/jwt", { "x-test-jwt-sub": "bob" })).toBe(403);
    expect(proxy.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[none]");
    expect(up.requests.map((r) => r.url)).toEqual(["/mtls", "/jwt"]);
  });

  it("TCP: a DENY on the peer's namespace closes that peer's connections only", async () => {
    const app = await startRawUpstream((s) => s.pipe(s));
    closers.push(() => app.close());
    const mtls = new FakeMtls();
    const transports = new TransportSocketRegistry().register(mtls.name, () => mtls);
    const port = await freePort();
    const chain = tcpProxyFilterChain("inbound_tcp", tcpProxyConfig({ cluster: "app" }));
    chain.transportSocket = { name: mtls.name };
    const deny = buildRbacConfigs([policy("deny-evil", "DENY", [{ from: [{ namespaces: ["evil"] }] }])], true);
    chain.filters = [...deny.map((c): NetworkFilter => ({ name: NETWORK_RBAC_FILTER, typedConfig: c })), ...chain.filters];
    const stats = new StatsStore();
    proxy = await startProxy({ version: "v", listeners: [{ name: "l", address: "127.0.0.1", port, trafficDirection: "INBOUND", listenerFilters: [], filterChains: [chain] }], routeConfigs: {}, clusters: { app: cluster("app", [app.port]) } }, { runtime: { transportSockets: transports, stats } });
    mtls.peer = "cluster.local/ns/evil/sa/x";
    const evil = new TcpTestClient(port);
    await evil.closed;
    expect(app.sockets.length).toBe(0);
    mtls.peer = "cluster.local/ns/good/sa/x";
    const good = new TcpTestClient(port);
    good.socket.write("hi");
    await good.received("hi");
    good.socket.end();
    await good.closed;
    expect(app.sockets.length).toBe(1);
    expect(stats.snapshot().counters["tcp.rbac.denied"]).toBe(1);
    expect(stats.snapshot().counters["tcp.rbac.allowed"]).toBe(1);
  });

  it("HTTP: serviceAccounts (`ns/sa`, or `sa` in the policy's namespace) match the peer's SPIFFE identity in any trust domain, never a longer account name", async () => {
    const up = await startEchoUpstream("app");
    closers.push(() => up.close());
    const mtls = new FakeMtls();
    const transports = new TransportSocketRegistry().register(mtls.name, () => mtls);
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" });
    l.filterChains[0]!.transportSocket = { name: mtls.name };
    const hcm = l.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
    const configs = buildRbacConfigs(
      [
        policy("sa", "ALLOW", [{ from: [{ serviceAccounts: ["default/sleep", "local-sa"] }] }]),
        policy("not-sa", "DENY", [{ from: [{ notServiceAccounts: ["default/sleep", "local-sa"] }], to: [{ paths: ["/strict"] }] }]),
      ],
      false,
    );
    hcm.httpFilters = [...configs.map((c) => ({ name: HTTP_RBAC_FILTER, typedConfig: c })), ...hcm.httpFilters];
    const snap: Snapshot = {
      version: "sa/1",
      listeners: [l],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "app" } })] }] } },
      clusters: { app: cluster("app", [up.port]) },
    };
    proxy = await startProxy(snap, { runtime: { transportSockets: transports } });
    const get = async (peer: string | undefined, path = "/"): Promise<number> => {
      mtls.peer = peer;
      const r = await fetch(proxy!.url(path), { headers: { connection: "close" } });
      await r.text();
      return r.status;
    };
    expect(await get("cluster.local/ns/default/sa/sleep")).toBe(200);
    expect(await get("other.domain/ns/default/sa/sleep", "/strict")).toBe(200);
    // `local-sa` is in the policy's namespace (foo).
    expect(await get("cluster.local/ns/foo/sa/local-sa", "/strict")).toBe(200);
    expect(await get("cluster.local/ns/default/sa/local-sa")).toBe(403);
    expect(await get("cluster.local/ns/default/sa/sleep-v2")).toBe(403);
    expect(await get("cluster.local/ns/default2/sa/sleep")).toBe(403);
    expect(await get(undefined)).toBe(403);
    expect(proxy.streams.at(-1)!.responseCodeDetails).toBe("rbac_access_denied_matched_policy[none]");
    expect(up.requests.length).toBe(3);
  });
});
