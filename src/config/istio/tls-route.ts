// VirtualService `tls[]` rules (TLS passthrough routed by SNI) with istiod's validation
// (validateTLSRoute, validateTLSMatch): at least one match, SNI hosts required and covered by the
// VirtualService's hosts, destination subnets, port, source labels/namespace, gateways.

import type { FieldPath } from "./doc-issues.js";
import { hostsMatch } from "./host-name.js";
import { checkWildcardDomain } from "./name-rules.js";
import type { ParsedTlsMatch, ParsedTlsRoute } from "./parsed-config.js";
import type { SpecReader } from "./spec-reader.js";
import { parseL4MatchFields, parseL4RouteDestinations } from "./tcp-route.js";
import type { VirtualServiceContext } from "./virtual-service.js";

const TLS_ROUTE_FIELDS = ["match", "route"] as const;
const TLS_MATCH_FIELDS = ["sniHosts", "destinationSubnets", "port", "sourceLabels", "gateways", "sourceNamespace"] as const;

export function parseTlsRoutes(r: SpecReader, list: unknown[], path: FieldPath, ctx: VirtualServiceContext, vsHosts: readonly string[], checkGateway: (g: string, p: FieldPath) => void): ParsedTlsRoute[] {
  const out: ParsedTlsRoute[] = [];
  list.forEach((v, i) => {
    const p = [...path, i];
    if (v === null || v === undefined) {
      r.issues.error(p, "TLS route may not be null");
      return;
    }
    const o = r.obj(v, p, TLS_ROUTE_FIELDS);
    if (!o) return;
    const matches = r.arr(o, "match", p) ?? [];
    if (matches.length === 0) r.issues.error([...p, "match"], "TLS route must have at least one match condition");
    const rule: ParsedTlsRoute = { index: i, match: [], route: [] };
    matches.forEach((m, j) => {
      const mp = [...p, "match", j];
      if (m === null || m === undefined) {
        r.issues.error(mp, "TLS match may not be null");
        return;
      }
      const pm = parseTlsMatch(r, m, mp, vsHosts, checkGateway);
      if (pm) rule.match.push(pm);
    });
    rule.route = parseL4RouteDestinations(r, r.arr(o, "route", p) ?? [], p, ctx, "TLS");
    out.push(rule);
  });
  return out;
}

function parseTlsMatch(r: SpecReader, v: unknown, p: FieldPath, vsHosts: readonly string[], checkGateway: (g: string, p: FieldPath) => void): ParsedTlsMatch | undefined {
  const o = r.obj(v, p, TLS_MATCH_FIELDS);
  if (!o) return undefined;
  const m: ParsedTlsMatch = { sniHosts: [], destinationSubnets: [], gateways: [] };
  const sni = r.strArr(o, "sniHosts", p) ?? [];
  if (sni.length === 0) r.issues.error([...p, "sniHosts"], "tls match must have at least one SNI host");
  sni.forEach((h, i) => {
    const hp = [...p, "sniHosts", i];
    const err = checkWildcardDomain(h);
    if (err) {
      r.issues.error(hp, err);
      return;
    }
    const host = h.toLowerCase();
    // istiod: every SNI host must be one of (or covered by) the VirtualService's hosts.
    if (!vsHosts.some((vh) => hostsMatch(vh, host))) r.issues.error(hp, `the SNI host ${h} is not a match on the virtual service hosts`);
    else m.sniHosts.push(host);
  });
  parseL4MatchFields(r, o, p, m, checkGateway);
  return m;
}
