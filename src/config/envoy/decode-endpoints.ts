// envoy.config.endpoint.v3.ClusterLoadAssignment (EDS, or a cluster's inline load_assignment) → the
// model's endpoints: localities with priority and weight, each endpoint's address (TCP socket or
// Unix pipe), weight, health and labels. Labels are what transport_socket_matches match on: Envoy
// reads them from the endpoint metadata `envoy.transport_socket_match` (istiod writes tlsMode
// there); Outrigger's own dump also keeps every label under `outrigger.labels`.

import { resolve } from "node:path";
import type { LbEndpoint, LocalityLbEndpoints } from "../model/types.js";
import type { ClusterEndpoints } from "../source/config-source.js";
import { at, checkFields, enumOf, isObject, list, obj, socketAddress, str, uint, DecodeState } from "./decode-common.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

const HEALTH = ["UNKNOWN", "HEALTHY", "UNHEALTHY", "DRAINING", "TIMEOUT", "DEGRADED"] as const;

/** An endpoint's address: a socket_address, or a pipe (Unix socket; relative paths against ctx.cwd, abstract `@…` kept). */
function endpointAddress(v: unknown, path: string, st: DecodeState): Pick<LbEndpoint, "address" | "port" | "pipe"> | undefined {
  const o = obj(v, path, st);
  if (o?.pipe !== undefined) {
    const p = obj(o.pipe, at(path, "pipe"), st) ?? {};
    checkFields(p, at(path, "pipe"), st, ["path"], {}, { mode: "the pipe's mode applies to listeners only; ignored" });
    const raw = str(p.path, at(path, "pipe.path"), st);
    if (raw === undefined || raw === "") return st.error(at(path, "pipe.path"), "a path is required");
    const pipe = raw.startsWith("@") ? raw : resolve(st.ctx.cwd ?? process.cwd(), raw);
    return { address: "", port: 0, pipe };
  }
  const sa = socketAddress(v, path, st);
  return sa === undefined ? undefined : { address: sa.address, port: sa.port };
}

function labelsOf(v: unknown, path: string, st: DecodeState): Record<string, string> {
  const m = obj(v, path, st);
  const fm = m !== undefined && isObject(m.filter_metadata) ? m.filter_metadata : {};
  // Envoy matches transport sockets on `envoy.transport_socket_match`; Outrigger's dump adds every label under `outrigger.labels`.
  const source = { ...(isObject(fm["envoy.transport_socket_match"]) ? fm["envoy.transport_socket_match"] : {}), ...(isObject(fm.outrigger) && isObject(fm.outrigger.labels) ? fm.outrigger.labels : {}) };
  const labels: Record<string, string> = {};
  for (const [k, x] of Object.entries(source)) {
    if (typeof x === "string") labels[k] = x;
    else st.note(at(path, `filter_metadata.${k}`), "a non-string label value is ignored");
  }
  return labels;
}

function lbEndpoint(v: unknown, path: string, st: DecodeState): LbEndpoint | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["endpoint", "health_status", "load_balancing_weight", "metadata"], { endpoint_name: "named endpoints are not supported by Outrigger" });
  const e = obj(o.endpoint, at(path, "endpoint"), st);
  if (e === undefined) return st.error(at(path, "endpoint"), "an endpoint is required");
  // Envoy's dump prints an empty health_check_config on every endpoint: nothing to ignore then.
  const hc = e.health_check_config;
  const handled = isObject(hc) && Object.keys(hc).length === 0 ? ["address", "health_check_config"] : ["address"];
  checkFields(e, at(path, "endpoint"), st, handled, {}, {
    health_check_config: "active health checks are not supported; ignored",
    hostname: "the endpoint hostname is not used; ignored",
    additional_addresses: "additional endpoint addresses are not supported (no happy eyeballs); ignored",
  });
  if (isObject(e.address) && e.address.envoy_internal_address !== undefined) {
    // An Envoy internal listener (ambient HBONE tunnels): nothing Outrigger can connect to.
    st.note(at(path, "endpoint.address.envoy_internal_address"), "Envoy internal listeners are not supported: endpoint left out");
    return undefined;
  }
  const addr = endpointAddress(e.address, at(path, "endpoint.address"), st);
  if (addr === undefined) return undefined;
  const weight = uint(o.load_balancing_weight ?? 1, at(path, "load_balancing_weight"), st) ?? 1;
  if (weight < 1) return st.error(at(path, "load_balancing_weight"), "must be at least 1");
  const h = enumOf(o.health_status ?? "UNKNOWN", HEALTH, at(path, "health_status"), st) ?? "UNKNOWN";
  // Envoy: UNHEALTHY and TIMEOUT fail EDS health; DRAINING is excluded from new requests;
  // DEGRADED hosts serve when healthy ones are short — Outrigger has no degraded tier.
  let healthStatus: LbEndpoint["healthStatus"] = "HEALTHY";
  if (h === "UNHEALTHY" || h === "TIMEOUT") healthStatus = "UNHEALTHY";
  else if (h === "DRAINING") healthStatus = "DRAINING";
  else if (h === "DEGRADED") st.note(at(path, "health_status"), "DEGRADED is treated as HEALTHY (no degraded tier)");
  const ep: LbEndpoint = { ...addr, weight, labels: labelsOf(o.metadata, at(path, "metadata"), st), healthStatus };
  if (ep.pipe === undefined) delete ep.pipe;
  return ep;
}

