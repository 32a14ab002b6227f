// istiod's HTTP filter order (pilot/pkg/networking/core/listener_builder.go): metadata exchange,
// jwt_authn, rbac, fault, cors, istio.stats, router. Security filters are added to connection managers
// that already exist, each at its place, whatever was added before.

import { HTTP_CORS_FILTER, HTTP_FAULT_FILTER, HTTP_JWT_AUTHN_FILTER, HTTP_RBAC_FILTER, HTTP_ROUTER_FILTER, ISTIO_METADATA_EXCHANGE_FILTER, ISTIO_STATS_FILTER, type HttpConnectionManager, type HttpFilterConfig } from "../model/types.js";

const ORDER = [ISTIO_METADATA_EXCHANGE_FILTER, HTTP_JWT_AUTHN_FILTER, HTTP_RBAC_FILTER, HTTP_FAULT_FILTER, HTTP_CORS_FILTER, ISTIO_STATS_FILTER, HTTP_ROUTER_FILTER];

function rank(name: string): number {
  const i = ORDER.indexOf(name);
  return i < 0 ? ORDER.indexOf(HTTP_FAULT_FILTER) : i;
}

/** Puts `filter` into `hcm.httpFilters` at istiod's place (replacing one of the same name). */
export function insertHttpFilter(hcm: HttpConnectionManager, filter: HttpFilterConfig): void {
  const list = hcm.httpFilters.filter((f) => f.name !== filter.name);
  const at = list.findIndex((f) => rank(f.name) > rank(filter.name));
  list.splice(at < 0 ? list.length : at, 0, filter);
  hcm.httpFilters = list;
}
