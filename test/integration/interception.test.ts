// Interception data path over real sockets: a useOriginalDst listener (virtualOutbound-like)
// hands connections to bindToPort:false listeners by original destination, passthrough clusters
// (ORIGINAL_DST) connect to that destination, InboundPassthroughCluster's 127.0.0.6 source
// address, the inspectors and the listener filter timeout. Without iptables there is no real
// SO_ORIGINAL_DST: the runtime's injectable resolver maps each connection to a pretend one.

import { createServer as createHttpServer } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { tcpProxyFilterChain } from "../../src/config/model/listener-defaults.js";
import type { Cluster, FilterChain, Listener, ListenerFilterConfig, Snapshot } from "../../src/config/model/types.js";
import type { SocketAddress } from "../../src/listener/original-dst/socket-options.js";
import { ResponseFlag } from "../../src/observability/stream-info.js";
import { ProxyRuntime } from "../../src/worker/proxy-runtime.js";
import { createLogger } from "../../src/common/logger.js";
import { defaultLimits } from "../../src/bootstrap/bootstrap.js";
import { seededRandom } from "../../src/common/random.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { tcpProxyConfig, TcpTestClient } from "../helpers/tcp.js";
import { freePort, startEchoUpstream, startRawUpstream, type EchoUpstream, type RawUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";
import { httpFilterChain } from "../../src/config/model/listener-defaults.js";

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const ORIGINAL_DST: ListenerFilterConfig = { name: "envoy.filters.listener.original_dst" };
const TLS_INSPECTOR: ListenerFilterConfig = { name: "envoy.filters.listener.tls_inspector" };
const HTTP_INSPECTOR: ListenerFilterConfig = { name: "envoy.filters.listener.http_inspector" };

function passthrough(name: string, extra: Partial<Cluster> = {}): Cluster {
  return { name, type: "ORIGINAL_DST", lbPolicy: "CLUSTER_PROVIDED", connectTimeoutMs: 1_000, loadAssignment: { endpoints: [] }, ...extra };
}
const blackHole: Cluster = { name: "BlackHoleCluster", type: "STATIC", lbPolicy: "ROUND_ROBIN", connectTimeoutMs: 1_000, loadAssignment: { endpoints: [] } };

function tcpChain(name: string, clusterName: string, destinationPort?: number): FilterChain {
  return tcpProxyFilterChain(name, tcpProxyConfig({ statPrefix: clusterName, cluster: clusterName }), destinationPort);
}

/**
 * istiod's virtualOutbound, on a test port: use_original_dst and no listener filters, as istiod
 * writes it (use_original_dst implies the original_dst filter, as in Envoy).
 */
function virtualOutbound(port: number): Listener {
  return {
    name: "virtualOutbound",
    address: "127.0.0.1",
    port,
    trafficDirection: "OUTBOUND",
    useOriginalDst: true,
    listenerFilters: [],
    filterChains: [tcpChain("virtualOutbound-blackhole", "BlackHoleCluster", port), tcpChain("virtualOutbound-catchall-tcp", "PassthroughCluster")],
  };
}

/** istiod's outbound per-port HTTP listener `0.0.0.0_<port>`: not bound, inspectors, PassthroughFilterChain by default. */
function outboundHttp(port: number, routeConfigName: string): Listener {
  return {
    name: `0.0.0.0_${port}`,
    address: "0.0.0.0",
    port,
    trafficDirection: "OUTBOUND",
    bindToPort: false,
    listenerFilters: [TLS_INSPECTOR, HTTP_INSPECTOR],
    filterChains: [{ ...httpFilterChain(`0.0.0.0_${port}`, `outbound_0.0.0.0_${port}`, routeConfigName), filterChainMatch: { transportProtocol: "raw_buffer", applicationProtocols: ["http/1.1", "h2c"] } }],
    defaultFilterChain: tcpChain("PassthroughFilterChain", "PassthroughCluster"),
  };
}

/** The resolver tests hand the runtime: the next accepted connection "was going" to `next`. */
function pretendDestinations(): { next: SocketAddress | undefined; resolver: (s: Socket, transparent: boolean) => SocketAddress | undefined } {
  const box: { next: SocketAddress | undefined; resolver: (s: Socket, t: boolean) => SocketAddress | undefined } = {
    next: undefined,
    resolver: () => box.next,
  };
  return box;
}

async function start(snapshot: Snapshot, dst: ReturnType<typeof pretendDestinations>, timers?: ManualTimers): Promise<TestProxy> {
  const p = await startProxy(snapshot, { ...(timers ? { timers, clock: timers } : {}), runtime: { originalDst: dst.resolver } });
  closers.push(() => p.close());
  return p;
}

async function echo(name: string): Promise<EchoUpstream> {
  const u = await startEchoUpstream(name);
  closers.push(() => u.close());
  return u;
}

async function raw(onConnection: (s: Socket) => void): Promise<RawUpstream> {
  const u = await startRawUpstream(onConnection);
  closers.push(() => u.close());
  return u;
}

const GET = "GET /x HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n";

describe("useOriginalDst hand-off", () => {
  it("hands a redirected connection to the bindToPort:false listener of its destination port, whose own listener filters and chains take it", async () => {
    const app = await echo("routed");
    const vo = await freePort();
    const svcPort = await freePort();
    const dst = pretendDestinations();
    const snapshot: Snapshot = {
      version: "i/1",
      listeners: [virtualOutbound(vo), outboundHttp(svcPort, "rc")],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "svc", domains: ["*"], routes: [route("r", { route: { cluster: "app", timeoutMs: 0 } as never })] }] } },
      clusters: { app: cluster("app", [app.port]), PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole },
    };
    const proxy = await start(snapshot, dst);
    // Only virtualOutbound is bound.
    expect(proxy.runtime.boundAddresses()).toEqual([`127.0.0.1:${vo}`]);
    dst.next = { ip: "10.0.0.9", port: svcPort };
    const res = parseResponses(await rawExchange(vo, GET));
    expect(res.map((r) => [r.status, r.headers["x-upstream"]])).toEqual([[200, "routed"]]);
    expect(proxy.streams.at(-1)).toMatchObject({ filterChainName: `0.0.0.0_${svcPort}`, downstreamLocalAddress: `10.0.0.9:${svcPort}` });
    // Counted by the listener that took it, as Envoy does.
    expect(proxy.runtime.services.stats.counter(`listener.0.0.0.0_${svcPort}.downstream_cx_total`).value).toBe(1);
  });

  it("prefers the listener of the exact address over the wildcard one", async () => {
    const vip = await echo("vip");
    const wildcard = await echo("wildcard");
    const vo = await freePort();
    const svcPort = await freePort();
    const dst = pretendDestinations();
    const exact: Listener = { ...outboundHttp(svcPort, "rc-vip"), name: `10.96.0.5_${svcPort}`, address: "10.96.0.5" };
    const snapshot: Snapshot = {
      version: "i/1",
      listeners: [virtualOutbound(vo), outboundHttp(svcPort, "rc-any"), exact],
      routeConfigs: {
        "rc-vip": { name: "rc-vip", virtualHosts: [{ name: "v", domains: ["*"], routes: [route("r", { route: { cluster: "vip" } as never })] }] },
        "rc-any": { name: "rc-any", virtualHosts: [{ name: "a", domains: ["*"], routes: [route("r", { route: { cluster: "wildcard" } as never })] }] },
      },
      clusters: { vip: cluster("vip", [vip.port]), wildcard: cluster("wildcard", [wildcard.port]), PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole },
    };
    await start(snapshot, dst);
    dst.next = { ip: "10.96.0.5", port: svcPort };
    expect(parseResponses(await rawExchange(vo, GET))[0]?.headers["x-upstream"]).toBe("vip");
    dst.next = { ip: "10.96.0.6", port: svcPort };
    expect(parseResponses(await rawExchange(vo, GET))[0]?.headers["x-upstream"]).toBe("wildcard");
  });

  it("no listener for the destination: its own catch-all chain passes it through to the original destination (ORIGINAL_DST over TCP)", async () => {
    const target = await raw((s) => s.end("server-first banner\n"));
    const vo = await freePort();
    const dst = pretendDestinations();
    const proxy = await start({ version: "i/1", listeners: [virtualOutbound(vo)], routeConfigs: {}, clusters: { PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole } }, dst);
    dst.next = { ip: "127.0.0.1", port: target.port };
    const c = new TcpTestClient(vo);
    await c.received("server-first banner\n");
    await c.closed;
    await waitFor(() => proxy.streams.length === 1);
    expect(proxy.streams[0]).toMatchObject({ filterChainName: "virtualOutbound-catchall-tcp", clusterName: "PassthroughCluster", upstreamHost: `127.0.0.1:${target.port}` });
  });

  it("a connection straight to the listener's own port does not recurse: the blackhole chain closes it (UH)", async () => {
    const vo = await freePort();
    const dst = pretendDestinations();
    const proxy = await start({ version: "i/1", listeners: [virtualOutbound(vo)], routeConfigs: {}, clusters: { PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole } }, dst);
    dst.next = { ip: "127.0.0.1", port: vo };
    const c = new TcpTestClient(vo);
    await c.closed;
    expect(c.data).toBe("");
    await waitFor(() => proxy.streams.length === 1);
    expect(proxy.streams[0]).toMatchObject({ filterChainName: "virtualOutbound-blackhole", clusterName: "BlackHoleCluster" });
    expect(proxy.streams[0]!.responseFlags).toContain(ResponseFlag.NoHealthyUpstream);
  });

  it("a connection that was not redirected is not handed off (Envoy hands off only restored addresses)", async () => {
    const target = await raw((s) => s.end("direct\n"));
    const vo = await freePort();
    const dst = pretendDestinations();
    const listener = virtualOutbound(vo);
    // Its catch-all goes to a static cluster here, since there is no original destination.
    listener.filterChains = [tcpChain("direct", "static")];
    await start({ version: "i/1", listeners: [listener], routeConfigs: {}, clusters: { static: cluster("static", [target.port]) } }, dst);
    dst.next = undefined;
    const c = new TcpTestClient(vo);
    await c.received("direct\n");
  });
});

