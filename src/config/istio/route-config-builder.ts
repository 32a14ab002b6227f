// Outbound RouteConfigurations as istiod builds them for a sidecar: per HTTP port ("9080") and
// the merged one for the default outbound (HTTP proxy) listener. Services without a covering
// VirtualService get a default virtual host; a VirtualService replaces it for the hosts it covers.

import type { RouteConfiguration, VirtualHost } from "../model/types.js";
import { hostCoveredBy } from "./host-name.js";
import type { ParsedVirtualService } from "./parsed-config.js";
import { isHttpOrSniffed } from "./protocol.js";
import { hashPolicyFor, consistentHashForService } from "./hash-policy.js";
import { buildVirtualServiceRoutes, defaultRoute, destinationRuleFor, type RouteContext } from "./route-builder.js";
import { outboundClusterName } from "./cluster-builder.js";
import type { MeshService } from "./service-registry.js";
import { plainDomains, serviceDomains } from "./virtual-host-domains.js";

export interface RouteConfigInput {
  /** Services imported by the listener (already filtered by exportTo and Sidecar egress hosts). */
  services: MeshService[];
  /** VirtualServices imported by the listener and bound to `mesh`, in config order. */
  virtualServices: ParsedVirtualService[];
  ctx: RouteContext;
  domainSuffix: string;
}

type DomainMode = (svc: MeshService | undefined, port: number) => { withPort: boolean; withoutPort: boolean };

/** The service's ports that HTTP route configurations carry: HTTP ones and sniffed ones (istiod IsHTTPOrSniffed). */
export function httpPorts(svc: MeshService): number[] {
  return svc.ports.filter((p) => isHttpOrSniffed(p.protocol)).map((p) => p.number);
}

/** Route configuration "P" for one HTTP port: full domain forms (with and without port). */
export function buildPortRouteConfig(name: string, port: number, input: RouteConfigInput): RouteConfiguration {
  const state = new DedupeState();
  const virtualHosts = buildVirtualHostsForPort(port, input, () => ({ withPort: true, withoutPort: true }), state);
  return { name, virtualHosts };
}

/**
 * The default outbound listener's route configuration: every service on every HTTP port with
 * port-qualified domains; the portless forms go to port 80 if the service has it, else to its
 * only HTTP port when it has exactly one (a client without a port in Host cannot be told apart otherwise).
 */
export function buildHttpProxyRouteConfig(name: string, input: RouteConfigInput): RouteConfiguration {
  const ports = new Set<number>();
  for (const s of input.services) for (const p of httpPorts(s)) ports.add(p);
  if (input.virtualServices.length > 0) ports.add(80);
  const mode: DomainMode = (svc, port) => {
    if (!svc) return { withPort: true, withoutPort: port === 80 };
    const hp = httpPorts(svc);
    const bare = hp.includes(80) ? port === 80 : hp.length === 1 && hp[0] === port;
    return { withPort: true, withoutPort: bare };
  };
  const state = new DedupeState();
  const virtualHosts: VirtualHost[] = [];
  for (const port of [...ports].sort((a, b) => a - b)) virtualHosts.push(...buildVirtualHostsForPort(port, input, mode, state));
  return { name, virtualHosts };
}

class DedupeState {
  readonly names = new Set<string>();
  readonly domains = new Set<string>();

  take(name: string, domains: string[]): string[] | undefined {
    if (this.names.has(name)) return undefined;
    this.names.add(name);
    const kept = domains.filter((d) => {
      if (this.domains.has(d)) return false;
      this.domains.add(d);
      return true;
    });
    return kept.length > 0 ? kept : undefined;
  }
}

function buildVirtualHostsForPort(port: number, input: RouteConfigInput, mode: DomainMode, state: DedupeState): VirtualHost[] {
  const { ctx, domainSuffix } = input;
  const services = input.services.filter((s) => httpPorts(s).includes(port));
  // istiod keeps only VirtualServices that match a service on this port, except on port 80.
  const vss = port === 80 ? input.virtualServices : input.virtualServices.filter((vs) => services.some((s) => vs.hosts.some((h) => hostCoveredBy(s.hostname, h))));

  // Each service goes to the VirtualService with an exact host, else the most specific wildcard.
  const owner = new Map<MeshService, ParsedVirtualService>();
  for (const s of services) {
    const exact = vss.find((vs) => vs.hosts.includes(s.hostname));
    if (exact) {
      owner.set(s, exact);
      continue;
    }
    let best: { vs: ParsedVirtualService; len: number } | undefined;
    for (const vs of vss) {
      for (const h of vs.hosts) {
        if (h.startsWith("*") && hostCoveredBy(s.hostname, h) && (!best || h.length > best.len)) best = { vs, len: h.length };
      }
    }
    if (best) owner.set(s, best.vs);
  }

  const out: VirtualHost[] = [];
  const covered = new Set<MeshService>();
  const domainOpts = (svc: MeshService | undefined) => ({ proxyNamespace: ctx.proxyNamespace, domainSuffix, ...mode(svc, port) });
  for (const vs of vss) {
    const routes = buildVirtualServiceRoutes(vs, port, ctx);
    if (routes.length === 0) continue;
    const mine = services.filter((s) => owner.get(s) === vs);
    const nonRegistry = vs.hosts.filter((h) => !input.services.some((s) => (h.startsWith("*") ? hostCoveredBy(s.hostname, h) : s.hostname === h)));
    if (mine.length > 0 || port === 80) {
      for (const h of nonRegistry) {
        const domains = state.take(`${h}:${port}`, plainDomains(h, port, mode(undefined, port)));
        if (domains) out.push({ name: `${h}:${port}`, domains, routes });
      }
    }
    for (const s of mine) {
      covered.add(s);
      const domains = state.take(`${s.hostname}:${port}`, serviceDomains(s.hostname, s.addresses, port, domainOpts(s)));
      if (domains) out.push({ name: `${s.hostname}:${port}`, domains, routes });
    }
  }
  for (const s of services) {
    if (covered.has(s)) continue;
    const domains = state.take(`${s.hostname}:${port}`, serviceDomains(s.hostname, s.addresses, port, domainOpts(s)));
    if (!domains) continue;
    const hash = hashPolicyFor(consistentHashForService(destinationRuleFor(s.hostname, ctx), port));
    out.push({ name: `${s.hostname}:${port}`, domains, routes: [defaultRoute(outboundClusterName(port, "", s.hostname), hash)] });
  }
  return out;
}
