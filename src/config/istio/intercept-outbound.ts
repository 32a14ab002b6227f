// The per-port outbound listeners istiod builds for an intercepting sidecar (buildSidecarOutbound
// Listener): not bound (bindToPort false) — virtualOutbound hands each connection over by its
// original destination. HTTP ports share `0.0.0.0_<port>` (HCM on RDS "<port>" for plaintext HTTP
// as http_inspector sees it, PassthroughFilterChain for anything else); TCP ports listen on the
// service's address (`<VIP>_<port>`, or 0.0.0.0 with a destination-prefix match for a CIDR) with
// tcp_proxy chains from `tcp[]` routes; TLS ports route by SNI from `tls[]` routes; ports with no
// protocol are sniffed (the TCP chains plus an HTTP chain on ALPN http/1.1 / h2c).

import { httpFilterChain } from "../model/listener-defaults.js";
import { TCP_PROXY, type CidrRange, type FilterChain, type FilterChainMatch, type Listener, type ListenerFilterConfig, type NetworkFilter, type TcpProxy } from "../model/types.js";
import { hostsMatch, isIpv6 } from "./host-name.js";
import type { ParsedL4Match, ParsedRouteDestination, ParsedTlsMatch, ParsedVirtualService } from "./parsed-config.js";
import { isTlsProtocol, listenerProtocol } from "./protocol.js";
import type { MeshService } from "./service-registry.js";
import { defaultTcpProxy, fromRoutes, matchesTcp, type TcpRouteContext } from "./tcp-listener-builder.js";
import { PASSTHROUGH_FILTER_CHAIN, PLAINTEXT_HTTP_ALPNS, tcpProxyTo } from "./virtual-listeners.js";

const WILDCARD = "0.0.0.0";

/** istiod filterChainOpts: the match criteria of one chain and its terminal filter. */
interface ChainOpts {
  sniHosts: string[];
  cidrs: string[];
  applicationProtocols: string[];
  transportProtocol: string;
  /** tcp_proxy config, or an HCM on this RDS name. */
  tcp?: TcpProxy;
  rds?: string;
}

interface Entry {
  bind: string;
  port: number;
  /** HTTP ports on 0.0.0.0 become sniffed listeners at once (istiod sets protocol Unsupported). */
  protocol: "TCP" | "AUTO";
  chains: ChainOpts[];
}

export interface InterceptOutboundInput {
  /** Services this sidecar imports (exportTo, Sidecar egress hosts). */
  services: readonly MeshService[];
  /** Imported VirtualServices bound to `mesh`, in config order. */
  virtualServices: readonly ParsedVirtualService[];
  tcpCtx: TcpRouteContext;
  /** tcp_proxy cluster of PassthroughFilterChain: PassthroughCluster or BlackHoleCluster. */
  fallthroughCluster: string;
  /** MeshConfig protocolDetectionTimeout for sniffed ports (0 = none). */
  protocolDetectionTimeoutMs: number;
  /** Dual stack: `0.0.0.0_<port>` listeners also take `::` (istiod le.bind.Extra()). */
  wildcardExtra?: Array<{ address: string }>;
}

export interface InterceptOutbound {
  listeners: Listener[];
  /** Route configurations `<host>:<port>` for sniffed ports on a service address (one service each). */
  serviceRoutes: Array<{ name: string; port: number; service: MeshService }>;
}

/** istiod GetAddressForProxy for a ServiceEntry: its first address, 0.0.0.0 without one. */
function listenAddress(svc: MeshService): { bind: string; cidrs: string[] } {
  const a = svc.addresses[0];
  if (a === undefined) return { bind: WILDCARD, cidrs: [] };
  if (!a.includes("/")) return { bind: a, cidrs: [] };
  // A /32 (or /128) is one address: a dedicated listener, as istiod does.
  const [ip, len] = a.split("/") as [string, string];
  if ((isIpv6(ip) && len === "128") || (!isIpv6(ip) && len === "32")) return { bind: ip, cidrs: [] };
  return { bind: WILDCARD, cidrs: [a] };
}

function tcpChain(cidrs: string[], tcp: TcpProxy, sniHosts: string[] = []): ChainOpts {
  return { sniHosts, cidrs, applicationProtocols: [], transportProtocol: "", tcp };
}

function routesProxy(routes: ParsedRouteDestination[], port: number, vs: ParsedVirtualService, ctx: TcpRouteContext): TcpProxy {
  return fromRoutes(routes, port, vs, ctx);
}

function vssFor(svc: MeshService, vss: readonly ParsedVirtualService[]): ParsedVirtualService[] {
  return vss.filter((vs) => vs.hosts.some((h) => hostsMatch(h, svc.hostname)));
}

