// What Outrigger takes from a validated Envoy bootstrap (proto JSON): the node (echoed verbatim to
// the control plane, and this proxy's identity for telemetry), the admin address, the static
// resources (decoded into one static update) and the control plane (dynamic_resources: ADS over
// the gRPC cluster it names, SDS over the cluster the static resources' SDS configs name).
// Everything else (stats_config, layered_runtime, overload_manager, …) is accepted and ignored.

import { isAbsolute, resolve } from "node:path";
import type { DecodeContext, Decoded, Json } from "../config/envoy/decoded.js";
import type { ConfigUpdate, ResourceOfType, ResourceType, ResourceUpdate } from "../config/source/config-source.js";
import type { GrpcTarget, XdsMode } from "../xds/xds-options.js";
import { BootstrapError } from "./read-bootstrap.js";
import type { EnvoyOptions } from "./envoy-flags.js";

export type DecodeFn = <T extends ResourceType>(type: T, json: Json, ctx: DecodeContext) => Decoded<ResourceOfType[T]>;

/** The xDS client's settings the bootstrap fixes (XdsSourceOptions without the codec and logger). */
export interface BootstrapXds {
  ads: GrpcTarget;
  mode: XdsMode;
  node: Json;
  setNodeOnFirstMessageOnly: boolean;
  sds?: GrpcTarget;
  /** initial_fetch_timeout per type, ms (0 = wait for ever); Envoy's default 15 s where unset. */
  initialFetchTimeoutMs: { cds: number; lds: number; eds: number; rds: number; sds: number };
}

export interface EnvoyBootstrap {
  /** The bootstrap as read (proto JSON), for /config_dump's bootstrap section. */
  json: Json;
  /** `node`, with --service-cluster/--service-node/--service-zone filled in where it had none. */
  node: Json;
  /** admin.address; absent = no admin server (Envoy: no admin address, no admin). */
  admin?: { address: string; port: number };
  /** The static_resources as one static update (origin `bootstrap`). */
  staticUpdate: ConfigUpdate;
  /** Decoding notes of the static resources (things carried, not honoured). */
  notes: string[];
  /** dynamic_resources with ADS; absent = static resources only, no xDS. */
  xds?: BootstrapXds;
}

/** 15 000 ms: Envoy's default initial_fetch_timeout. */
const DEFAULT_INITIAL_FETCH_TIMEOUT_MS = 15_000;