export function localityLbEndpoints(v: unknown, path: string, st: DecodeState): LocalityLbEndpoints[] {
  const out: LocalityLbEndpoints[] = [];
  list(v, path, st).forEach((x, i) => {
    const p = at(path, i);
    const o = obj(x, p, st);
    if (o === undefined) return;
    checkFields(o, p, st, ["locality", "lb_endpoints", "priority", "load_balancing_weight"], { leds_cluster_locality_config: "LEDS is not supported by Outrigger" }, { proximity: "proximity is not used; ignored", metadata: "ignored" });
    const loc = obj(o.locality, at(p, "locality"), st) ?? {};
    checkFields(loc, at(p, "locality"), st, ["region", "zone", "sub_zone"]);
    const locality: LocalityLbEndpoints["locality"] = {};
    const region = str(loc.region, at(p, "locality.region"), st);
    const zone = str(loc.zone, at(p, "locality.zone"), st);
    const subZone = str(loc.sub_zone, at(p, "locality.sub_zone"), st);
    if (region !== undefined && region !== "") locality.region = region;
    if (zone !== undefined && zone !== "") locality.zone = zone;
    if (subZone !== undefined && subZone !== "") locality.subZone = subZone;
    const priority = uint(o.priority ?? 0, at(p, "priority"), st, 128) ?? 0;
    const g: LocalityLbEndpoints = { locality, priority, lbEndpoints: [] };
    if (o.load_balancing_weight !== undefined) {
      // Envoy's own /config_dump prints an unset locality weight as 0: read it as unset.
      const w = uint(o.load_balancing_weight, at(p, "load_balancing_weight"), st);
      if (w !== undefined && w > 0) g.loadBalancingWeight = w;
    }
    list(o.lb_endpoints, at(p, "lb_endpoints"), st).forEach((e, j) => {
      const ep = lbEndpoint(e, at(at(p, "lb_endpoints"), j), st);
      if (ep !== undefined) g.lbEndpoints.push(ep);
    });
    out.push(g);
  });
  return out;
}

/** State form, for a cluster's inline load_assignment. */
export function clusterLoadAssignmentInto(o: Json, path: string, st: DecodeState): ClusterEndpoints | undefined {
  checkFields(o, path, st, ["cluster_name", "endpoints", "policy"], { named_endpoints: "named endpoints are not supported by Outrigger" });
  const clusterName = str(o.cluster_name, at(path, "cluster_name"), st);
  if (clusterName === undefined || clusterName === "") return st.error(at(path, "cluster_name"), "a cluster name is required");
  const policy = obj(o.policy, at(path, "policy"), st);
  if (policy !== undefined) {
    for (const k of Object.keys(policy)) {
      if (k === "overprovisioning_factor") {
        // Priority load is computed with Envoy's default factor 140 (health × 1.4).
        if (uint(policy[k], at(path, "policy.overprovisioning_factor"), st) !== 140) st.note(at(path, "policy.overprovisioning_factor"), "only Envoy's default 140 is supported; 140 applies");
      } else st.note(at(at(path, "policy"), k), k === "drop_overloads" ? "drop_overloads is not supported: no request is dropped" : "ignored");
    }
  }
  return { clusterName, endpoints: localityLbEndpoints(o.endpoints, at(path, "endpoints"), st) };
}

export function decodeClusterLoadAssignment(json: Json, ctx: DecodeContext): Decoded<ClusterEndpoints> {
  const st = new DecodeState(ctx);
  return st.result(clusterLoadAssignmentInto(json, "", st));
}
