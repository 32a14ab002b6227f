// explainRequest: which way a request would go through a snapshot, and why — the listener and
// filter chain, the route configuration, the virtual host (and why the others' domains did not
// match), each route tried in order with why it did not match, the route taken (its Istio source
// rule) and its actions, and the policies of every cluster it may reach. Pure, like route
// matching: it runs the same compiled matchers the data path runs (RouteTable,
// VirtualHostSelector, CompiledRoute.mismatch, FilterChainMatcher), so the answer cannot drift
// from what requests see. Used by the admin `/explain` and `outrigger explain`.

import { HTTP_CONNECTION_MANAGER, HTTP_FAULT_FILTER, TCP_PROXY, type HeaderMatcher, type Listener, type QueryParameterMatcher, type RouteAction, type RouteMatch, type Snapshot, type StringMatcher } from "../config/model/types.js";
import { HeaderList } from "../http/header-list.js";
import { FilterChainMatcher } from "../listener/filter-chain-matcher.js";
import { clusterPolicy, type ClusterPolicy } from "./explain-cluster.js";
import { MatchContext } from "./match-context.js";
import type { RequestView } from "./request-view.js";
import { RouteTable, type CompiledVirtualHost } from "./route-table.js";
import { explainAuthorization, explainConnection, type AuthzExplanation } from "./explain-authz.js";
import type { ConnectionInfo } from "../listener/connection-info.js";
import { VirtualHostSelector } from "./virtual-host-selector.js";

export interface ExplainRequest {
  /** Default GET. */
  method?: string;
  /** Host header / :authority, port included when the client sends one (`reviews:9080`). */
  authority: string;
  /** Default "/". Query string included. */
  path?: string;
  headers?: Array<[string, string]>;
  /** The destination port of the connection; default the authority's port, else 80. */
  port?: number;
  /** A listener by name (wins over `port`). */
  listener?: string;
  /** The peer's SPIFFE principal (`cluster.local/ns/default/sa/sleep`): an mTLS client; absent = plaintext. */
  principal?: string;
}

export interface RouteTried {
  index: number;
  name: string;
  /** The Istio rule it came from (`shop/reviews http[0] match[1]`). */
  source?: string | undefined;
  matched: boolean;
  /** Why not, for routes that did not match: which condition, expected vs actual. */
  reason?: string | undefined;
}

export interface WeightedTarget {
  cluster: string;
  weight: number;
  /** Share of requests, percent (weight / total). */
  percent: number;
}

export interface Explanation {
  request: { method: string; authority: string; path: string; headers: Array<[string, string]> };
  /** Notes about how the listener was chosen. */
  notes: string[];
  listener: { name: string; address: string; port: number; direction: string };
  filterChain: { name: string; match: unknown; filter: string } | null;
  /** HTTP: the route configuration walked. */
  routeConfig?: string | undefined;
  virtualHost?: { name: string; domains: string[] } | null;
  otherVirtualHosts?: Array<{ name: string; reason: string }>;
  routes?: RouteTried[];
  /** What the taken route does (absent when no route matched: Envoy answers 404 NR). */
  action?: RouteActionSummary | undefined;
  /** TCP proxy chains: where the bytes go. */
  tcp?: { statPrefix: string; idleTimeoutMs: number; targets: WeightedTarget[] } | undefined;
  /** Policies of every cluster the request may reach (one per weighted target). */
  clusters: ClusterPolicy[];
  /** The chain's RBAC filters (AuthorizationPolicy) in order; absent = none on the chain. */
  authorization?: AuthzExplanation | undefined;
  /** The one-line verdict. */
  outcome: string;
}

export interface RouteActionSummary {
  kind: "forward" | "redirect" | "direct_response";
  targets?: WeightedTarget[];
  /** The path sent upstream after prefix / regex rewrite (when it changes). */
  rewrittenPath?: string | undefined;
  hostRewrite?: string | undefined;
  timeoutMs?: number;
  /** How a gRPC request's `grpc-timeout` header bounds it on this route (max_grpc_timeout / max_stream_duration); absent = it does not. */
  grpcTimeout?: string | undefined;
  /** max_stream_duration's bound on any stream (ms), when set and not 0. */
  maxStreamDurationMs?: number | undefined;
  retries?: { retryOn: string[]; numRetries: number; perTryTimeoutMs?: number | undefined; retriableStatusCodes: number[] } | undefined;
  fault?: unknown;
  mirrors?: Array<{ cluster: string; percent: number }>;
  hashPolicy?: unknown;
  requestHeadersToAdd?: Array<{ key: string; value: string; action: string }>;
  requestHeadersToRemove?: string[];
  responseHeadersToAdd?: Array<{ key: string; value: string; action: string }>;
  responseHeadersToRemove?: string[];
  redirect?: unknown;
  directResponse?: { status: number; body?: string | undefined };
}

