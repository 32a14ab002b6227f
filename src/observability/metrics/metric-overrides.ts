// Istio's metric overrides (Telemetry `metrics.overrides`, istio.stats `metrics`) compiled once per
// chain into label plans: per metric, dropped or which labels in which order, each either a
// standard tag or an attribute expression. Istio evaluates CEL; Outrigger evaluates the attribute
// expressions Istio documents for tag overrides (literals, request/response attributes, headers,
// xds.*, node.metadata) and refuses the rest with a clear error, never silently.

import type { IstioStatsMetricOverride } from "../../config/model/telemetry.js";
import type { NodeIdentity } from "../node-identity.js";
import type { StreamInfo } from "../stream-info.js";
import { ISTIO_METRIC_NAMES, UNRECORDED_ISTIO_METRICS, type IstioMetricKey } from "./istio-metrics.js";
import { HTTP_TAGS, STANDARD_TAGS, TCP_TAGS, UNKNOWN } from "./istio-labels.js";

/** An attribute expression compiled to a reader; undefined result = attribute absent (Istio: `unknown`). */
export type AttributeReader = (info: StreamInfo) => string | undefined;

/** Which labels one metric carries: `source[i] >= 0` is a standard tag index, `< 0` is expression `-1 - source[i]`. */
export interface MetricPlan {
  readonly names: readonly string[];
  readonly sources: readonly number[];
  /** Unchanged standard tags: metrics with this plan share one label set per request. */
  readonly standard: boolean;
  /** Distinguishes series of different plans that happen to have equal values. */
  readonly signature: string;
}

export interface ChainPlan {
  readonly exprs: readonly AttributeReader[];
  /** undefined: the metric is dropped on this chain. */
  readonly metrics: Readonly<Record<IstioMetricKey, MetricPlan | undefined>>;
}

const HTTP_METRICS: readonly IstioMetricKey[] = ["requests_total", "request_duration_milliseconds", "request_bytes", "response_bytes"];
const TCP_METRICS: readonly IstioMetricKey[] = ["tcp_connections_opened_total", "tcp_connections_closed_total", "tcp_sent_bytes_total", "tcp_received_bytes_total"];

/** Compiles a chain's overrides (Istio applies them in order; a later one wins for the same tag). */
export function compileOverrides(overrides: readonly IstioStatsMetricOverride[], node: NodeIdentity): ChainPlan {
  const exprs: AttributeReader[] = [];
  const exprIds = new Map<string, number>();
  const dropped = new Set<IstioMetricKey>();
  // Per metric: standard tag → expression id (or "remove"); added tags in order.
  const replaced = new Map<IstioMetricKey, Map<string, number | "remove">>();
  const added = new Map<IstioMetricKey, Map<string, number>>();
  const all = [...HTTP_METRICS, ...TCP_METRICS];
  for (const m of all) {
    replaced.set(m, new Map());
    added.set(m, new Map());
  }
  const exprId = (e: string): number => {
    let id = exprIds.get(e);
    if (id === undefined) {
      id = exprs.push(compileAttribute(e, node)) - 1;
      exprIds.set(e, id);
    }
    return id;
  };
  for (const o of overrides) {
    let targets: readonly IstioMetricKey[];
    if (o.name === undefined || o.name === "") targets = all;
    else if (o.name in ISTIO_METRIC_NAMES) targets = [o.name as IstioMetricKey];
    else if (UNRECORDED_ISTIO_METRICS.has(o.name)) continue;
    else throw new Error(`istio.stats: unknown metric "${o.name}" (known: ${[...Object.keys(ISTIO_METRIC_NAMES), ...UNRECORDED_ISTIO_METRICS].join(", ")})`);
    if (o.drop === true) {
      for (const t of targets) dropped.add(t);
      continue;
    }
    for (const tag of o.tagsToRemove ?? []) {
      if (!STANDARD_TAGS.has(tag)) throw new Error(`istio.stats: cannot remove "${tag}": not a standard Istio metric label`);
      for (const t of targets) replaced.get(t)!.set(tag, "remove");
    }
    // Istio sorts the dimensions by tag name (deterministic label order).
    const dims = o.dimensions ?? {};
    for (const tag of Object.keys(dims).sort()) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(tag) || tag === "le") throw new Error(`istio.stats: "${tag}" is not a valid metric label name`);
      const id = exprId(dims[tag]!);
      for (const t of targets) {
        if (STANDARD_TAGS.has(tag)) replaced.get(t)!.set(tag, id);
        else added.get(t)!.set(tag, id);
      }
    }
  }
  const metrics = {} as Record<IstioMetricKey, MetricPlan | undefined>;
  for (const m of all) {
    metrics[m] = dropped.has(m) ? undefined : plan(HTTP_METRICS.includes(m) ? HTTP_TAGS : TCP_TAGS, replaced.get(m)!, added.get(m)!);
  }
  return { exprs, metrics };
}

