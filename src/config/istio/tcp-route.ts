// VirtualService `tcp[]` rules with istiod's validation (validateTCPRoute, validateTCPMatch,
// validateRouteDestinations and the unreachable-rule analysis), every error with its field path.

import type { FieldPath } from "./doc-issues.js";
import { checkLabels, checkIpSubnet, checkPort } from "./name-rules.js";
import type { ParsedL4Match, ParsedRouteDestination, ParsedTcpRoute } from "./parsed-config.js";
import type { Obj, SpecReader } from "./spec-reader.js";
import { parseDestination, type VirtualServiceContext } from "./virtual-service.js";

const TCP_ROUTE_FIELDS = ["match", "route"] as const;
const L4_MATCH_FIELDS = ["destinationSubnets", "port", "sourceLabels", "gateways", "sourceNamespace", "sourceSubnet"] as const;

export function parseTcpRoutes(r: SpecReader, list: unknown[], path: FieldPath, ctx: VirtualServiceContext, checkGateway: (g: string, p: FieldPath) => void): ParsedTcpRoute[] {
  const out: ParsedTcpRoute[] = [];
  const seenMatches = new Map<string, number>();
  let catchAllAt = -1;
  list.forEach((v, i) => {
    const p = [...path, i];
    if (v === null || v === undefined) {
      r.issues.error(p, "tcp route may not be null");
      return;
    }
    const o = r.obj(v, p, TCP_ROUTE_FIELDS);
    if (!o) return;
    const rule: ParsedTcpRoute = { index: i, match: [], route: [] };
    (r.arr(o, "match", p) ?? []).forEach((m, j) => {
      const mp = [...p, "match", j];
      if (m === null || m === undefined) {
        r.issues.error(mp, "tcp match may not be nil");
        return;
      }
      const pm = parseL4Match(r, m, mp, checkGateway);
      if (pm) rule.match.push(pm);
    });
    rule.route = parseL4RouteDestinations(r, r.arr(o, "route", p) ?? [], p, ctx, "TCP");

    // istiod's analyzeUnreachableTCPRules: warnings, the config is still accepted.
    if (catchAllAt >= 0) r.issues.warn(p, `tcp rule #${i} not used (only the last rule can have no matches; tcp[${catchAllAt}] matches everything)`);
    else if (rule.match.length === 0) catchAllAt = i;
    else {
      rule.match.forEach((m, j) => {
        const key = JSON.stringify(m);
        const first = seenMatches.get(key);
        if (first !== undefined) r.issues.warn([...p, "match", j], `tcp rule #${i} match #${j} is not used (duplicate of a match in tcp rule #${first})`);
        else seenMatches.set(key, i);
      });
    }
    out.push(rule);
  });
  return out;
}

/** A tcp[]/tls[] rule's `route` list (validateRouteDestinations): destinations and weights. */
export function parseL4RouteDestinations(r: SpecReader, routes: unknown[], p: FieldPath, ctx: VirtualServiceContext, kind: "TCP" | "TLS"): ParsedRouteDestination[] {
  const out: ParsedRouteDestination[] = [];
  if (routes.length === 0) r.issues.error([...p, "route"], `${kind} route is required`);
  let total = 0;
  routes.forEach((d, j) => {
    const dp = [...p, "route", j];
    if (d === null || d === undefined) {
      r.issues.error(dp, "weight may not be nil");
      return;
    }
    const dO = r.obj(d, dp, ["destination", "weight"]);
    if (!dO) return;
    if (dO["destination"] === undefined || dO["destination"] === null) r.issues.error([...dp, "destination"], "destination is required");
    const dest = parseDestination(r, dO["destination"], [...dp, "destination"], ctx);
    const weight = r.int(dO, "weight", dp);
    if (weight !== undefined && weight < 0) r.issues.error([...dp, "weight"], `weight ${weight} < 0`);
    total += weight !== undefined && weight > 0 ? weight : 0;
    if (dest) out.push({ destination: dest, weight: weight ?? 0 });
  });
  if (routes.length > 1 && total === 0) r.issues.error([...p, "route"], "total destination weight = 0");
  return out;
}

function parseL4Match(r: SpecReader, v: unknown, p: FieldPath, checkGateway: (g: string, p: FieldPath) => void): ParsedL4Match | undefined {
  const o = r.obj(v, p, L4_MATCH_FIELDS);
  if (!o) return undefined;
  const m: ParsedL4Match = { destinationSubnets: [], gateways: [] };
  parseL4MatchFields(r, o, p, m, checkGateway);
  r.str(o, "sourceSubnet", p);
  return m;
}

/**
 * The match fields `tcp[]` and `tls[]` rules share (destinationSubnets, port, sourceLabels,
 * sourceNamespace, gateways), validated as istiod does, into `m`.
 */
export function parseL4MatchFields(r: SpecReader, o: Obj, p: FieldPath, m: ParsedL4Match, checkGateway: (g: string, p: FieldPath) => void): void {
  (r.strArr(o, "destinationSubnets", p) ?? []).forEach((s, i) => {
    const err = checkIpSubnet(s);
    if (err) r.issues.error([...p, "destinationSubnets", i], err);
    else m.destinationSubnets.push(s);
  });
  const port = r.int(o, "port", p);
  if (port !== undefined && port !== 0) {
    const err = checkPort(port);
    if (err) r.issues.error([...p, "port"], err);
    else m.port = port;
  }
  const sl = r.strMap(o, "sourceLabels", p);
  if (sl) {
    for (const e of checkLabels(sl)) r.issues.error([...p, "sourceLabels"], e);
    m.sourceLabels = sl;
  }
  const sns = r.str(o, "sourceNamespace", p);
  if (sns !== undefined && sns !== "") m.sourceNamespace = sns;
  const gws = r.strArr(o, "gateways", p) ?? [];
  gws.forEach((g, i) => checkGateway(g, [...p, "gateways", i]));
  m.gateways = gws;
}