export const EXPLAIN_NO_LISTENER = "EXPLAIN_NO_LISTENER";

/** A request `explain` cannot place (unknown listener or port): the message lists what exists. Compare by `code`. */
export class ExplainError extends Error {
  readonly code = EXPLAIN_NO_LISTENER;
}

export function isExplainError(e: unknown): e is ExplainError {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === EXPLAIN_NO_LISTENER;
}

function hostPort(a: string, p: number): string {
  return a.includes(":") ? `[${a}]:${p}` : `${a}:${p}`;
}

function listenerList(s: Snapshot): string {
  if (s.listeners.length === 0) return "the configuration has no listeners";
  return "listeners: " + s.listeners.map((l) => `${l.name} (${hostPort(l.address, l.port)}, ${l.trafficDirection.toLowerCase()})`).join(", ");
}

/** The port in an authority (`host:port`, `[v6]:port`), else undefined. */
export function authorityPort(authority: string): number | undefined {
  const m = /:(\d+)$/.exec(authority);
  if (m === null || (authority.startsWith("[") && !authority.includes("]:"))) return undefined;
  return Number(m[1]);
}

function pickListener(s: Snapshot, req: ExplainRequest, notes: string[]): Listener {
  if (req.listener !== undefined) {
    const l = s.listeners.find((x) => x.name === req.listener);
    if (l === undefined) throw new ExplainError(`no listener named ${JSON.stringify(req.listener)}; ${listenerList(s)}`);
    return l;
  }
  const explicit = req.port !== undefined;
  const port = req.port ?? authorityPort(req.authority) ?? 80;
  const onPort = s.listeners.filter((l) => l.port === port);
  // Several on one port (an outbound 0.0.0.0_9080 and an inbound one): outbound first, the side a caller uses.
  const l = onPort.find((x) => x.trafficDirection === "OUTBOUND") ?? onPort[0];
  if (l !== undefined) {
    if (!explicit) notes.push(`listener chosen by the port ${port} ${authorityPort(req.authority) !== undefined ? "of the authority" : "(HTTP's default; the authority has none)"}`);
    return l;
  }
  // Istio's outbound capture listener (15001) takes whatever no port listener does, as after iptables.
  const capture = !explicit ? s.listeners.find((x) => x.port === 15001) : undefined;
  if (capture !== undefined) {
    notes.push(`no listener on port ${port}: the outbound capture listener ${capture.name} takes the request`);
    return capture;
  }
  throw new ExplainError(`no listener on port ${port}; ${listenerList(s)}`);
}

function describeString(m: StringMatcher): string {
  const ic = m.ignoreCase === true ? " (ignoring case)" : "";
  if (m.exact !== undefined) return `exact ${JSON.stringify(m.exact)}${ic}`;
  if (m.prefix !== undefined) return `prefix ${JSON.stringify(m.prefix)}${ic}`;
  if (m.suffix !== undefined) return `suffix ${JSON.stringify(m.suffix)}${ic}`;
  if (m.contains !== undefined) return `contains ${JSON.stringify(m.contains)}${ic}`;
  if (m.safeRegex !== undefined) return `regex ${JSON.stringify(m.safeRegex)}${ic}`;
  return "any value";
}

function describePath(m: RouteMatch): string {
  const ic = m.caseSensitive === false ? " (ignoring case)" : "";
  if (m.prefix !== undefined) return `prefix ${JSON.stringify(m.prefix)}${ic}`;
  if (m.path !== undefined) return `exact ${JSON.stringify(m.path)}${ic}`;
  if (m.safeRegex !== undefined) return `regex ${JSON.stringify(m.safeRegex)}`;
  return "any path";
}