describe("ORIGINAL_DST clusters", () => {
  it("HTTP: the request goes to the downstream connection's original destination, one host per destination", async () => {
    const a = await echo("a");
    const b = await echo("b");
    const httpPort = await freePort();
    const dst = pretendDestinations();
    const listener: Listener = {
      name: "v",
      address: "127.0.0.1",
      port: httpPort,
      trafficDirection: "OUTBOUND",
      listenerFilters: [ORIGINAL_DST],
      filterChains: [httpFilterChain("allow_any", "outbound", "rc")],
    };
    const proxy = await start(
      {
        version: "i/1",
        listeners: [listener],
        routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "allow_any", domains: ["*"], routes: [route("allow_any", { route: { cluster: "PassthroughCluster" } as never })] }] } },
        clusters: { PassthroughCluster: passthrough("PassthroughCluster") },
      },
      dst,
    );
    dst.next = { ip: "127.0.0.1", port: a.port };
    expect(parseResponses(await rawExchange(httpPort, GET))[0]?.headers["x-upstream"]).toBe("a");
    dst.next = { ip: "127.0.0.1", port: b.port };
    expect(parseResponses(await rawExchange(httpPort, GET))[0]?.headers["x-upstream"]).toBe("b");
    expect(proxy.streams.map((s) => s.upstreamHost)).toEqual([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
  });

  it("hosts unused for a whole cleanup interval (5 s) are removed; busy ones stay", async () => {
    const a = await echo("a");
    const port = await freePort();
    const dst = pretendDestinations();
    const listener: Listener = { name: "v", address: "127.0.0.1", port, trafficDirection: "OUTBOUND", listenerFilters: [ORIGINAL_DST], filterChains: [httpFilterChain("c", "outbound", "rc")] };
    const proxy = await start(
      {
        version: "i/1",
        listeners: [listener],
        routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "v", domains: ["*"], routes: [route("r", { route: { cluster: "PassthroughCluster" } as never })] }] } },
        clusters: { PassthroughCluster: passthrough("PassthroughCluster") },
      },
      dst,
    );
    dst.next = { ip: "127.0.0.1", port: a.port };
    await rawExchange(port, GET);
    const rt = proxy.runtime.services.clusters.get("PassthroughCluster")!;
    expect(rt.originalDstHosts!.size).toBe(1);
    proxy.runtime.sweep(5_000); // first cleanup: used since the start, kept
    expect(rt.originalDstHosts!.size).toBe(1);
    proxy.runtime.sweep(9_999); // not a full interval later: no cleanup
    expect(rt.originalDstHosts!.size).toBe(1);
    proxy.runtime.sweep(10_000); // unused for the whole interval: gone
    expect(rt.originalDstHosts!.size).toBe(0);
    // A later request makes the host again.
    expect(parseResponses(await rawExchange(port, GET))[0]?.status).toBe(200);
    expect(rt.originalDstHosts!.size).toBe(1);
  });

  it("a mirror (no downstream connection) or an unknown destination has no host: 503 UH over HTTP", async () => {
    const port = await freePort();
    const dst = pretendDestinations();
    const listener: Listener = { name: "v", address: "127.0.0.1", port, trafficDirection: "OUTBOUND", listenerFilters: [], filterChains: [httpFilterChain("c", "outbound", "rc")] };
    const proxy = await start(
      {
        version: "i/1",
        listeners: [listener],
        routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "v", domains: ["*"], routes: [route("r", { route: { cluster: "BlackHoleCluster" } as never })] }] } },
        clusters: { BlackHoleCluster: blackHole },
      },
      dst,
    );
    const res = parseResponses(await rawExchange(port, GET))[0]!;
    expect(res.status).toBe(503);
    expect(res.body.toString()).toBe("no healthy upstream");
    expect(proxy.streams[0]!.responseFlags).toContain(ResponseFlag.NoHealthyUpstream);
  });

  it("circuit breakers apply to passthrough hosts (maxConnections 1: a second TCP connection overflows, UO)", async () => {
    const held: Socket[] = [];
    const target = await raw((s) => held.push(s));
    const port = await freePort();
    const dst = pretendDestinations();
    const listener: Listener = { name: "v", address: "127.0.0.1", port, trafficDirection: "OUTBOUND", listenerFilters: [ORIGINAL_DST], filterChains: [tcpChain("c", "PassthroughCluster")] };
    const proxy = await start(
      {
        version: "i/1",
        listeners: [listener],
        routeConfigs: {},
        clusters: { PassthroughCluster: passthrough("PassthroughCluster", { circuitBreakers: { maxConnections: 1, maxPendingRequests: 1, maxRequests: 100, maxRetries: 3 } as never }) },
      },
      dst,
    );
    dst.next = { ip: "127.0.0.1", port: target.port };
    const first = new TcpTestClient(port);
    await waitFor(() => held.length === 1);
    const second = new TcpTestClient(port);
    await second.closed;
    await waitFor(() => proxy.streams.length === 1);
    expect(proxy.streams[0]!.responseFlags).toContain(ResponseFlag.UpstreamOverflow);
    first.socket.destroy();
  });

  it("InboundPassthroughCluster connects from 127.0.0.6 (upstreamBindConfig.sourceAddress), TCP and HTTP", async () => {
    const seen: string[] = [];
    const tcpTarget = await raw((s) => {
      seen.push(s.remoteAddress!);
      s.end("ok\n");
    });
    const httpTarget = await startEchoUpstream("in", (req, res) => {
      res.end(req.socket.remoteAddress);
    });
    closers.push(() => httpTarget.close());
    const tcpPort = await freePort();
    const httpPort = await freePort();
    const dst = pretendDestinations();
    const inbound = passthrough("InboundPassthroughCluster", { upstreamBindConfig: { sourceAddress: "127.0.0.6" } });
    await start(
      {
        version: "i/1",
        listeners: [
          { name: "t", address: "127.0.0.1", port: tcpPort, trafficDirection: "INBOUND", listenerFilters: [ORIGINAL_DST], filterChains: [tcpChain("virtualInbound", "InboundPassthroughCluster")] },
          { name: "h", address: "127.0.0.1", port: httpPort, trafficDirection: "INBOUND", listenerFilters: [ORIGINAL_DST], filterChains: [httpFilterChain("virtualInbound-catchall-http", "inbound", "rc")] },
        ],
        routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "inbound|http|0", domains: ["*"], routes: [route("default", { route: { cluster: "InboundPassthroughCluster" } as never })] }] } },
        clusters: { InboundPassthroughCluster: inbound },
      },
      dst,
    );
    dst.next = { ip: "127.0.0.1", port: tcpTarget.port };
    const c = new TcpTestClient(tcpPort);
    await c.received("ok\n");
    expect(seen).toEqual(["127.0.0.6"]);
    dst.next = { ip: "127.0.0.1", port: httpTarget.port };
    expect(parseResponses(await rawExchange(httpPort, GET))[0]?.body.toString()).toBe("127.0.0.6");
  });

  it("extraSourceAddresses: a host of the other family is dialled from the extra address of its family (istiod's dual-stack ::6), TCP and HTTP", async () => {
    const seen: string[] = [];
    const tcpTarget = createServer((s) => {
      seen.push(s.remoteAddress!);
      s.end("ok\n");
    });
    const httpTarget = createHttpServer((req, res) => res.end(req.socket.remoteAddress));
    for (const srv of [tcpTarget, httpTarget]) {
      await new Promise<void>((r) => srv.listen({ host: "::", port: 0, ipv6Only: false }, r));
      closers.push(() => new Promise<void>((r) => srv.close(() => r())));
    }
    const portOf = (srv: { address(): unknown }): number => (srv.address() as { port: number }).port;
    const tcpPort = await freePort();
    const httpPort = await freePort();
    const dst = pretendDestinations();
    // ::1 stands in for ::6 (which only istio-iptables puts on lo).
    const inbound = passthrough("InboundPassthroughCluster", { upstreamBindConfig: { sourceAddress: "127.0.0.6", extraSourceAddresses: ["::1"] } });
    await start(
      {
        version: "i/1",
        listeners: [
          { name: "t", address: "127.0.0.1", port: tcpPort, trafficDirection: "INBOUND", listenerFilters: [ORIGINAL_DST], filterChains: [tcpChain("virtualInbound", "InboundPassthroughCluster")] },
          { name: "h", address: "127.0.0.1", port: httpPort, trafficDirection: "INBOUND", listenerFilters: [ORIGINAL_DST], filterChains: [httpFilterChain("virtualInbound-catchall-http", "inbound", "rc")] },
        ],
        routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "inbound|http|0", domains: ["*"], routes: [route("default", { route: { cluster: "InboundPassthroughCluster" } as never })] }] } },
        clusters: { InboundPassthroughCluster: inbound },
      },
      dst,
    );
    for (const ip of ["::1", "127.0.0.1"]) {
      dst.next = { ip, port: portOf(tcpTarget) };
      const c = new TcpTestClient(tcpPort);
      await c.received("ok\n");
    }
    expect(seen).toEqual(["::1", "::ffff:127.0.0.6"]);
    dst.next = { ip: "::1", port: portOf(httpTarget) };
    expect(parseResponses(await rawExchange(httpPort, GET))[0]?.body.toString()).toBe("::1");
    dst.next = { ip: "127.0.0.1", port: portOf(httpTarget) };
    expect(parseResponses(await rawExchange(httpPort, GET))[0]?.body.toString()).toBe("::ffff:127.0.0.6");
  });

  it("Envoy's config checks: ORIGINAL_DST needs CLUSTER_PROVIDED and no endpoints; a source address must be an IP", async () => {
    const port = await freePort();
    const dst = pretendDestinations();
    const listener: Listener = { name: "v", address: "127.0.0.1", port, trafficDirection: "OUTBOUND", listenerFilters: [], filterChains: [tcpChain("c", "x")] };
    const proxy = await start({ version: "i/1", listeners: [listener], routeConfigs: {}, clusters: { x: passthrough("x") } }, dst);
    const bad = await proxy.runtime.apply({
      version: "i/2",
      listeners: [listener],
      routeConfigs: {},
      clusters: {
        rr: passthrough("rr", { lbPolicy: "ROUND_ROBIN" }),
        eps: { ...cluster("eps", [1]), type: "ORIGINAL_DST", lbPolicy: "CLUSTER_PROVIDED" },
        cp: { ...cluster("cp", [1]), lbPolicy: "CLUSTER_PROVIDED" },
        src: passthrough("src", { upstreamBindConfig: { sourceAddress: "localhost" } }),
        extra: passthrough("extra", { upstreamBindConfig: { sourceAddress: "127.0.0.6", extraSourceAddresses: ["::6", "ip6-localhost"] } }),
      },
    });
    expect(bad.errors).toEqual([
      "cluster rr: LB policy ROUND_ROBIN is not valid for Cluster type ORIGINAL_DST. Only 'CLUSTER_PROVIDED' is allowed with cluster type 'ORIGINAL_DST'",
      "cluster eps: ORIGINAL_DST clusters must have no load assignment configured",
      "cluster cp: cluster type 'STATIC' cannot use the CLUSTER_PROVIDED LB policy",
      'cluster src: upstreamBindConfig.sourceAddress "localhost" is not an IP address',
      'cluster extra: upstreamBindConfig.extraSourceAddresses "ip6-localhost" is not an IP address',
    ]);
  });
});

