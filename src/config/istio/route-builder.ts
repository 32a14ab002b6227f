// Turns a VirtualService's http rules into Envoy routes for one listener port, as istiod's
// BuildHTTPRoutesForVirtualService does: one route per match block, source/port/gateway guards,
// destinations → clusters, redirect/rewrite/headers/direct response mapping.

import type {
  HashPolicy,
  HeaderMatcher,
  QueryParameterMatcher,
  RedirectAction,
  RedirectResponseCode,
  Route,
  RouteAction,
  RouteMatch,
  WeightedCluster,
} from "../model/types.js";
import { HTTP_CORS_FILTER, HTTP_FAULT_FILTER } from "../model/types.js";
import { outboundClusterName } from "./cluster-builder.js";
import type { DestinationRuleIndex } from "./destination-rule-index.js";
import { consistentHashForDestination, hashPolicyFor } from "./hash-policy.js";
import type { ParsedDestination, ParsedDestinationRule, ParsedHttpRoute, ParsedMatch, ParsedVirtualService } from "./parsed-config.js";
import { convertRetryPolicy } from "./retry-policy.js";
import type { MeshService } from "./service-registry.js";

export interface RouteContext {
  proxyNamespace: string;
  proxyLabels: Record<string, string>;
  /** Services by hostname, to infer a destination port. */
  servicesByHost: ReadonlyMap<string, MeshService>;
  /** DestinationRules visible to this proxy (consistent-hash policies for routes). */
  drs: DestinationRuleIndex;
  /** Istio <= 1.27 behaviour: mirrored requests carry a `-shadow` Host suffix. */
  mirrorShadowSuffix: boolean;
}

/** The DestinationRule that applies to `host` for this proxy. */
export function destinationRuleFor(host: string, ctx: RouteContext): ParsedDestinationRule | undefined {
  return ctx.drs.lookup(host, ctx.servicesByHost.get(host)?.namespace ?? ctx.proxyNamespace);
}

/** Routes for one VirtualService on `listenPort`; stops after a catch-all route as istiod does. */
export function buildVirtualServiceRoutes(vs: ParsedVirtualService, listenPort: number, ctx: RouteContext): Route[] {
  const out: Route[] = [];
  for (const rule of vs.http) {
    // A rule left without an action (delegate-only, or destinations that failed validation) routes nowhere.
    if (rule.route.length === 0 && !rule.redirect && !rule.directResponse) continue;
    let catchAll = false;
    if (rule.match.length === 0) {
      out.push(translateRoute(vs, rule, undefined, undefined, listenPort, ctx));
      catchAll = true;
    } else {
      for (let j = 0; j < rule.match.length; j++) {
        const m = rule.match[j] as ParsedMatch;
        if (!matchApplies(m, listenPort, ctx)) continue;
        const r = translateRoute(vs, rule, m, j, listenPort, ctx);
        out.push(r);
        if (isCatchAll(r)) {
          catchAll = true;
          break;
        }
      }
    }
    if (catchAll) break;
  }
  return out;
}

/** Port guard, then `gateways` (must name `mesh` for sidecars) or sourceLabels + sourceNamespace. */
function matchApplies(m: ParsedMatch, listenPort: number, ctx: RouteContext): boolean {
  if (m.port !== undefined && m.port !== listenPort) return false;
  if (m.gateways.length > 0) return m.gateways.includes("mesh");
  const labels = m.sourceLabels ?? {};
  if (!Object.entries(labels).every(([k, v]) => ctx.proxyLabels[k] === v)) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === ctx.proxyNamespace;
}

function isCatchAll(r: Route): boolean {
  const m = r.match;
  return m.prefix === "/" && m.headers.length === 0 && m.queryParameters.length === 0;
}

function routeName(vs: ParsedVirtualService, rule: ParsedHttpRoute, m: ParsedMatch | undefined): string {
  const base = rule.name ?? `${vs.ref.name}.http${rule.index}`;
  return m?.name ? `${base}.${m.name}` : base;
}

