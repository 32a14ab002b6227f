// A stand-in for the Envoy resource decoders (decode-resource.ts) just wide enough for pilot-agent's
// static bootstrap resources: STATIC clusters with socket_address or pipe endpoints, and listeners
// whose one HCM has an inline route_config of prefix → cluster routes. Lets the bootstrap → supervisor
// → workers path be tested before (and independently of) the real decoders.

import type { DecodeContext, Decoded, Json } from "../../src/config/envoy/decoded.js";
import type { ResourceOfType, ResourceType } from "../../src/config/source/config-source.js";
import type { LbEndpoint } from "../../src/config/model/types.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { cluster, route } from "./proxy.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function stubDecode<T extends ResourceType>(type: T, json: Json, _ctx: DecodeContext): Decoded<ResourceOfType[T]> {
  const j = json as J;
  if (type === "cluster") {
    const c = cluster(j.name as string, []);
    const eps: LbEndpoint[] = [];
    for (const g of j.load_assignment?.endpoints ?? []) {
      for (const lb of g.lb_endpoints ?? []) {
        const a = lb.endpoint.address;
        if (a.pipe !== undefined) eps.push({ address: "", port: 0, pipe: a.pipe.path, weight: 1, labels: {}, healthStatus: "HEALTHY" });
        else eps.push({ address: a.socket_address.address, port: a.socket_address.port_value, weight: 1, labels: {}, healthStatus: "HEALTHY" });
      }
    }
    c.loadAssignment.endpoints[0]!.lbEndpoints = eps;
    return { ok: true, value: c as ResourceOfType[T], notes: [] };
  }
  if (type === "listener") {
    const sa = j.address.socket_address;
    const l = httpListener({ name: j.name, address: sa.address, port: sa.port_value, direction: "OUTBOUND", routeConfigName: "inline" });
    const hcm = j.filter_chains[0].filters[0].typed_config;
    const rc = hcm.route_config;
    const typed = l.filterChains[0]!.filters[0]!.typedConfig as { routeConfig?: unknown };
    typed.routeConfig = {
      name: "inline",
      virtualHosts: rc.virtual_hosts.map((vh: J) => ({ name: vh.name, domains: vh.domains, routes: vh.routes.map((r: J, i: number) => route(`r${i}`, { route: { cluster: r.route.cluster } }, { prefix: r.match.prefix })) })),
    };
    return { ok: true, value: l as ResourceOfType[T], notes: [] };
  }
  return { ok: false, errors: [`the stub decoder has no ${type}`] };
}
