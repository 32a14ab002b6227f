// DestinationRule consistentHash → route hash policies, as istiod picks them: per route
// destination (subset port level > subset > top port level > top level; port levels only when the
// destination names its port), per service port for default routes.

import type { HashPolicy } from "../model/types.js";
import type { LoadBalancerSettings } from "./istio-traffic-policy.js";
import type { ParsedDestination, ParsedDestinationRule, ParsedTrafficPolicy } from "./parsed-config.js";

export type ConsistentHash = NonNullable<LoadBalancerSettings["consistentHash"]>;

/** istiod consistentHashToHashPolicy; undefined when the hash has no key. */
export function hashPolicyFor(ch: ConsistentHash | undefined): HashPolicy | undefined {
  if (!ch) return undefined;
  if (ch.httpHeaderName !== undefined) return { header: { headerName: ch.httpHeaderName } };
  if (ch.httpCookie) {
    const cookie: NonNullable<HashPolicy["cookie"]> = { name: ch.httpCookie.name };
    if (ch.httpCookie.ttlMs !== undefined) cookie.ttlMs = ch.httpCookie.ttlMs;
    if (ch.httpCookie.path !== undefined && ch.httpCookie.path !== "") cookie.path = ch.httpCookie.path;
    return { cookie };
  }
  if (ch.useSourceIp !== undefined) return { connectionProperties: { sourceIp: ch.useSourceIp } };
  if (ch.httpQueryParameterName !== undefined) return { queryParameter: { name: ch.httpQueryParameterName } };
  return undefined;
}

function portHash(tp: ParsedTrafficPolicy | undefined, port: number | undefined): ConsistentHash | undefined {
  if (port === undefined || !tp) return undefined;
  return tp.portLevel.find((pl) => pl.port === port)?.policy.loadBalancer?.consistentHash;
}

/** istiod hashForHTTPDestination. */
export function consistentHashForDestination(dr: ParsedDestinationRule | undefined, d: ParsedDestination): ConsistentHash | undefined {
  if (!dr) return undefined;
  const top = dr.trafficPolicy?.policy.loadBalancer?.consistentHash;
  const topPort = portHash(dr.trafficPolicy, d.port);
  const subset = dr.subsets.find((s) => s.name === (d.subset ?? ""));
  const subsetHash = subset?.trafficPolicy?.policy.loadBalancer?.consistentHash;
  const subsetPort = portHash(subset?.trafficPolicy, d.port);
  return subsetPort ?? subsetHash ?? topPort ?? top;
}

/** istiod hashForService (default routes): the top level, replaced by that port's level when it has a hash. */
export function consistentHashForService(dr: ParsedDestinationRule | undefined, port: number): ConsistentHash | undefined {
  if (!dr) return undefined;
  return portHash(dr.trafficPolicy, port) ?? dr.trafficPolicy?.policy.loadBalancer?.consistentHash;
}