describe("transparent listeners and the kernel resolver", () => {
  it("a transparent listener binds with IP_TRANSPARENT; its local address is the original destination, and the hand-off and chains see it", async () => {
    const vo = await freePort();
    const svcPort = await freePort();
    const app = await echo("through-transparent");
    // TPROXY mode: the listener is transparent; original_dst takes the accepted socket's local
    // address, and the hand-off finds the listener of that address (here: itself, so its chains).
    const listener: Listener = {
      ...virtualOutbound(vo),
      name: "virtualInbound",
      transparent: true,
      filterChains: [tcpChain("virtualInbound-blackhole", "BlackHoleCluster", vo), tcpChain("virtualInbound", "static")],
    };
    const p = await startProxy(
      { version: "i/1", listeners: [listener, outboundHttp(svcPort, "rc")], routeConfigs: {}, clusters: { static: cluster("static", [app.port]), BlackHoleCluster: blackHole, PassthroughCluster: passthrough("PassthroughCluster") } },
      {},
    );
    closers.push(() => p.close());
    expect(p.runtime.boundAddresses()).toEqual([`127.0.0.1:${vo}`]);
    // Dialled 127.0.0.1:<vo> itself: the blackhole chain on the listener's own port closes it.
    const c = new TcpTestClient(vo);
    await c.closed;
    await waitFor(() => p.streams.length === 1);
    expect(p.streams[0]).toMatchObject({ filterChainName: "virtualInbound-blackhole", downstreamLocalAddress: `127.0.0.1:${vo}` });
  });

  it("without a redirect the kernel gives no original destination: the listener's own chains take the connection", async () => {
    const target = await raw((s) => s.end("own chain\n"));
    const vo = await freePort();
    const listener = virtualOutbound(vo);
    listener.filterChains = [tcpChain("virtualOutbound-blackhole", "BlackHoleCluster", vo + 1), tcpChain("catchall", "static")];
    const p = await startProxy({ version: "i/1", listeners: [listener], routeConfigs: {}, clusters: { static: cluster("static", [target.port]), BlackHoleCluster: blackHole } });
    closers.push(() => p.close());
    const c = new TcpTestClient(vo);
    await c.received("own chain\n");
  });

  it("a transparent listener that cannot bind is reported and the rest of the snapshot applies", async () => {
    const taken = await raw(() => {});
    const listener: Listener = { ...virtualOutbound(taken.port), transparent: true };
    const rt = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(1), log: createLogger("off"), reusePort: false });
    closers.push(() => rt.close());
    const r = await rt.apply({ version: "i/1", listeners: [listener], routeConfigs: {}, clusters: { PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole } });
    expect(r.errors).toEqual([expect.stringMatching(new RegExp(`^listener virtualOutbound: cannot listen on 127\\.0\\.0\\.1:${taken.port}: transparent listener: bind\\(127\\.0\\.0\\.1:${taken.port}\\) failed: .*\\(errno 98\\)$`))]);
  });
});