export function translateMatch(m: ParsedMatch | undefined): RouteMatch {
  const out: RouteMatch = { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] };
  if (!m) return out;
  const headers: HeaderMatcher[] = [];
  for (const h of m.headers) headers.push(h.match ? { name: h.name, stringMatch: h.match } : { name: h.name, presentMatch: true });
  for (const h of m.withoutHeaders) {
    headers.push(h.match ? { name: h.name, stringMatch: h.match, invertMatch: true } : { name: h.name, presentMatch: true, invertMatch: true });
  }
  headers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (m.uri) {
    delete out.prefix;
    if (m.uri.exact !== undefined) out.path = m.uri.exact;
    else if (m.uri.prefix !== undefined) out.prefix = m.uri.prefix;
    else if (m.uri.safeRegex !== undefined) out.safeRegex = m.uri.safeRegex;
  }
  out.caseSensitive = !m.ignoreUriCase;
  if (m.method) headers.push({ name: ":method", stringMatch: m.method });
  if (m.authority) headers.push({ name: ":authority", stringMatch: m.authority });
  if (m.scheme) headers.push({ name: ":scheme", stringMatch: m.scheme });
  out.headers = headers;
  out.queryParameters = m.queryParams.map((q): QueryParameterMatcher => (q.match ? { name: q.name, stringMatch: q.match } : { name: q.name, presentMatch: true }));
  return out;
}

/** istiod GetDestinationCluster: explicit port, else the service's only port, else the listener port. */
export function destinationCluster(d: ParsedDestination, listenPort: number, services: ReadonlyMap<string, MeshService>): string {
  let port = listenPort;
  const svc = services.get(d.host);
  if (d.port !== undefined) port = d.port;
  else if (svc && svc.ports.length === 1) port = (svc.ports[0] as { number: number }).number;
  return outboundClusterName(port, d.subset ?? "", d.host);
}

