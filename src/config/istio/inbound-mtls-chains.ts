// The inbound filter chains of one port (or of the passthrough) per effective mTLS mode, as
// istiod's getFilterChainMatchOptions builds them (pilot/pkg/networking/core/filterchain_options.go):
// translation first builds the plaintext chains (an HCM chain, a tcp_proxy chain, or both for a
// sniffed port); this module turns them into the mode's chains — mTLS chains matched on
// `transportProtocol: tls` + Istio's ALPNs with a DownstreamTlsContext, plaintext chains on
// `raw_buffer`, and under PERMISSIVE a TLS chain without termination (other TLS passes through).

import type { MeshTlsConfig } from "./mesh-tls-config.js";
import { HTTP_CONNECTION_MANAGER, TCP_PROXY, type FilterChain, type FilterChainMatch, type Listener } from "../model/types.js";
import { inboundTlsContext } from "./inbound-tls-context.js";
import { DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS } from "./interception.js";
import { PLAINTEXT_HTTP_ALPNS } from "./virtual-listeners.js";

/** What the chains of a port are built for: STRICT / PERMISSIVE with a certificate, or plaintext. */
export type ChainMode = "STRICT" | "PERMISSIVE" | "DISABLE";

/** istiod mtlsHTTPALPNs: what Envoy (the istio.alpn filter) offers for HTTP over mTLS. */
export const MTLS_HTTP_ALPNS = ["istio-http/1.0", "istio-http/1.1", "istio-h2"];
/** istiod allIstioMtlsALPNs: a port with a declared protocol takes every Istio ALPN. */
export const ALL_ISTIO_MTLS_ALPNS = ["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"];
/** istiod mtlsTCPWithMxcALPNs. */
export const MTLS_TCP_ALPNS = ["istio-peer-exchange", "istio"];

interface ChainOption {
  protocol: "HTTP" | "TCP";
  transportProtocol: "tls" | "raw_buffer";
  alpn?: readonly string[];
  /** Terminate mTLS on this chain. */
  tls?: true;
}

const tlsHttp = (alpn?: readonly string[]): ChainOption => ({ protocol: "HTTP", transportProtocol: "tls", ...(alpn ? { alpn } : {}), tls: true });
const tlsTcp = (alpn?: readonly string[]): ChainOption => ({ protocol: "TCP", transportProtocol: "tls", ...(alpn ? { alpn } : {}), tls: true });
const rawHttp = (alpn?: readonly string[]): ChainOption => ({ protocol: "HTTP", transportProtocol: "raw_buffer", ...(alpn ? { alpn } : {}) });
const rawTcp: ChainOption = { protocol: "TCP", transportProtocol: "raw_buffer" };
const tlsPassthrough: ChainOption = { protocol: "TCP", transportProtocol: "tls" };

/** istiod getFilterChainMatchOptions, option for option and in its order. */
export function chainOptions(mode: ChainMode, protocol: "HTTP" | "TCP" | "AUTO"): ChainOption[] {
  if (protocol === "HTTP") {
    if (mode === "STRICT") return [tlsHttp()];
    if (mode === "PERMISSIVE") return [tlsHttp(ALL_ISTIO_MTLS_ALPNS), rawHttp()];
    return [rawHttp()];
  }
  if (protocol === "AUTO") {
    if (mode === "STRICT") return [tlsHttp(MTLS_HTTP_ALPNS), tlsTcp()];
    if (mode === "PERMISSIVE") return [tlsHttp(MTLS_HTTP_ALPNS), rawHttp(PLAINTEXT_HTTP_ALPNS), tlsTcp(MTLS_TCP_ALPNS), rawTcp, tlsPassthrough];
    return [rawHttp(PLAINTEXT_HTTP_ALPNS), rawTcp];
  }
  if (mode === "STRICT") return [tlsTcp()];
  if (mode === "PERMISSIVE") return [tlsTcp(ALL_ISTIO_MTLS_ALPNS), tlsPassthrough, rawTcp];
  return [rawTcp];
}

/** The plaintext chains translation built for one port (or the passthrough). */
export interface PortChains {
  http?: FilterChain;
  tcp?: FilterChain;
}

export function chainProtocol(c: PortChains): "HTTP" | "TCP" | "AUTO" {
  return c.http && c.tcp ? "AUTO" : c.http ? "HTTP" : "TCP";
}

export function isHttpChain(c: FilterChain): boolean {
  return c.filters.some((f) => f.name === HTTP_CONNECTION_MANAGER);
}

export function isTcpChain(c: FilterChain): boolean {
  return c.filters.some((f) => f.name === TCP_PROXY);
}

/**
 * The chains for `mode`, cloned from the plaintext templates. `base` is the port's own match
 * (destination port, prefix ranges); transport protocol and ALPN come from the option.
 */
export function buildModeChains(templates: PortChains, mode: ChainMode, base: FilterChainMatch, trustDomain: string, meshMtls?: MeshTlsConfig): FilterChain[] {
  const out: FilterChain[] = [];
  for (const opt of chainOptions(mode, chainProtocol(templates))) {
    const t = opt.protocol === "HTTP" ? templates.http : templates.tcp;
    if (t === undefined) continue;
    const match: FilterChainMatch = { ...base, transportProtocol: opt.transportProtocol };
    if (opt.alpn) match.applicationProtocols = [...opt.alpn];
    const chain: FilterChain = { name: t.name, filterChainMatch: match, filters: structuredClone(t.filters) };
    if (opt.tls) chain.transportSocket = { name: "envoy.transport_sockets.tls", typedConfig: inboundTlsContext(opt.protocol, trustDomain, meshMtls) };
    out.push(chain);
  }
  return out;
}

/** istiod sets these on every inbound HCM (plaintext chains too: XFCC from the sidecar's peer). */
export function setInboundClientCertDetails(chains: FilterChain[]): void {
  for (const c of chains) {
    for (const f of c.filters) {
      if (f.name !== HTTP_CONNECTION_MANAGER) continue;
      f.typedConfig.forwardClientCertDetails = "APPEND_FORWARD";
      f.typedConfig.setCurrentClientCertDetails = { subject: true, dns: true, uri: true };
    }
  }
}

/** A standalone inbound listener needs the tls_inspector once a chain matches `tls`. */
export function ensureTlsInspector(l: Listener): void {
  if (!l.filterChains.some((c) => c.filterChainMatch.transportProtocol === "tls")) return;
  if (l.listenerFilters.some((f) => f.name === "envoy.filters.listener.tls_inspector")) return;
  // Before http_inspector, as istiod orders them (TLS must be known before HTTP is sniffed).
  const http = l.listenerFilters.findIndex((f) => f.name === "envoy.filters.listener.http_inspector");
  l.listenerFilters.splice(http < 0 ? l.listenerFilters.length : http, 0, { name: "envoy.filters.listener.tls_inspector" });
  // As on virtualInbound (istiod: protocolDetectionTimeout, continue): a server-first client that
  // sends nothing goes on as plaintext instead of waiting for Envoy's 15 s and being closed.
  if (l.listenerFiltersTimeoutMs === undefined) {
    l.listenerFiltersTimeoutMs = DEFAULT_PROTOCOL_DETECTION_TIMEOUT_MS;
    l.continueOnListenerFiltersTimeout = true;
  }
}
