// Envoy's seams over real sockets, each with a second user: filter chains chosen per connection,
// a listener filter, a transport socket that counts bytes (downstream and upstream), HTTP filters
// that stop, resume and answer locally, and reloads that keep chains (and connections) in place.

import type { Socket } from "node:net";
import { connect } from "node:net";
import { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { httpFilterChain, httpListener } from "../../src/config/model/listener-defaults.js";
import type { Listener, Snapshot } from "../../src/config/model/types.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory } from "../../src/http/filters/http-filter.js";
import { builtInHttpFilters } from "../../src/http/filters/http-filter-registry.js";
import type { HeaderList } from "../../src/http/header-list.js";
import type { RequestHeaders, ResponseHeaders } from "../../src/http/http-message.js";
import type { ListenerFilter, ListenerFilterFactory } from "../../src/listener/listener-filter.js";
import { ListenerFilterRegistry } from "../../src/listener/listener-filter.js";
import { TransportSocketRegistry, type TransportFailure, type TransportSocketFactory, type UpstreamTransportOptions } from "../../src/listener/transport-socket.js";
import type { ConnectionInfo } from "../../src/listener/connection-info.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { parseResponses, rawExchange } from "../helpers/raw-client.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";
import { ManualTimers } from "../helpers/manual-timers.js";

let proxy: TestProxy | undefined;
const ups: EchoUpstream[] = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function upstream(name: string): Promise<EchoUpstream> {
  const u = await startEchoUpstream(name);
  ups.push(u);
  return u;
}

/** Two route configurations, `rc-a` → cluster a, `rc-b` → cluster b. */
function twoRouteSnapshot(listeners: Listener[], a: EchoUpstream, b: EchoUpstream): Snapshot {
  const rc = (name: string, c: string) => ({ name, virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: c } })] }] });
  return {
    version: "t/1",
    listeners,
    routeConfigs: { "rc-a": rc("rc-a", "a"), "rc-b": rc("rc-b", "b") },
    clusters: { a: cluster("a", [a.port]), b: cluster("b", [b.port]) },
  };
}

function get(port: number, opts: { host?: string; localAddress?: string } = {}): Promise<{ status: number; name?: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: opts.host ?? "127.0.0.1", port, ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}) });
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.on("error", reject);
    s.on("close", () => {
      const [r] = parseResponses(out);
      if (r === undefined) resolve({ status: 0, closed: true });
      else resolve({ status: r.status, name: r.headers["x-upstream"], closed: true });
    });
    s.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  });
}