/** istiod buildSidecarOutboundTCPFilterChainOpts: `tcp[]` rules in order; destinationSubnets become prefix matches. */
function tcpChains(svc: MeshService, port: number, cidrs: string[], vss: ParsedVirtualService[], ctx: TcpRouteContext): ChainOpts[] {
  const out: ChainOpts[] = [];
  const applies = (m: ParsedL4Match): boolean => matchesTcp(m, port, ctx);
  for (const vs of vss) {
    for (const rule of vs.tcp) {
      if (rule.route.length === 0) continue;
      if (rule.match.length === 0) return [...out, tcpChain(cidrs, routesProxy(rule.route, port, vs, ctx))];
      const subnets: string[] = [];
      for (const m of rule.match) {
        if (!applies(m)) continue;
        if (m.destinationSubnets.length === 0) return [...out, tcpChain(cidrs, routesProxy(rule.route, port, vs, ctx))];
        subnets.push(...m.destinationSubnets);
      }
      if (subnets.length > 0) {
        out.push(tcpChain(subnets, routesProxy(rule.route, port, vs, ctx)));
        // The rule's subnets are the listener's own: nothing is left for the default route.
        if (sameSet(subnets, cidrs)) return out;
      }
    }
  }
  return [...out, tcpChain(cidrs, defaultTcpProxy(svc, port, ctx))];
}

/** istiod buildSidecarOutboundTLSFilterChainOpts: one chain per distinct (SNI hosts, subnets) of the matching `tls[]` rules. */
function tlsChains(svc: MeshService, port: number, bind: string, cidrs: string[], vss: ParsedVirtualService[], ctx: TcpRouteContext): ChainOpts[] {
  const out: ChainOpts[] = [];
  const handled = new Set<string>();
  for (const vs of vss) {
    for (const rule of vs.tls) {
      if (rule.route.length === 0) continue;
      for (const m of rule.match) {
        if (!matchesTcp(m, port, ctx)) continue;
        const key = tlsMatchKey(m);
        if (handled.has(key)) continue;
        handled.add(key);
        out.push(tcpChain(m.destinationSubnets.length > 0 ? m.destinationSubnets : cidrs, routesProxy(rule.route, port, vs, ctx), m.sniHosts));
      }
    }
  }
  if (out.length > 0) return out;
  // No tls[] rule: the service itself, by SNI when the listener is shared (no own address).
  const addr = svc.addresses[0];
  const shared = cidrs.length > 0 || addr === undefined || (addr === WILDCARD && bind === WILDCARD);
  return [tcpChain(cidrs, defaultTcpProxy(svc, port, ctx), shared ? [svc.hostname] : [])];
}

