// The per-port chains of virtualInbound, as istiod builds them for the workload's inbound ports
// (the Sidecar's `ingress` ports, else the ports of the ServiceEntries that select this workload): `0.0.0.0_<port>` matched on the original destination port.
// HTTP ports → the inbound HCM on `inbound|<port>||`; TCP/TLS ports → tcp_proxy; ports with no
// protocol are sniffed (an HTTP chain on ALPN http/1.1 / h2c beside the TCP one). The cluster
// `inbound|<port>||` reaches the app at its original destination from 127.0.0.6 (ORIGINAL_DST),
// or the ingress `defaultEndpoint` (STATIC), as istiod's buildInboundClusters does.

import { httpFilterChain, tcpProxyFilterChain } from "../model/listener-defaults.js";
import type { Cluster, FilterChain, RouteConfiguration } from "../model/types.js";
import { inboundCluster, inboundClusterName, inboundRouteConfig } from "./listener-builder.js";
import type { ParsedServiceEntry, ParsedSidecarIngress } from "./parsed-config.js";
import { listenerProtocol, portProtocol } from "./protocol.js";
import { labelsMatch } from "./workload-selector.js";
import { inboundPassthroughBind, PLAINTEXT_HTTP_ALPNS, tcpProxyTo, type InboundChains } from "./virtual-listeners.js";

export interface InterceptInbound extends InboundChains {
  clusters: Cluster[];
  routeConfigs: RouteConfiguration[];
  /** Ingress ports with no listener protocol (UDP): skipped, with the reason. */
  skipped: Array<{ ingress: ParsedSidecarIngress; reason: string }>;
}

/** `inbound|<port>||` for an intercepting sidecar: STATIC to the defaultEndpoint, else ORIGINAL_DST from 127.0.0.6. */
export function interceptedInboundCluster(ing: ParsedSidecarIngress, dualStack = false): Cluster {
  if (ing.defaultEndpoint !== undefined) return inboundCluster(ing);
  const c = inboundCluster(ing);
  // istiod: no endpoint address = ORIGINAL_DST to the pod's own IP, bound to 127.0.0.6 so iptables lets it through.
  return { ...c, type: "ORIGINAL_DST", lbPolicy: "CLUSTER_PROVIDED", loadAssignment: { endpoints: [] }, upstreamBindConfig: inboundPassthroughBind(dualStack) };
}

export function buildInterceptInbound(ingress: readonly ParsedSidecarIngress[], dualStack = false): InterceptInbound {
  const out: InterceptInbound = { chains: [], declaredPorts: [], clusters: [], routeConfigs: [], skipped: [] };
  for (const ing of [...ingress].sort((a, b) => a.port.number - b.port.number)) {
    const port = ing.port.number;
    const declared = portProtocol(ing.port.protocol, ing.port.name);
    const proto = listenerProtocol(declared);
    if (proto === "NONE") {
      out.skipped.push({ ingress: ing, reason: `${ing.port.protocol ?? ""} is not supported` });
      continue;
    }
    const name = `0.0.0.0_${port}`;
    const clusterName = inboundClusterName(port);
    out.clusters.push(interceptedInboundCluster(ing, dualStack));
    const httpChain = (): FilterChain => {
      const c = httpFilterChain(name, `inbound_${name}`, clusterName);
      out.routeConfigs.push(inboundRouteConfig(clusterName, `inbound|http|${port}`, clusterName, declared));
      return c;
    };
    const tcpChain = (): FilterChain => tcpProxyFilterChain(name, tcpProxyTo(clusterName));
    if (proto === "HTTP") {
      const c = httpChain();
      c.filterChainMatch = { destinationPort: port, transportProtocol: "raw_buffer" };
      out.chains.push(c);
      out.declaredPorts.push(port);
    } else if (proto === "TCP") {
      const c = tcpChain();
      c.filterChainMatch = { destinationPort: port };
      out.chains.push(c);
      out.declaredPorts.push(port);
    } else {
      const h = httpChain();
      h.filterChainMatch = { destinationPort: port, transportProtocol: "raw_buffer", applicationProtocols: [...PLAINTEXT_HTTP_ALPNS] };
      const t = tcpChain();
      t.filterChainMatch = { destinationPort: port, transportProtocol: "raw_buffer" };
      out.chains.push(h, t);
    }
  }
  return out;
}

/**
 * The workload's inbound ports when no Sidecar declares `ingress`: the ports of the ServiceEntries
 * in its namespace whose `workloadSelector` selects its labels (istiod's service targets), on the
 * endpoint port (`targetPort`, else the port). The protocol is the ServiceEntry port's (no name
 * inference: the name is left out). The first service to declare a port wins.
 */
export function inboundPortsFromServiceEntries(entries: readonly ParsedServiceEntry[], namespace: string, proxyLabels: Record<string, string>): ParsedSidecarIngress[] {
  const out: ParsedSidecarIngress[] = [];
  for (const se of entries) {
    if (se.ref.namespace !== namespace || se.workloadSelector === undefined || !labelsMatch(se.workloadSelector, proxyLabels)) continue;
    for (const p of se.ports) {
      const number = p.targetPort ?? p.number;
      if (out.some((i) => i.port.number === number)) continue;
      out.push({ index: -1, port: { number, protocol: p.protocol, name: undefined }, bind: "0.0.0.0" });
    }
  }
  return out;
}