function describeHeader(h: HeaderMatcher): string {
  if (h.stringMatch !== undefined) return `${h.invertMatch === true ? "not " : ""}${describeString(h.stringMatch)}`;
  const present = (h.presentMatch ?? true) !== (h.invertMatch === true);
  return present ? "present" : "absent";
}

function describeQuery(q: QueryParameterMatcher): string {
  return q.stringMatch !== undefined ? describeString(q.stringMatch) : "present";
}

function shown(v: string | undefined): string {
  return v === undefined ? "none" : JSON.stringify(v);
}

function headerValue(view: RequestView, name: string): string | undefined {
  switch (name) {
    case ":method":
      return view.method;
    case ":path":
      return view.path;
    case ":authority":
      return view.authority;
    case ":scheme":
      return view.scheme;
    default:
      return view.headers.getJoined(name);
  }
}

/** The domain of `vh` that would take `authority` on its own, if any (same selector as the data path). */
function matchingDomain(vh: CompiledVirtualHost, authority: string, ignorePort: boolean): string | undefined {
  for (const d of vh.virtualHost.domains) {
    const sel = new VirtualHostSelector<true>({ ignorePort });
    sel.add(d, true);
    if (sel.select(authority) === true) return d;
  }
  return undefined;
}

function domainsText(domains: readonly string[]): string {
  const shownDomains = domains.slice(0, 4).map((d) => JSON.stringify(d)).join(", ");
  return domains.length > 4 ? `${shownDomains}, … ${domains.length - 4} more` : shownDomains;
}

