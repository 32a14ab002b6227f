// HttpFilterRegistry: the HTTP filters a worker can run, by Envoy name. A connection manager's
// `httpFilters` config is resolved against it once per snapshot; a name it does not know refuses
// the snapshot with that name. Passed in, never global: tests register their own filters.

import type { HttpFilterConfig } from "../../config/model/types.js";
import { HTTP_ROUTER_FILTER } from "../../config/model/types.js";
import { routerFilterFactory } from "../../router/router-filter.js";
import type { NodeIdentity } from "../../observability/node-identity.js";
import { corsFilterFactory } from "./cors/cors-filter.js";
import { faultFilterFactory } from "./fault/fault-filter.js";
import type { HttpFilterFactory, HttpFilterScope } from "./http-filter.js";
import { jwtAuthnFilterFactory } from "./jwt-authn/jwt-authn-filter.js";
import { rbacFilterFactory } from "./rbac/rbac-filter.js";
import { extAuthzFilterFactory } from "./ext-authz/ext-authz-filter.js";
import { istioStatsFilterFactory } from "./istio-stats/istio-stats-filter.js";
import { istioAlpnFilterFactory } from "./istio-alpn/istio-alpn-filter.js";
import { peerMetadataFilterFactory } from "./peer-metadata/peer-metadata-filter.js";

export class HttpFilterRegistry {
  private readonly byName = new Map<string, HttpFilterFactory>();

  register(f: HttpFilterFactory): this {
    this.byName.set(f.name, f);
    return this;
  }

  /**
   * The factories for a connection manager's filter list; the router must come last. Filters
   * carried but not run (`noop`, see NoopFilter) are left out.
   */
  build(configs: readonly HttpFilterConfig[], scope?: HttpFilterScope): HttpFilterFactory[] {
    if (configs.length === 0 || configs[configs.length - 1]!.name !== HTTP_ROUTER_FILTER) {
      throw new Error(`http filters must end with ${HTTP_ROUTER_FILTER} (got ${configs.map((c) => c.name).join(", ") || "none"})`);
    }
    return configs.filter((c) => c.noop === undefined || c.name === HTTP_ROUTER_FILTER).map((c, i, run) => {
      if (c.name === HTTP_ROUTER_FILTER && i !== run.length - 1) throw new Error(`${HTTP_ROUTER_FILTER} must be the last http filter`);
      const f = this.byName.get(c.name);
      if (f === undefined) throw new Error(`http filter ${c.name} is not supported`);
      return f.configure !== undefined && scope !== undefined ? f.configure(c, scope) : f;
    });
  }
}

/**
 * The filters every worker runs: Istio's metadata exchange (sending `node`'s identity; a
 * standalone default identity without one) and stats, Envoy's fault and CORS filters and the router.
 */
export function builtInHttpFilters(node?: NodeIdentity): HttpFilterRegistry {
  return new HttpFilterRegistry()
    .register(peerMetadataFilterFactory(node))
    .register(jwtAuthnFilterFactory)
    .register(rbacFilterFactory)
    .register(extAuthzFilterFactory)
    .register(faultFilterFactory)
    .register(corsFilterFactory)
    .register(istioStatsFilterFactory)
    .register(istioAlpnFilterFactory)
    .register(routerFilterFactory);
}