function translateRoute(vs: ParsedVirtualService, rule: ParsedHttpRoute, m: ParsedMatch | undefined, matchIndex: number | undefined, listenPort: number, ctx: RouteContext): Route {
  const route: Route = {
    name: routeName(vs, rule, m),
    match: translateMatch(m),
    requestHeadersToAdd: [...(rule.headers?.requestHeadersToAdd ?? [])],
    requestHeadersToRemove: [...(rule.headers?.requestHeadersToRemove ?? [])],
    responseHeadersToAdd: [...(rule.headers?.responseHeadersToAdd ?? [])],
    responseHeadersToRemove: [...(rule.headers?.responseHeadersToRemove ?? [])],
    source: `${vs.ref.namespace}/${vs.ref.name} http[${rule.index}]${matchIndex !== undefined ? ` match[${matchIndex}]` : ""}`,
  };
  // istiod leaves timeout and retries in place on faulted routes (the API note about them being
  // off applies to the fault's own synthetic responses, which are never retried).
  if (rule.fault) route.typedPerFilterConfig = { [HTTP_FAULT_FILTER]: structuredClone(rule.fault) };
  if (rule.cors) route.typedPerFilterConfig = { ...route.typedPerFilterConfig, [HTTP_CORS_FILTER]: structuredClone(rule.cors) };
  if (rule.redirect) {
    const rd = rule.redirect;
    const action: RedirectAction = { responseCode: rd.redirectCode as RedirectResponseCode };
    // istiod always maps redirect.uri to path_redirect (whole path) for VirtualServices.
    if (rd.uri !== undefined) action.pathRedirect = rd.uri;
    if (rd.authority !== undefined) action.hostRedirect = rd.authority;
    if (rd.scheme !== undefined) action.schemeRedirect = rd.scheme;
    let port: number | undefined;
    if (rd.port !== undefined) port = rd.port;
    else if (rd.derivePort === "FROM_REQUEST_PORT") {
      // Envoy cannot derive the port per request; istiod uses the listener port the route is built for.
      port = listenPort;
      action.derivePort = "FROM_REQUEST_PORT";
    } else if (rd.derivePort === "FROM_PROTOCOL_DEFAULT") action.derivePort = "FROM_PROTOCOL_DEFAULT";
    if (port !== undefined) {
      const scheme = rd.scheme ?? "http";
      // No explicit :80 / :443 for their own schemes.
      if (!((port === 80 && scheme === "http") || (port === 443 && scheme === "https"))) action.portRedirect = port;
    }
    route.redirect = action;
    return route;
  }
  if (rule.directResponse) {
    route.directResponse = { ...rule.directResponse };
    return route;
  }
  // istiod's setTimeout for sidecars: the deprecated max_grpc_timeout = the route timeout (0 = a
  // gRPC request's grpc-timeout header applies uncapped), not max_stream_duration ("regressions").
  const action: RouteAction = { timeoutMs: rule.timeoutMs ?? 0, maxGrpcTimeoutMs: rule.timeoutMs ?? 0 };
  if (rule.rewrite?.uriRegexRewrite) action.regexRewrite = { pattern: rule.rewrite.uriRegexRewrite.match, substitution: rule.rewrite.uriRegexRewrite.rewrite };
  else if (rule.rewrite?.uri !== undefined) action.prefixRewrite = rule.rewrite.uri;
  const authority = rule.rewrite?.authority ?? rule.headers?.authority;
  if (authority !== undefined) action.hostRewriteLiteral = authority;
  if (rule.mirrors.length > 0) {
    action.requestMirrorPolicies = rule.mirrors.map((m) => ({
      cluster: destinationCluster(m.destination, listenPort, ctx.servicesByHost),
      percentage: { ...m.percentage },
      disableShadowHostSuffixAppend: !ctx.mirrorShadowSuffix,
    }));
  }
  const hashPolicy: HashPolicy[] = [];
  const addHash = (d: ParsedDestination): boolean => {
    const hp = hashPolicyFor(consistentHashForDestination(destinationRuleFor(d.host, ctx), d));
    if (hp) hashPolicy.push(hp);
    return hp !== undefined;
  };
  // istiod keeps the previous-hosts retry predicate on weighted routes even when they hash.
  let consistentHash = false;
  if (rule.route.length === 1) {
    const d = rule.route[0] as (typeof rule.route)[number];
    action.cluster = destinationCluster(d.destination, listenPort, ctx.servicesByHost);
    if (d.headers) {
      route.requestHeadersToAdd.push(...d.headers.requestHeadersToAdd);
      route.requestHeadersToRemove.push(...d.headers.requestHeadersToRemove);
      route.responseHeadersToAdd.push(...d.headers.responseHeadersToAdd);
      route.responseHeadersToRemove.push(...d.headers.responseHeadersToRemove);
      if (d.headers.authority !== undefined && action.hostRewriteLiteral === undefined) action.hostRewriteLiteral = d.headers.authority;
    }
    consistentHash = addHash(d.destination);
  } else {
    const weighted: WeightedCluster[] = [];
    for (const d of rule.route) {
      // istiod drops zero-weight destinations when there are several.
      if (d.weight === 0) continue;
      weighted.push({
        name: destinationCluster(d.destination, listenPort, ctx.servicesByHost),
        weight: d.weight,
        requestHeadersToAdd: [...(d.headers?.requestHeadersToAdd ?? [])],
        requestHeadersToRemove: [...(d.headers?.requestHeadersToRemove ?? [])],
        responseHeadersToAdd: [...(d.headers?.responseHeadersToAdd ?? [])],
        responseHeadersToRemove: [...(d.headers?.responseHeadersToRemove ?? [])],
      });
      addHash(d.destination);
    }
    action.weightedClusters = weighted;
  }
  if (hashPolicy.length > 0) action.hashPolicy = hashPolicy;
  const retryPolicy = convertRetryPolicy(rule.retries, consistentHash);
  if (retryPolicy) action.retryPolicy = retryPolicy;
  route.route = action;
  return route;
}

/**
 * istiod's default route for a service without a VirtualService: no timeout (max_grpc_timeout 0s:
 * grpc-timeout applies), the default retry policy (previous-hosts predicate kept, as istiod does),
 * and the DR's hash policy for the port.
 */
export function defaultRoute(cluster: string, hashPolicy?: HashPolicy): Route {
  const action: RouteAction = { cluster, timeoutMs: 0, retryPolicy: convertRetryPolicy(undefined, false) as NonNullable<RouteAction["retryPolicy"]>, maxGrpcTimeoutMs: 0 };
  if (hashPolicy) action.hashPolicy = [hashPolicy];
  return {
    name: "default",
    match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [] },
    route: action,
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
  };
}