describe("filter chains", () => {
  it("chooses the chain per connection by destination IP, then by source IP; no match closes the connection", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const port = await freePort();
    const l = httpListener({ address: "0.0.0.0", port, direction: "OUTBOUND", routeConfigName: "rc-a" });
    l.filterChains = [
      { ...httpFilterChain("to-127.0.0.2", "s", "rc-b"), filterChainMatch: { prefixRanges: [{ addressPrefix: "127.0.0.2", prefixLen: 32 }] } },
      { ...httpFilterChain("from-127.0.0.3", "s", "rc-b"), filterChainMatch: { prefixRanges: [{ addressPrefix: "127.0.0.0", prefixLen: 8 }], sourcePrefixRanges: [{ addressPrefix: "127.0.0.3", prefixLen: 32 }] } },
      { ...httpFilterChain("loopback", "s", "rc-a"), filterChainMatch: { prefixRanges: [{ addressPrefix: "127.0.0.0", prefixLen: 8 }], sourcePrefixRanges: [{ addressPrefix: "127.0.0.1", prefixLen: 32 }] } },
    ];
    proxy = await startProxy(twoRouteSnapshot([l], a, b));
    expect(await get(port, { host: "127.0.0.1" })).toMatchObject({ status: 200, name: "a" });
    expect(await get(port, { host: "127.0.0.2" })).toMatchObject({ status: 200, name: "b" });
    expect(await get(port, { host: "127.0.0.1", localAddress: "127.0.0.3" })).toMatchObject({ status: 200, name: "b" });
    // 127.0.0.4 → 127.0.0.1 reaches the /8 branch, whose source ranges don't match: closed, no reply.
    expect(await get(port, { host: "127.0.0.1", localAddress: "127.0.0.4" })).toEqual({ status: 0, closed: true });
    expect(proxy.streams.map((s) => s.filterChainName)).toEqual(["loopback", "to-127.0.0.2", "from-127.0.0.3"]);
  });

  it("a default filter chain takes connections no chain matches", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc-a" });
    l.filterChains = [{ ...httpFilterChain("port-9", "s", "rc-a"), filterChainMatch: { destinationPort: 9 } }];
    l.defaultFilterChain = httpFilterChain("fallback", "s", "rc-b");
    proxy = await startProxy(twoRouteSnapshot([l], a, b));
    expect(await get(port)).toMatchObject({ status: 200, name: "b" });
  });

  it("refuses snapshots this worker cannot run, naming the listener, chain and part", async () => {
    const a = await upstream("a");
    const port = await freePort();
    const base = (): Listener => httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc-a" });
    proxy = await startProxy(twoRouteSnapshot([base()], a, a));
    const apply = async (l: Listener) => (await proxy!.runtime.apply(twoRouteSnapshot([l], a, a))).errors.join("\n");

    const dup = base();
    dup.filterChains.push({ ...dup.filterChains[0]!, name: "twin" });
    expect(await apply(dup)).toMatch(/listener 127.0.0.1_\d+: filter chain twin: another filter chain has the same filterChainMatch/);
    const tls = base();
    tls.filterChains[0]!.transportSocket = { name: "envoy.transport_sockets.tls" };
    expect(await apply(tls)).toMatch(/filter chain outbound_127.0.0.1_\d+: envoy.transport_sockets.tls needs a DownstreamTlsContext/);
    const alts = base();
    alts.filterChains[0]!.transportSocket = { name: "envoy.transport_sockets.alts" };
    expect(await apply(alts)).toMatch(/filter chain outbound_127.0.0.1_\d+: transport socket envoy.transport_sockets.alts is not supported/);
    const rbac = base();
    const hcm = rbac.filterChains[0]!.filters[0]!;
    if (hcm.name === "envoy.filters.network.http_connection_manager") hcm.typedConfig.httpFilters.unshift({ name: "envoy.filters.http.local_ratelimit" });
    expect(await apply(rbac)).toMatch(/http filter envoy.filters.http.local_ratelimit is not supported/);
    const noRouter = base();
    const hcm2 = noRouter.filterChains[0]!.filters[0]!;
    if (hcm2.name === "envoy.filters.network.http_connection_manager") hcm2.typedConfig.httpFilters.pop();
    expect(await apply(noRouter)).toMatch(/http filters must end with envoy.filters.http.router/);
    const lf = base();
    lf.listenerFilters = [{ name: "envoy.filters.listener.proxy_protocol" as never }];
    expect(await apply(lf)).toMatch(/listener filter envoy.filters.listener.proxy_protocol is not supported yet/);
    const empty = base();
    empty.filterChains = [];
    expect(await apply(empty)).toMatch(/has no filter chains/);
    // Every refusal left the running snapshot alone.
    expect(await get(port)).toMatchObject({ status: 200, name: "a" });
  });

  it("an inline route_config routes its chain alone (another listener's RDS config of the same name is not used); noop filters are carried, not run", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const inlinePort = await freePort();
    const rdsPort = await freePort();
    const inline = httpListener({ address: "127.0.0.1", port: inlinePort, direction: "INBOUND", routeConfigName: "rc-a" });
    const hcm = inline.filterChains[0]!.filters[0]!;
    if (hcm.name !== "envoy.filters.network.http_connection_manager") throw new Error("expected an HCM");
    // Named like the RDS config that routes to a, but its own routes go to b.
    hcm.typedConfig.routeConfig = { name: "rc-a", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "b" } })] }] };
    hcm.typedConfig.httpFilters.unshift({ name: "envoy.filters.http.grpc_stats", noop: { reason: "gRPC statistics are not collected", typedConfig: { "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig" } } });
    inline.filterChains[0]!.filters.unshift({ name: "outrigger.noop", noop: { filterName: "istio_authn", reason: "Istio-internal" } });
    const rds = httpListener({ address: "127.0.0.1", port: rdsPort, direction: "OUTBOUND", routeConfigName: "rc-a" });
    proxy = await startProxy(twoRouteSnapshot([inline, rds], a, b));
    expect(await get(inlinePort)).toMatchObject({ status: 200, name: "b" });
    expect(await get(rdsPort)).toMatchObject({ status: 200, name: "a" });
    // A noop filter cannot end a chain.
    const bad = httpListener({ address: "127.0.0.1", port: inlinePort, direction: "INBOUND", routeConfigName: "rc-a" });
    bad.filterChains[0]!.filters = [{ name: "outrigger.noop", noop: { filterName: "envoy.filters.network.mongo_proxy", reason: "x" } }];
    expect((await proxy.runtime.apply(twoRouteSnapshot([bad], a, b))).errors.join("\n")).toMatch(/the terminal network filter envoy.filters.network.mongo_proxy is not supported/);
  });

  it("a listener the snapshot removes drains: no new connections, in-flight responses carry connection: close, idle connections close, the rest close at the drain deadline", async () => {
    const timers = new ManualTimers();
    const held: Array<() => void> = [];
    const slow = await startEchoUpstream("slow", (req, res) => {
      if (req.url === "/hang") return; // never answers
      held.push(() => res.writeHead(200, { "content-length": "2" }).end("ok"));
    });
    ups.push(slow);
    const port = await freePort();
    const keep = await freePort();
    const snap = (listeners: Listener[]): Snapshot => ({ ...twoRouteSnapshot(listeners, slow, slow) });
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc-a" });
    const other = httpListener({ address: "127.0.0.1", port: keep, direction: "OUTBOUND", routeConfigName: "rc-a" });
    proxy = await startProxy(snap([l, other]), { timers, runtime: {} });
    const open = (): Promise<{ socket: Socket; data: () => string; closed: Promise<void> }> =>
      new Promise((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port });
        let out = "";
        socket.on("data", (d: Buffer) => (out += d.toString("latin1")));
        const closed = new Promise<void>((r) => socket.on("close", () => r()));
        socket.on("error", () => {});
        socket.once("connect", () => resolve({ socket, data: () => out, closed }));
        socket.once("error", reject);
      });
    const inFlight = await open();
    inFlight.socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    const hanging = await open();
    hanging.socket.write("GET /hang HTTP/1.1\r\nHost: x\r\n\r\n");
    const idle = await open();
    await waitFor(() => held.length === 1 && slow.requests.length === 2 && proxy!.runtime.connections.size === 3);
    const r = await proxy.runtime.apply(snap([other]));
    expect(r.ok).toBe(true);
    // The idle keep-alive connection is closed; no new connection is accepted.
    await idle.closed;
    await expect(open().then((c) => c.closed)).rejects.toThrow(/ECONNREFUSED/);
    // The in-flight exchange finishes, told to close.
    held[0]!();
    await inFlight.closed;
    const [resp] = parseResponses(inFlight.data());
    expect(resp).toMatchObject({ status: 200 });
    expect(resp!.headers["connection"]).toBe("close");
    // The hanging one stays until the drain deadline (Envoy's --drain-time-s, 600 s by default).
    timers.advance(599_000);
    expect(hanging.socket.destroyed).toBe(false);
    timers.advance(1_000);
    await hanging.closed;
    // The other listener never noticed.
    const still = get(keep);
    await waitFor(() => held.length === 2);
    held[1]!();
    expect(await still).toMatchObject({ status: 200 });
  });

  it("a reload that keeps a chain keeps its keep-alive connections, which route by the new config", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    const port = await freePort();
    proxy = await startProxy(twoRouteSnapshot([httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc-a" })], a, b));
    const s = connect({ host: "127.0.0.1", port });
    let out = "";
    s.on("data", (d: Buffer) => (out += d.toString("latin1")));
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(out).length === 1);
    const r = await proxy.runtime.apply(twoRouteSnapshot([httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc-b" })], a, b));
    expect(r.errors).toEqual([]);
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => parseResponses(out).length === 2);
    expect(parseResponses(out).map((x) => x.headers["x-upstream"])).toEqual(["a", "b"]);
    s.destroy();
  });
});

/** A transport socket that counts the bytes it carries each way: the codec only ever sees its stream. */
class CountingTransport implements TransportSocketFactory {
  readonly name = "test.transport_sockets.counting";
  readonly hashKey = "counting";
  read = 0;
  written = 0;

  private wrap(socket: Socket): Duplex {
    const d = new Duplex({
      read: () => {
        socket.resume();
      },
      write: (chunk: Buffer, _enc, cb) => {
        this.written += chunk.length;
        socket.write(chunk, cb);
      },
      final: (cb) => {
        socket.end();
        cb();
      },
      destroy: (err, cb) => {
        socket.destroy();
        cb(err);
      },
    });
    socket.on("data", (b: Buffer) => {
      this.read += b.length;
      if (!d.push(b)) socket.pause();
    });
    socket.on("end", () => d.push(null));
    socket.on("close", () => d.destroy());
    socket.on("error", () => d.destroy());
    return d;
  }

  wrapDownstream(s: Socket, _info: ConnectionInfo, done: (stream: Duplex | undefined) => void): void {
    done(this.wrap(s));
  }

  connectUpstream(s: Socket, _opts: UpstreamTransportOptions, done: (f: TransportFailure | undefined, stream: Duplex | undefined) => void): void {
    done(undefined, this.wrap(s));
  }
}

describe("transport sockets", () => {
  it("a chain's and a cluster's transport socket carry every byte, both ways", async () => {
    const u = await startEchoUpstream("u", (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => res.end(Buffer.concat(chunks)));
    });
    ups.push(u);
    const down = new CountingTransport();
    const up = new CountingTransport();
    const downReg = new TransportSocketRegistry();
    // One registry per worker: the downstream chain and the upstream cluster each name their own.
    downReg.register(down.name, () => down);
    downReg.register("test.transport_sockets.counting-up", () => up);
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc" });
    l.filterChains[0]!.transportSocket = { name: down.name };
    const snap: Snapshot = {
      version: "t/1",
      listeners: [l],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }] } },
      clusters: { c: cluster("c", [u.port], { transportSocket: { name: "test.transport_sockets.counting-up" } }) },
    };
    proxy = await startProxy(snap, { runtime: { transportSockets: downReg } });
    const body = "x".repeat(10_000);
    const request = `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
    const out = await rawExchange(port, request);
    const [r] = parseResponses(out);
    expect(r!.status).toBe(200);
    expect(r!.body.toString()).toBe(body);
    expect(down.read).toBe(Buffer.byteLength(request));
    expect(down.written).toBe(Buffer.byteLength(out));
    expect(up.written).toBeGreaterThan(body.length);
    expect(up.read).toBeGreaterThan(body.length);
    await waitFor(() => proxy!.streams.length === 1);
    expect(proxy.streams[0]!.bytesReceived).toBe(body.length);
    expect(proxy.streams[0]!.bytesSent).toBe(body.length);
  });
});

describe("listener filters", () => {
  it("run before the chain is chosen: what they learn selects the chain, and a refusal closes the connection", async () => {
    const a = await upstream("a");
    const b = await upstream("b");
    // A stand-in for a preamble-reading filter (as proxy_protocol / tls_inspector learn facts before
    // the codec runs): consumes a one-byte preamble, "A" or "B", and sets the SNI from it; "X" is refused.
    const preamble: ListenerFilter = {
      onAccept(socket, info, done) {
        const onReadable = (): void => {
          const first = socket.read(1) as Buffer | null;
          if (first === null) return;
          socket.removeListener("readable", onReadable);
          const c = first.toString();
          if (c !== "A" && c !== "B") return done(false);
          info.serverName = c === "B" ? "b.example.com" : "a.example.com";
          done(true);
        };
        socket.on("readable", onReadable);
      },
    };
    const registry = new ListenerFilterRegistry();
    const factory: ListenerFilterFactory = { name: "envoy.filters.listener.tls_inspector", create: () => preamble };
    registry.register(factory);
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc-a" });
    l.listenerFilters = [{ name: "envoy.filters.listener.tls_inspector" }];
    l.filterChains = [
      { ...httpFilterChain("a", "s", "rc-a"), filterChainMatch: { serverNames: ["a.example.com"] } },
      { ...httpFilterChain("b", "s", "rc-b"), filterChainMatch: { serverNames: ["b.example.com"] } },
    ];
    proxy = await startProxy(twoRouteSnapshot([l], a, b), { runtime: { listenerFilters: registry } });
    const req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    expect(parseResponses(await rawExchange(port, "A" + req)).map((r) => r.headers["x-upstream"])).toEqual(["a"]);
    expect(parseResponses(await rawExchange(port, "B" + req)).map((r) => r.headers["x-upstream"])).toEqual(["b"]);
    expect(await rawExchange(port, "X" + req)).toBe("");
    expect(proxy.streams.map((x) => x.filterChainName)).toEqual(["a", "b"]);
  });
});

/** A decoder filter that holds the request until the test releases it, and tags both directions. */
class HoldingFilter implements HttpFilter {
  static released: Array<() => void> = [];
  static completed: string[] = [];
  constructor(private readonly cb: FilterCallbacks) {}
  decodeHeaders(req: RequestHeaders): FilterStatus {
    req.headers.set("x-held", "yes");
    if (req.path === "/deny") {
      this.cb.sendResponse(403, "denied by test filter", "test_filter_denied");
      return FilterStatus.StopIteration;
    }
    HoldingFilter.released.push(() => this.cb.continueDecoding());
    return FilterStatus.StopIteration;
  }
  encodeHeaders(res: ResponseHeaders): FilterStatus {
    res.headers.set("x-encoded-by", "holding");
    return FilterStatus.Continue;
  }
  onComplete(): void {
    HoldingFilter.completed.push(`${this.cb.streamInfo.responseCode}`);
  }
}

/** An encoder filter that stops response headers until the body has been seen, then resumes. */
class LateHeadersFilter implements HttpFilter {
  private held: ResponseHeaders | null = null;
  private bytes = 0;
  constructor(private readonly cb: FilterCallbacks) {}
  encodeHeaders(res: ResponseHeaders, endStream: boolean): FilterStatus {
    if (endStream) return FilterStatus.Continue;
    this.held = res;
    return FilterStatus.StopIteration;
  }
  encodeData(data: Buffer, endStream: boolean): FilterStatus {
    this.bytes += data.length;
    if (endStream && this.held !== null) {
      this.held.headers.set("x-body-bytes", String(this.bytes));
      this.held = null;
      queueMicrotask(() => this.cb.continueEncoding());
    }
    return FilterStatus.Continue;
  }
  encodeTrailers(_t: HeaderList): FilterStatus {
    return FilterStatus.Continue;
  }
}

describe("HTTP filters", () => {
  it("decode in order, encode in reverse; stop, resume and local replies; the router last", async () => {
    const u = await upstream("u");
    const registry = builtInHttpFilters();
    const holding: HttpFilterFactory = { name: "test.holding", create: (cb) => new HoldingFilter(cb) };
    const late: HttpFilterFactory = { name: "test.late_headers", create: (cb) => new LateHeadersFilter(cb) };
    registry.register(holding).register(late);
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc" });
    const hcm = l.filterChains[0]!.filters[0]!;
    if (hcm.name !== "envoy.filters.network.http_connection_manager") throw new Error("expected an HCM");
    hcm.typedConfig.httpFilters = [{ name: "test.late_headers" }, { name: "test.holding" }, { name: "envoy.filters.http.router" }];
    const snap: Snapshot = {
      version: "t/1",
      listeners: [l],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }] } },
      clusters: { c: cluster("c", [u.port]) },
    };
    HoldingFilter.released = [];
    HoldingFilter.completed = [];
    proxy = await startProxy(snap, { runtime: { httpFilters: registry } });

    // Held: the upstream sees nothing until the filter lets go, body bytes included.
    const pending = rawExchange(port, "POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
    await waitFor(() => HoldingFilter.released.length === 1);
    expect(u.requests).toEqual([]);
    HoldingFilter.released[0]!();
    const [r] = parseResponses(await pending);
    expect(r!.status).toBe(200);
    const echoed = JSON.parse(r!.body.toString()) as { headers: Record<string, string>; bodyLength: number };
    expect(echoed.headers["x-held"]).toBe("yes");
    expect(echoed.bodyLength).toBe(5);
    // Encoded in reverse: holding tagged the headers, then late_headers held them until the body passed.
    expect(r!.headers["x-encoded-by"]).toBe("holding");
    expect(r!.headers["x-body-bytes"]).toBe(String(r!.body.length));

    // A local reply from a filter: the router never runs, the upstream sees nothing.
    const [d] = parseResponses(await rawExchange(port, "GET /deny HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    expect(d!.status).toBe(403);
    expect(d!.body.toString()).toBe("denied by test filter");
    expect(u.requests).toHaveLength(1);
    await waitFor(() => HoldingFilter.completed.length === 2);
    expect(HoldingFilter.completed).toEqual(["200", "403"]);
    expect(proxy.streams.map((s) => s.responseCodeDetails)).toEqual(["via_upstream", "test_filter_denied"]);
  });

  it("a client that goes away while a filter holds the request resets the filters and records DC", async () => {
    const u = await upstream("u");
    const registry = builtInHttpFilters().register({ name: "test.holding", create: (cb) => new HoldingFilter(cb) });
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc" });
    const hcm = l.filterChains[0]!.filters[0]!;
    if (hcm.name === "envoy.filters.network.http_connection_manager") hcm.typedConfig.httpFilters = [{ name: "test.holding" }, { name: "envoy.filters.http.router" }];
    HoldingFilter.released = [];
    HoldingFilter.completed = [];
    proxy = await startProxy(
      { version: "t/1", listeners: [l], routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "c" } })] }] } }, clusters: { c: cluster("c", [u.port]) } },
      { runtime: { httpFilters: registry } },
    );
    const s = connect({ host: "127.0.0.1", port });
    s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => HoldingFilter.released.length === 1);
    s.destroy();
    await waitFor(() => proxy!.streams.length === 1);
    expect(proxy.streams[0]!.responseFlags).toEqual(["DC"]);
    // Resuming a stream that is gone does nothing.
    HoldingFilter.released[0]!();
    expect(u.requests).toEqual([]);
  });
});