function obj(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function durationMs(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  const m = typeof v === "string" ? /^(\d+(?:\.\d+)?)s$/.exec(v) : null;
  if (m === null) throw new BootstrapError(`${path}: expected a duration such as "0s" or "1.5s", got ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * 1000);
}

/** Envoy's service_* flags fill the node only where the bootstrap leaves it empty. */
export function nodeWithFlags(node: Json | undefined, o: Pick<EnvoyOptions, "serviceCluster" | "serviceNode" | "serviceZone">): Json {
  const n: Json = { ...(node ?? {}) };
  if ((n.cluster === undefined || n.cluster === "") && o.serviceCluster !== undefined) n.cluster = o.serviceCluster;
  if ((n.id === undefined || n.id === "") && o.serviceNode !== undefined) n.id = o.serviceNode;
  const loc = obj(n.locality) ?? {};
  if ((loc.zone === undefined || loc.zone === "") && o.serviceZone !== undefined) n.locality = { ...loc, zone: o.serviceZone };
  return n;
}

function socketAddress(addr: Json | undefined, path: string): { address: string; port: number } {
  const sa = obj(addr?.socket_address);
  if (sa === undefined) throw new BootstrapError(`${path}: only socket_address is supported here`);
  const address = typeof sa.address === "string" ? sa.address : "";
  if (address === "") throw new BootstrapError(`${path}.socket_address.address: must be an IP address`);
  const port = Number(sa.port_value ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BootstrapError(`${path}.socket_address.port_value: ${JSON.stringify(sa.port_value)} is not a port`);
  return { address, port };
}

/** A static cluster's single host as a gRPC target: a Pipe → `unix:/abs`, a socket address → `host:port`. */
function grpcTargetOf(clusters: Map<string, Json>, clusterName: string, path: string, cwd: string): GrpcTarget {
  const c = clusters.get(clusterName);
  if (c === undefined) throw new BootstrapError(`${path}: envoy_grpc cluster "${clusterName}" is not a static cluster of the bootstrap`);
  const la = obj(c.load_assignment);
  for (const group of arr(la?.endpoints)) {
    for (const lb of arr(obj(group)?.lb_endpoints)) {
      const address = obj(obj(obj(lb)?.endpoint)?.address);
      if (address === undefined) continue;
      const pipe = obj(address.pipe);
      if (pipe !== undefined && typeof pipe.path === "string" && pipe.path !== "") {
        const p = pipe.path.startsWith("@") ? pipe.path : isAbsolute(pipe.path) ? pipe.path : resolve(cwd, pipe.path);
        return { target: `unix:${p}`, clusterName };
      }
      const sa = socketAddress(address, `static_resources.clusters["${clusterName}"].load_assignment...endpoint.address`);
      return { target: sa.address.includes(":") ? `[${sa.address}]:${sa.port}` : `${sa.address}:${sa.port}`, clusterName };
    }
  }
  throw new BootstrapError(`${path}: cluster "${clusterName}" has no endpoints (load_assignment.endpoints[].lb_endpoints is empty)`);
}

/** The envoy_grpc cluster name of an ApiConfigSource (grpc_services[0].envoy_grpc.cluster_name). */
function envoyGrpcCluster(api: Json, path: string): string {
  const services = arr(api.grpc_services);
  if (services.length === 0) throw new BootstrapError(`${path}.grpc_services: needs exactly one gRPC service, got none`);
  const eg = obj(obj(services[0])?.envoy_grpc);
  if (eg === undefined) throw new BootstrapError(`${path}.grpc_services[0]: only envoy_grpc is supported (google_grpc needs Envoy's Google gRPC client)`);
  const name = eg.cluster_name;
  if (typeof name !== "string" || name === "") throw new BootstrapError(`${path}.grpc_services[0].envoy_grpc.cluster_name: must name a static cluster`);
  return name;
}

/** Every `sds_config` under `v` that names an envoy_grpc cluster (the static resources' transport sockets). */
function sdsClusters(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) {
    for (const x of v) sdsClusters(x, out);
    return;
  }
  const o = obj(v);
  if (o === undefined) return;
  for (const [k, x] of Object.entries(o)) {
    if (k === "sds_config") {
      const api = obj(obj(x)?.api_config_source);
      if (api !== undefined) {
        const eg = obj(obj(arr(api.grpc_services)[0])?.envoy_grpc);
        if (typeof eg?.cluster_name === "string") out.add(eg.cluster_name);
      }
    } else sdsClusters(x, out);
  }
}

const STATIC_KINDS = [
  ["clusters", "cluster"],
  ["listeners", "listener"],
  ["secrets", "secret"],
] as const;

/** Reads what Outrigger runs from a validated bootstrap; throws BootstrapError naming the field. */
export function interpretBootstrap(json: Json, o: { flags: Pick<EnvoyOptions, "serviceCluster" | "serviceNode" | "serviceZone">; cwd: string; decode: DecodeFn }): EnvoyBootstrap {
  const node = nodeWithFlags(obj(json.node), o.flags);
  const adminJson = obj(json.admin);
  const admin = adminJson?.address !== undefined ? socketAddress(obj(adminJson.address), "admin.address") : undefined;

  const sr = obj(json.static_resources) ?? {};
  const staticClusters = new Map<string, Json>();
  for (const [i, c] of arr(sr.clusters).entries()) {
    const name = obj(c)?.name;
    if (typeof name !== "string" || name === "") throw new BootstrapError(`static_resources.clusters[${i}].name: required`);
    if (staticClusters.has(name)) throw new BootstrapError(`static_resources.clusters[${i}]: cluster manager: duplicate cluster '${name}' found`);
    staticClusters.set(name, obj(c) as Json);
  }

  // Static resources → one update, every error collected with its place.
  const ctx: DecodeContext = { origin: "bootstrap", cwd: o.cwd };
  const errors: string[] = [];
  const notes: string[] = [];
  const updates: ResourceUpdate[] = [];
  for (const [field, type] of STATIC_KINDS) {
    const resources: Record<string, unknown> = {};
    for (const [i, r] of arr(sr[field]).entries()) {
      const d = o.decode(type, obj(r) ?? {}, ctx);
      const where = `static_resources.${field}[${i}]`;
      if (!d.ok) {
        for (const e of d.errors) errors.push(`${where}: ${e}`);
        continue;
      }
      for (const n of d.notes) notes.push(`${where}.${n.path}: ${n.message}`);
      const name = (d.value as { name: string }).name;
      if (name in resources) errors.push(`${where}: duplicate ${type} name "${name}"`);
      resources[name] = d.value;
    }
    if (Object.keys(resources).length > 0) updates.push({ type, version: "", kind: "state-of-the-world", resources } as ResourceUpdate);
  }
  if (errors.length > 0) throw new BootstrapError(`static_resources:\n  ${errors.join("\n  ")}`);
  const staticUpdate: ConfigUpdate = { origin: "bootstrap", updates, static: true };

  const dr = obj(json.dynamic_resources);
  const ads = obj(dr?.ads_config);
  let xds: BootstrapXds | undefined;
  if (dr !== undefined && (dr.lds_config !== undefined || dr.cds_config !== undefined) && ads === undefined) {
    throw new BootstrapError("dynamic_resources: lds_config/cds_config without ads_config; only ADS is supported");
  }
  for (const k of ["lds_config", "cds_config"] as const) {
    const cs = obj(dr?.[k]);
    if (cs !== undefined && cs.ads === undefined) throw new BootstrapError(`dynamic_resources.${k}: only {ads: {}} is supported (path, api_config_source and REST need Envoy's own config subscriptions)`);
  }
  if (ads !== undefined) {
    const apiType = ads.api_type ?? "GRPC";
    let mode: XdsMode;
    if (apiType === "GRPC") mode = "sotw";
    else if (apiType === "DELTA_GRPC") mode = "delta";
    else throw new BootstrapError(`dynamic_resources.ads_config.api_type: ${String(apiType)} is not supported for ADS (GRPC or DELTA_GRPC)`);
    const clusterName = envoyGrpcCluster(ads, "dynamic_resources.ads_config");
    const target = grpcTargetOf(staticClusters, clusterName, "dynamic_resources.ads_config", o.cwd);
    const fetch = (k: "lds_config" | "cds_config"): number => durationMs(obj(dr?.[k])?.initial_fetch_timeout, `dynamic_resources.${k}.initial_fetch_timeout`) ?? DEFAULT_INITIAL_FETCH_TIMEOUT_MS;
    xds = {
      ads: target,
      mode,
      node,
      setNodeOnFirstMessageOnly: ads.set_node_on_first_message_only === true,
      // EDS/RDS configs come inside CDS/LDS resources (istiod: ads, no timeout set → Envoy's 15 s);
      // SDS from pilot-agent: initial_fetch_timeout 0s.
      initialFetchTimeoutMs: { lds: fetch("lds_config"), cds: fetch("cds_config"), eds: DEFAULT_INITIAL_FETCH_TIMEOUT_MS, rds: DEFAULT_INITIAL_FETCH_TIMEOUT_MS, sds: 0 },
    };
    const sds = new Set<string>();
    sdsClusters(sr, sds);
    const sdsName = [...sds][0] ?? (staticClusters.has("sds-grpc") ? "sds-grpc" : undefined);
    if (sdsName !== undefined) xds.sds = grpcTargetOf(staticClusters, sdsName, "static_resources (sds_config)", o.cwd);
  }
  return { json, node, ...(admin !== undefined ? { admin } : {}), staticUpdate, notes, ...(xds !== undefined ? { xds } : {}) };
}
