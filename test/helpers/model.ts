// Reading the model in tests: the HTTP connection manager of a listener's (first) filter chain.

import { httpConnectionManagerOf } from "../../src/config/model/listener-defaults.js";
import type { HttpConnectionManager, Listener } from "../../src/config/model/types.js";

export function hcmOfListener(l: Listener): HttpConnectionManager {
  const chain = l.filterChains[0];
  const hcm = chain === undefined ? undefined : httpConnectionManagerOf(chain);
  if (hcm === undefined) throw new Error(`listener ${l.name} has no HTTP connection manager`);
  return hcm;
}

/** The HTTP filters istiod gives every sidecar connection manager (the ones Outrigger runs). */
export function istioHttpFilters(direction: "INBOUND" | "OUTBOUND"): HttpConnectionManager["httpFilters"] {
  return [
    { name: "istio.metadata_exchange", typedConfig: { removeHeaders: true } },
    { name: "envoy.filters.http.fault" },
    { name: "envoy.filters.http.cors" },
    { name: "istio.stats", typedConfig: { reporter: direction === "INBOUND" ? "destination" : "source", metrics: [] } },
    { name: "envoy.filters.http.router" },
  ];
}

/** The `istio.stats` config istiod puts before a tcp_proxy. */
export function istioTcpStats(direction: "INBOUND" | "OUTBOUND"): { reporter: "source" | "destination"; metrics: [] } {
  return { reporter: direction === "INBOUND" ? "destination" : "source", metrics: [] };
}