function tlsMatchKey(m: ParsedTlsMatch): string {
  return `${m.sniHosts.join(",")}|${m.destinationSubnets.join(",")}`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** istiod filterChainOpts.conflictsWith: the same criteria (SNI and CIDR sets, `*` and 0.0.0.0 ignored). */
function conflicts(a: ChainOpts, b: ChainOpts): boolean {
  if (a.transportProtocol !== b.transportProtocol) return false;
  if (a.applicationProtocols.join(",") !== b.applicationProtocols.join(",")) return false;
  if (!sameSet(a.sniHosts.filter((s) => s !== "*"), b.sniHosts.filter((s) => s !== "*"))) return false;
  const cidr = (c: string[]): string[] => c.filter((x) => !x.startsWith(`${WILDCARD}/`) && x !== WILDCARD);
  return sameSet(cidr(a.cidrs), cidr(b.cidrs));
}

function merge(entry: Entry, incoming: ChainOpts[]): void {
  for (const c of incoming) if (!entry.chains.some((e) => conflicts(e, c))) entry.chains.push(c);
}

function isMatchAll(c: ChainOpts): boolean {
  return (c.sniHosts.length === 0 || c.sniHosts.includes("*")) && c.applicationProtocols.length === 0 && c.transportProtocol === "" && c.cidrs.length === 0;
}

function cidrRange(s: string): CidrRange {
  const [ip, len] = s.split("/") as [string, string | undefined];
  return { addressPrefix: ip, prefixLen: len !== undefined ? Number(len) : isIpv6(ip) ? 128 : 32 };
}

/** istiod toFilterChainMatch: SNI names and CIDRs sorted, 0.0.0.0 prefixes dropped. */
function chainMatch(c: ChainOpts): FilterChainMatch {
  const m: FilterChainMatch = {};
  if (c.sniHosts.length > 0 && !c.sniHosts.includes("*")) m.serverNames = [...c.sniHosts].sort();
  const ranges = [...c.cidrs].sort().map(cidrRange).filter((r) => r.addressPrefix !== WILDCARD);
  if (ranges.length > 0) m.prefixRanges = ranges;
  if (c.transportProtocol !== "") m.transportProtocol = c.transportProtocol;
  if (c.applicationProtocols.length > 0) m.applicationProtocols = [...c.applicationProtocols];
  return m;
}

function toChain(c: ChainOpts, name: string, listenerName: string): FilterChain {
  if (c.rds !== undefined) return httpFilterChain(name, `outbound_${listenerName}`, c.rds);
  const filter: NetworkFilter = { name: TCP_PROXY, typedConfig: c.tcp! };
  return { name, filterChainMatch: {}, filters: [filter] };
}

/** istiod buildListenerFromEntry. Chains get names (istiod leaves them empty): names key in-place updates. */
function toListener(e: Entry, fallthroughCluster: string, protocolDetectionTimeoutMs: number, wildcardExtra: Array<{ address: string }> | undefined): Listener {
  const name = `${e.bind}_${e.port}`;
  const listenerFilters: ListenerFilterConfig[] = [];
  if (e.chains.some((c) => c.sniHosts.length > 0)) listenerFilters.push({ name: "envoy.filters.listener.tls_inspector" });
  if (e.chains.some((c) => c.applicationProtocols.length > 0)) listenerFilters.push({ name: "envoy.filters.listener.http_inspector" });
  const filterChains: FilterChain[] = [];
  let defaultFilterChain: FilterChain | undefined;
  e.chains.forEach((c, i) => {
    const chain = toChain(c, i === 0 ? `outbound_${name}` : `outbound_${name}_${i}`, name);
    if (isMatchAll(c)) defaultFilterChain = chain;
    else {
      chain.filterChainMatch = chainMatch(c);
      filterChains.push(chain);
    }
  });
  const l: Listener = {
    name,
    address: e.bind,
    port: e.port,
    trafficDirection: "OUTBOUND",
    bindToPort: false,
    listenerFilters,
    // MeshConfig protocolDetectionTimeout, then continue (see DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS).
    listenerFiltersTimeoutMs: protocolDetectionTimeoutMs,
    continueOnListenerFiltersTimeout: true,
    filterChains,
  };
  if (e.bind === WILDCARD && wildcardExtra !== undefined) l.additionalAddresses = wildcardExtra.map((a) => ({ ...a }));
  if (defaultFilterChain !== undefined && filterChains.length === 0) l.filterChains = [defaultFilterChain];
  else if (defaultFilterChain !== undefined) l.defaultFilterChain = defaultFilterChain;
  else l.defaultFilterChain = { name: PASSTHROUGH_FILTER_CHAIN, filterChainMatch: {}, filters: [{ name: TCP_PROXY, typedConfig: tcpProxyTo(fallthroughCluster) }] };
  return l;
}

export function buildInterceptOutbound(input: InterceptOutboundInput): InterceptOutbound {
  const entries = new Map<string, Entry>();
  const serviceRoutes: InterceptOutbound["serviceRoutes"] = [];
  const ctx = input.tcpCtx;
  for (const svc of input.services) {
    const vss = vssFor(svc, input.virtualServices);
    for (const port of svc.ports) {
      const proto = listenerProtocol(port.protocol);
      if (proto === "NONE") continue;
      const n = port.number;
      if (proto === "HTTP") {
        const key = `${WILDCARD}:${n}`;
        const httpChain: ChainOpts = { sniHosts: [], cidrs: [], applicationProtocols: [...PLAINTEXT_HTTP_ALPNS], transportProtocol: "raw_buffer", rds: String(n) };
        const cur = entries.get(key);
        if (cur === undefined) entries.set(key, { bind: WILDCARD, port: n, protocol: "AUTO", chains: [httpChain] });
        else if (cur.protocol === "TCP") {
          merge(cur, [httpChain]);
          cur.protocol = "AUTO";
        }
        continue;
      }
      const { bind, cidrs } = listenAddress(svc);
      const key = `${bind}:${n}`;
      const tcp = isTlsProtocol(port.protocol) ? tlsChains(svc, n, bind, cidrs, vss, ctx) : tcpChains(svc, n, cidrs, vss, ctx);
      const cur = entries.get(key);
      if (proto === "TCP") {
        if (cur === undefined) entries.set(key, { bind, port: n, protocol: "TCP", chains: tcp });
        else merge(cur, tcp);
        continue;
      }
      // Sniffed: the TCP chains and an HTTP chain chosen by http_inspector.
      const rds = bind === WILDCARD ? String(n) : `${svc.hostname}:${n}`;
      const httpChain: ChainOpts = { sniHosts: [], cidrs: [], applicationProtocols: [...PLAINTEXT_HTTP_ALPNS], transportProtocol: "raw_buffer", rds };
      if (cur === undefined) entries.set(key, { bind, port: n, protocol: "AUTO", chains: [...tcp, httpChain] });
      else if (cur.protocol === "TCP") {
        merge(cur, [...tcp, httpChain]);
        cur.protocol = "AUTO";
      } else merge(cur, tcp);
      if (rds !== String(n) && !serviceRoutes.some((s) => s.name === rds)) serviceRoutes.push({ name: rds, port: n, service: svc });
    }
  }
  const listeners = [...entries.values()].map((e) => toListener(e, input.fallthroughCluster, input.protocolDetectionTimeoutMs, input.wildcardExtra));
  return { listeners, serviceRoutes };
}