function plan(std: readonly string[], replaced: Map<string, number | "remove">, added: Map<string, number>): MetricPlan {
  const names: string[] = [];
  const sources: number[] = [];
  for (let i = 0; i < std.length; i++) {
    const r = replaced.get(std[i]!);
    if (r === "remove") continue;
    names.push(std[i]!);
    sources.push(r === undefined ? i : -1 - r);
  }
  for (const [tag, id] of added) {
    names.push(tag);
    sources.push(-1 - id);
  }
  const standard = names.length === std.length && sources.every((s, i) => s === i);
  return { names, sources, standard, signature: standard ? "" : `${names.join(",")}|${sources.join(",")}` };
}

// ---- attribute expressions ----

const PATH_ATTRIBUTES = new Set(["request.path", "request.url_path", "request.query"]);

/** Compiles one tag value expression; throws with the expression and why when it is not supported. */
export function compileAttribute(expr: string, node: NodeIdentity): AttributeReader {
  const e = expr.trim();
  const lit = /^'([^'\\]*)'$|^"([^"\\]*)"$/.exec(e);
  if (lit) {
    const v = lit[1] ?? lit[2]!;
    return () => v;
  }
  const str = /^string\((.+)\)$/.exec(e);
  if (str) return compileAttribute(str[1]!, node);
  const hdr = /^(request|response)\.headers\[\s*(?:'([^']+)'|"([^"]+)")\s*\]$/.exec(e);
  if (hdr) {
    const name = (hdr[2] ?? hdr[3]!).toLowerCase();
    return hdr[1] === "request" ? (i) => i.requestHeaders?.get(name) : (i) => i.responseHeaders?.get(name);
  }
  const meta = /^node\.metadata\[\s*(?:'([^']+)'|"([^"]+)")\s*\]$/.exec(e);
  if (meta) {
    const v = nodeMetadata(node, meta[1] ?? meta[2]!);
    return () => v;
  }
  if (PATH_ATTRIBUTES.has(e)) throw new Error(`istio.stats: tag value "${expr}" is not supported: request paths never become metric labels (unbounded cardinality)`);
  if (e.startsWith("filter_state")) throw new Error(`istio.stats: tag value "${expr}" is not supported: Outrigger has no filter state attributes`);
  switch (e) {
    case "request.host":
      return (i) => (i.kind === "http" ? i.authority : undefined);
    case "request.method":
      return (i) => (i.kind === "http" ? i.method : undefined);
    case "request.protocol":
      return (i) => (i.kind === "http" ? i.protocol : undefined);
    case "request.useragent":
      return (i) => i.userAgent;
    case "response.code":
      return (i) => (i.kind === "http" && i.responseCode !== 0 ? String(i.responseCode) : undefined);
    case "response.code_details":
      return (i) => i.responseCodeDetails || undefined;
    case "xds.cluster_name":
      return (i) => i.clusterName;
    case "xds.route_name":
      return (i) => i.routeName;
    case "xds.listener_direction":
      return (i) => (i.direction === "INBOUND" ? "1" : "2");
    case "destination.port":
      return (i) => portOf(i.downstreamLocalAddress);
    case "upstream.port":
      return (i) => (i.upstreamHost === undefined ? undefined : portOf(i.upstreamHost));
    case "connection.requested_server_name":
      return (i) => i.requestedServerName;
  }
  throw new Error(
    `istio.stats: tag value "${expr}" is not a supported attribute expression (supported: 'literal', request.host, request.method, request.protocol, request.useragent, request.headers['name'], response.code, response.code_details, response.headers['name'], xds.cluster_name, xds.route_name, xds.listener_direction, destination.port, upstream.port, connection.requested_server_name, node.metadata['KEY'], string(…))`,
  );
}

function portOf(addr: string): string | undefined {
  const i = addr.lastIndexOf(":");
  return i === -1 ? undefined : addr.slice(i + 1);
}

function nodeMetadata(node: NodeIdentity, key: string): string {
  switch (key) {
    case "NAME":
      return node.instanceName;
    case "NAMESPACE":
      return node.namespace;
    case "WORKLOAD_NAME":
      return node.workloadName;
    case "CLUSTER_ID":
      return node.clusterId;
    case "MESH_ID":
      return node.meshId;
    case "INSTANCE_IPS":
      return node.instanceIp;
  }
  if (key.startsWith("LABELS.")) return node.labels[key.slice(7)] ?? UNKNOWN;
  throw new Error(`istio.stats: node.metadata['${key}'] is not known (known: NAME, NAMESPACE, WORKLOAD_NAME, CLUSTER_ID, MESH_ID, INSTANCE_IPS)`);
}