function percentOf(p: { numerator: number; denominator: string } | undefined): number {
  if (p === undefined) return 100;
  const d = p.denominator === "MILLION" ? 1_000_000 : p.denominator === "TEN_THOUSAND" ? 10_000 : 100;
  return (p.numerator * 100) / d;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * `upstreamProtocols`: the translation's account of each cluster's upstream protocol (Istio YAML),
 * shown instead of the bare protocol options when given.
 */
export function explainRequest(s: Snapshot, req: ExplainRequest, upstreamProtocols?: Readonly<Record<string, string>>): Explanation {
  const out = explainRoute(s, req, upstreamProtocols ?? {});
  const denied = out.authorization?.denied;
  // The RBAC filters run before the router: a denial is the answer, whatever the route would do.
  if (denied !== undefined) out.outcome = out.tcp !== undefined ? `denied by authorization (${denied}): the connection is closed` : `denied by authorization: 403 RBAC: access denied (${denied}); the route would have been: ${out.outcome}`;
  return out;
}

function explainRoute(s: Snapshot, req: ExplainRequest, why: Readonly<Record<string, string>>): Explanation {
  const method = req.method ?? "GET";
  const path = req.path ?? "/";
  const headers = req.headers ?? [];
  const notes: string[] = [];
  const l = pickListener(s, req, notes);
  const out: Explanation = {
    request: { method, authority: req.authority, path, headers },
    notes,
    listener: { name: l.name, address: l.address, port: l.port, direction: l.trafficDirection },
    filterChain: null,
    clusters: [],
    outcome: "",
  };
  const localIp = l.address === "0.0.0.0" || l.address === "::" ? "127.0.0.1" : l.address;
  const conn: ConnectionInfo = {
    remoteIp: "127.0.0.1",
    remotePort: 50000,
    directRemoteIp: "127.0.0.1",
    localIp,
    localPort: req.port ?? l.port,
    serverName: "",
    transportProtocol: "raw_buffer",
    applicationProtocols: ["http/1.1"],
  };
  const chain = new FilterChainMatcher(l.filterChains, l.defaultFilterChain).select(conn);
  if (chain === undefined) {
    out.outcome = "no filter chain matches a plaintext HTTP/1.1 connection: the connection is closed";
    return out;
  }
  const terminal = chain.filters[chain.filters.length - 1];
  out.filterChain = { name: chain.name, match: chain.filterChainMatch, filter: terminal?.name ?? "(none)" };
  out.authorization = explainAuthorization(chain, explainConnection(conn, req.principal), { method, path, authority: req.authority, scheme: "http", headers: HeaderList.from(headers) });
  if (terminal?.name === TCP_PROXY) {
    const t = terminal.typedConfig;
    const targets = weighted(t.weightedClusters ?? (t.cluster !== undefined ? [{ name: t.cluster, weight: 1 }] : []));
    out.tcp = { statPrefix: t.statPrefix, idleTimeoutMs: t.idleTimeoutMs, targets };
    out.clusters = targets.map((x) => clusterPolicy(s, x.cluster, why[x.cluster]));
    out.outcome = `TCP proxy: bytes go to ${targets.map((x) => x.cluster).join(" / ")} (HTTP routing does not apply)`;
    return out;
  }
  if (terminal?.name !== HTTP_CONNECTION_MANAGER) {
    out.outcome = "the filter chain has no terminal network filter";
    return out;
  }
  const rcName = terminal.typedConfig.routeConfigName;
  out.routeConfig = rcName;
  const rc = terminal.typedConfig.routeConfig ?? s.routeConfigs[rcName];
  if (rc === undefined) {
    out.outcome = `route configuration ${JSON.stringify(rcName)} does not exist: 404 (NR)`;
    return out;
  }
  const table = RouteTable.compile(rc);
  const view: RequestView = { method, path, authority: req.authority, scheme: "http", headers: HeaderList.from(headers) };
  const vh = table.selectVirtualHost(req.authority);
  out.virtualHost = vh === undefined ? null : { name: vh.name, domains: vh.virtualHost.domains };
  out.otherVirtualHosts = table.virtualHosts
    .filter((v) => v !== vh)
    .map((v) => {
      const d = matchingDomain(v, req.authority, rc.ignorePortInHostMatching === true);
      return {
        name: v.name,
        reason: d !== undefined
          ? `its domain ${JSON.stringify(d)} matches too, but the chosen host's domain is more specific (exact > *.suffix > prefix.* > *)`
          : `no domain matches ${JSON.stringify(req.authority)} (domains ${domainsText(v.virtualHost.domains)})`,
      };
    });
  if (vh === undefined) {
    out.outcome = `no virtual host of ${JSON.stringify(rcName)} takes the authority ${JSON.stringify(req.authority)}: 404 (NR)`;
    return out;
  }
  const ctx = new MatchContext();
  ctx.reset(view);
  const tried: RouteTried[] = [];
  let taken: (typeof vh.routes)[number] | undefined;
  for (let i = 0; i < vh.routes.length; i++) {
    const r = vh.routes[i]!;
    const m = r.route.match;
    const mm = r.mismatch(ctx);
    let reason: string | undefined;
    if (mm?.kind === "path") reason = `path: expected ${describePath(m)}, got ${JSON.stringify(ctx.pathOnly())}`;
    else if (mm?.kind === "header") {
      const h = m.headers[mm.index]!;
      reason = `header ${JSON.stringify(h.name)}: expected ${describeHeader(h)}, got ${shown(headerValue(view, h.name.toLowerCase()))}`;
    } else if (mm?.kind === "query") {
      const q = m.queryParameters[mm.index]!;
      reason = `query parameter ${JSON.stringify(q.name)}: expected ${describeQuery(q)}, got ${shown(ctx.query().get(q.name))}`;
    }
    tried.push({ index: i, name: r.route.name, source: r.route.source, matched: mm === undefined, reason });
    if (mm === undefined) {
      taken = r;
      break;
    }
  }
  ctx.clear();
  out.routes = tried;
  if (taken === undefined) {
    out.outcome = `no route of virtual host ${JSON.stringify(vh.name)} matches: 404 (NR)`;
    return out;
  }
  const route = taken.route;
  const fault = route.typedPerFilterConfig?.[HTTP_FAULT_FILTER];
  const mutations = {
    requestHeadersToAdd: route.requestHeadersToAdd.map((h) => ({ key: h.key, value: h.value, action: h.appendAction })),
    requestHeadersToRemove: route.requestHeadersToRemove,
    responseHeadersToAdd: route.responseHeadersToAdd.map((h) => ({ key: h.key, value: h.value, action: h.appendAction })),
    responseHeadersToRemove: route.responseHeadersToRemove,
  };
  const via = `route ${JSON.stringify(route.name)}${route.source !== undefined ? ` (${route.source})` : ""}`;
  if (route.redirect !== undefined) {
    out.action = { kind: "redirect", redirect: route.redirect, ...mutations };
    out.outcome = `${via}: redirect ${route.redirect.responseCode}`;
    return out;
  }
  if (route.directResponse !== undefined) {
    out.action = { kind: "direct_response", directResponse: route.directResponse, ...mutations };
    out.outcome = `${via}: direct response ${route.directResponse.status}`;
    return out;
  }
  const a = route.route!;
  const targets = weighted(a.weightedClusters ?? (a.cluster !== undefined ? [{ name: a.cluster, weight: 1 }] : []));
  const rewritten = taken.rewrite?.rewritePath(path)?.path;
  out.action = {
    kind: "forward",
    targets,
    rewrittenPath: rewritten !== undefined && rewritten !== path ? rewritten : undefined,
    hostRewrite: a.hostRewriteLiteral,
    timeoutMs: a.timeoutMs ?? 0,
    grpcTimeout: grpcTimeoutRule(a),
    maxStreamDurationMs: a.maxStreamDuration?.maxStreamDurationMs !== undefined && a.maxStreamDuration.maxStreamDurationMs > 0 ? a.maxStreamDuration.maxStreamDurationMs : undefined,
    retries: a.retryPolicy !== undefined && a.retryPolicy.numRetries > 0
      ? { retryOn: a.retryPolicy.retryOn, numRetries: a.retryPolicy.numRetries, perTryTimeoutMs: a.retryPolicy.perTryTimeoutMs, retriableStatusCodes: a.retryPolicy.retriableStatusCodes }
      : undefined,
    fault,
    mirrors: (a.requestMirrorPolicies ?? []).map((m) => ({ cluster: m.cluster, percent: round(percentOf(m.percentage)) })),
    hashPolicy: a.hashPolicy,
    ...mutations,
  };
  out.clusters = targets.map((x) => clusterPolicy(s, x.cluster, why[x.cluster]));
  const missing = out.clusters.filter((c) => !c.found).map((c) => c.name);
  out.outcome = `${via}: forwarded to ${targets.map((x) => (targets.length > 1 ? `${x.cluster} (${x.percent}%)` : x.cluster)).join(", ")}` +
    (missing.length > 0 ? `; cluster ${missing.join(", ")} does not exist: 503 (NC)` : "");
  return out;
}

/**
 * Envoy's gRPC timeout rules for a route, in words. The deprecated max_grpc_timeout (what istiod
 * writes on sidecar routes) replaces the route timeout of a gRPC request with its grpc-timeout,
 * capped (0 = uncapped; no header = the cap, or none). max_stream_duration.grpc_timeout_header_max
 * (istiod's inbound routes) bounds the stream by grpc-timeout, the route timeout still applying.
 */
function grpcTimeoutRule(a: RouteAction): string | undefined {
  const fmt = (n: number): string => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);
  const cap = (max: number, offset: number | undefined): string => `${max > 0 ? `capped at ${fmt(max)}` : "uncapped"}${offset !== undefined && offset > 0 ? `, less ${fmt(offset)}` : ""}`;
  if (a.maxGrpcTimeoutMs !== undefined) {
    const max = a.maxGrpcTimeoutMs;
    return `gRPC requests: grpc-timeout replaces the route timeout, ${cap(max, a.grpcTimeoutOffsetMs)}; without the header ${max > 0 ? fmt(max) : "no timeout"} (max_grpc_timeout)`;
  }
  const msd = a.maxStreamDuration;
  if (msd?.grpcTimeoutHeaderMaxMs !== undefined) return `gRPC requests: grpc-timeout bounds the stream, ${cap(msd.grpcTimeoutHeaderMaxMs, msd.grpcTimeoutHeaderOffsetMs)}, the route timeout still applies (max_stream_duration.grpc_timeout_header_max)`;
  return undefined;
}

function weighted(cs: ReadonlyArray<{ name: string; weight: number }>): WeightedTarget[] {
  const total = cs.reduce((n, c) => n + (c.weight > 0 ? c.weight : 0), 0);
  return cs.map((c) => ({ cluster: c.name, weight: c.weight, percent: total > 0 ? round(((c.weight > 0 ? c.weight : 0) * 100) / total) : 0 }));
}