/** One request/response exchange with `host:port` (IPv6 literals too); resolves with what came back before close. */
function exchangeWith(host: string, port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => s.write(data));
    let out = "";
    s.setEncoding("utf8");
    s.on("data", (d: string) => (out += d));
    s.on("error", reject);
    s.on("close", () => resolve(out));
  });
}

describe("additional addresses (dual stack)", () => {
  /** virtualOutbound on 127.0.0.1 and ::1; its catch-all goes to a static "catchall" upstream. */
  function dualStack(vo: number, svcPort: number, perPortExtra: boolean): Snapshot {
    const v: Listener = { ...virtualOutbound(vo), additionalAddresses: [{ address: "::1" }] };
    v.filterChains = [tcpChain("virtualOutbound-blackhole", "BlackHoleCluster", vo), tcpChain("virtualOutbound-catchall-tcp", "catchall")];
    const perPort = outboundHttp(svcPort, "rc");
    if (perPortExtra) perPort.additionalAddresses = [{ address: "::" }];
    return {
      version: perPortExtra ? "d/1" : "d/2",
      listeners: [v, perPort],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "svc", domains: ["*"], routes: [route("r", { route: { cluster: "app", timeoutMs: 0 } as never })] }] } },
      clusters: { app: cluster("app", [appPort]), catchall: cluster("catchall", [catchAllPort]), PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole },
    };
  }
  let appPort = 0;
  let catchAllPort = 0;

  it("binds every address on the listener's port; an IPv6 destination is handed to the listener whose additional address is ::, as an IPv4 one to 0.0.0.0", async () => {
    appPort = (await echo("routed")).port;
    catchAllPort = (await echo("catchall")).port;
    const vo = await freePort();
    const svcPort = await freePort();
    const dst = pretendDestinations();
    const proxy = await start(dualStack(vo, svcPort, true), dst);
    expect(proxy.runtime.boundAddresses()).toEqual([`127.0.0.1:${vo}`, `::1:${vo}`]);
    dst.next = { ip: "fd96::20", port: svcPort };
    expect(parseResponses(await exchangeWith("::1", vo, GET))[0]?.headers["x-upstream"]).toBe("routed");
    expect(proxy.streams.at(-1)).toMatchObject({ filterChainName: `0.0.0.0_${svcPort}`, downstreamLocalAddress: `fd96::20:${svcPort}` });
    dst.next = { ip: "10.0.0.9", port: svcPort };
    expect(parseResponses(await exchangeWith("::1", vo, GET))[0]?.headers["x-upstream"]).toBe("routed");
    // Stats keep the listener's first address, as Envoy's.
    expect(proxy.runtime.services.stats.counter(`listener.0.0.0.0_${svcPort}.downstream_cx_total`).value).toBe(2);
  });

  it("without :: among its addresses the per-port listener does not take IPv6 destinations: virtualOutbound's catch-all does; a reload that adds it rebinds nothing else and takes effect", async () => {
    appPort = (await echo("routed")).port;
    catchAllPort = (await echo("catchall")).port;
    const vo = await freePort();
    const svcPort = await freePort();
    const dst = pretendDestinations();
    const proxy = await start(dualStack(vo, svcPort, false), dst);
    dst.next = { ip: "fd96::20", port: svcPort };
    expect(parseResponses(await exchangeWith("::1", vo, GET))[0]?.headers["x-upstream"]).toBe("catchall");
    expect((await proxy.runtime.apply(dualStack(vo, svcPort, true))).errors).toEqual([]);
    expect(parseResponses(await exchangeWith("127.0.0.1", vo, GET))[0]?.headers["x-upstream"]).toBe("routed");
  });

  it("a reload that drops an additional address unbinds it; the first address stays bound", async () => {
    appPort = (await echo("routed")).port;
    catchAllPort = (await echo("catchall")).port;
    const vo = await freePort();
    const svcPort = await freePort();
    const dst = pretendDestinations();
    const proxy = await start(dualStack(vo, svcPort, true), dst);
    const single = dualStack(vo, svcPort, true);
    delete single.listeners[0]!.additionalAddresses;
    single.version = "d/3";
    expect((await proxy.runtime.apply(single)).errors).toEqual([]);
    expect(proxy.runtime.boundAddresses()).toEqual([`127.0.0.1:${vo}`]);
    await expect(exchangeWith("::1", vo, GET)).rejects.toThrow(/ECONNREFUSED/);
    dst.next = { ip: "10.0.0.9", port: svcPort };
    expect(parseResponses(await exchangeWith("127.0.0.1", vo, GET))[0]?.headers["x-upstream"]).toBe("routed");
  });

  it("an additional address that cannot bind is reported with its address; the listener is not left half-bound", async () => {
    const vo = await freePort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen({ host: "::1", port: vo, ipv6Only: true }, r));
    closers.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const rt = new ProxyRuntime({ limits: defaultLimits, random: seededRandom(1), log: createLogger("off"), reusePort: false });
    closers.push(() => rt.close());
    const v: Listener = { ...virtualOutbound(vo), additionalAddresses: [{ address: "::1" }] };
    const r = await rt.apply({ version: "d/1", listeners: [v], routeConfigs: {}, clusters: { PassthroughCluster: passthrough("PassthroughCluster"), BlackHoleCluster: blackHole } });
    expect(r.errors).toEqual([`listener virtualOutbound: cannot listen on 127.0.0.1:${vo}: ::1:${vo}: listen EADDRINUSE: address already in use ::1:${vo}`]);
    expect(r.bound).toEqual([]);
    await expect(exchangeWith("127.0.0.1", vo, GET)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("transparent: every address is bound through IP_TRANSPARENT, the IPv6 one v6-only beside the IPv4 wildcard", async () => {
    const vo = await freePort();
    const target = await raw((s) => s.end("own chain\n"));
    const v: Listener = { ...virtualOutbound(vo), address: "0.0.0.0", transparent: true, additionalAddresses: [{ address: "::" }] };
    v.filterChains = [tcpChain("virtualOutbound-blackhole", "BlackHoleCluster", vo + 1), tcpChain("catchall", "static")];
    const p = await startProxy({ version: "d/1", listeners: [v], routeConfigs: {}, clusters: { static: cluster("static", [target.port]), BlackHoleCluster: blackHole } });
    closers.push(() => p.close());
    expect(p.runtime.boundAddresses()).toEqual([`0.0.0.0:${vo}`, `:::${vo}`]);
    for (const host of ["127.0.0.1", "::1"]) expect(await exchangeWith(host, vo, "")).toBe("own chain\n");
  });
});
