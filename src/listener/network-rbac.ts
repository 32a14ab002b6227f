// Network RBAC (envoy.filters.network.rbac): istiod puts it before tcp_proxy on inbound TCP chains
// for AuthorizationPolicy. Compiled once per snapshot into a ConnectionAdmission: the decision is
// made when the transport is up (TLS peer known), and a denied connection is closed before the
// terminal filter sees a byte; the terminal filter (tcp_proxy) still access-logs it with Envoy's
// %CONNECTION_TERMINATION_DETAILS%. Stats: `<stat_prefix>rbac.{allowed,denied,shadow_allowed,shadow_denied}`
// (istiod's stat_prefix `tcp.` → `tcp.rbac.denied`).

import { NETWORK_RBAC_FILTER, type NetworkFilter } from "../config/model/types.js";
import { CompiledRbac, RbacStats } from "../http/filters/rbac/rbac-filter.js";
import { RbacInput } from "../http/filters/rbac/rbac-engine.js";
import type { StatsStore } from "../observability/stats/stats-store.js";
import type { ConnectionAdmission } from "./active-listener.js";
import type { ConnectionInfo } from "./connection-info.js";

export class NetworkRbacAdmission implements ConnectionAdmission {
  private readonly input = new RbacInput();

  constructor(
    private readonly rbac: CompiledRbac,
    private readonly onDenied?: (info: ConnectionInfo, details: string) => void,
  ) {}

  /** Envoy's network RBAC: a denial's connection termination details are `rbac_access_denied_matched_policy[<policy>|none]`. */
  admit(info: ConnectionInfo): string | undefined {
    const denied = this.rbac.check(this.input.resetConnection(info));
    this.input.clear();
    if (denied !== undefined) this.onDenied?.(info, denied);
    return denied;
  }
}

export function networkRbacAdmission(filter: NetworkFilter, stats: StatsStore, onDenied?: (info: ConnectionInfo, details: string) => void): NetworkRbacAdmission {
  if (filter.name !== NETWORK_RBAC_FILTER) throw new Error(`expected ${NETWORK_RBAC_FILTER}, got ${filter.name}`);
  const c = filter.typedConfig;
  const rs = new RbacStats(stats, c.statPrefix ?? "", c.shadowRulesStatPrefix ?? "");
  return new NetworkRbacAdmission(new CompiledRbac(c, rs, NETWORK_RBAC_FILTER), onDenied);
}
