// Builds a connection manager's HTTP filter factories from its `httpFilters` config (once per
// snapshot). Unknown filters are refused when the snapshot is applied, with the filter's name.

import type { HttpFilterConfig } from "../../config/model/types.js";
import { HTTP_FAULT_FILTER, HTTP_ROUTER_FILTER } from "../../config/model/types.js";
import { routerFilterFactory } from "../../router/router-filter.js";
import { faultFilterFactory } from "./fault/fault-filter.js";
import type { HttpFilterFactory } from "./http-filter.js";

const BUILT_IN: ReadonlyMap<string, HttpFilterFactory> = new Map([
  [HTTP_FAULT_FILTER, faultFilterFactory],
  [HTTP_ROUTER_FILTER, routerFilterFactory],
]);

export function buildHttpFilterFactories(configs: readonly HttpFilterConfig[], extra?: ReadonlyMap<string, HttpFilterFactory>): HttpFilterFactory[] {
  if (configs.length === 0 || configs[configs.length - 1]!.name !== HTTP_ROUTER_FILTER) {
    throw new Error(`http filters must end with ${HTTP_ROUTER_FILTER} (got ${configs.map((c) => c.name).join(", ") || "none"})`);
  }
  return configs.map((c) => {
    const f = extra?.get(c.name) ?? BUILT_IN.get(c.name);
    if (f === undefined) throw new Error(`http filter ${c.name} is not supported`);
    return f;
  });
}
