// Envoy's TCP proxy (envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, and the 1.4-era v2
// message) → the model's TcpProxy. Tunnelling (HBONE CONNECT) and on-demand clusters change
// where bytes go: errors. Tuning knobs Outrigger does not have are notes.

import { DEFAULT_TCP_IDLE_TIMEOUT_MS } from "../model/listener-defaults.js";
import type { TcpProxy } from "../model/types.js";
import { decodeAccessLogs } from "./decode-access-log.js";
import { at, checkFields, DecodeState, durationMs, list, obj, str, uint } from "./decode-common.js";
import type { Json } from "./decoded.js";

export function decodeTcpProxy(o: Json, path: string, st: DecodeState): TcpProxy | undefined {
  checkFields(o, path, st, ["stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "max_connect_attempts", "access_log"], {
    tunneling_config: "tcp_proxy tunneling (HTTP CONNECT / HBONE) is not supported by Outrigger",
    on_demand: "on-demand cluster discovery is not supported by Outrigger",
    deprecated_v1: "the v1 tcp_proxy route table is not supported; use cluster",
  }, {
    metadata_match: "metadata_match (subset load balancing) is not supported; every endpoint is eligible",
    hash_policy: "tcp_proxy hash_policy is not supported; the cluster's load balancer picks without a hash",
    max_downstream_connection_duration: "max_downstream_connection_duration is not supported; connections are not time-limited",
    access_log_flush_interval: "access_log_flush_interval is not supported: one entry per connection at close",
    access_log_options: "access_log_options are not supported: one entry per connection at close",
    downstream_idle_timeout: "downstream_idle_timeout is not supported; idle_timeout applies",
    upstream_idle_timeout: "upstream_idle_timeout is not supported; idle_timeout applies",
    flush_access_log_on_connected: "flush_access_log_on_connected is not supported",
    backoff_options: "connect back-off options are not supported",
  });
  const statPrefix = str(o.stat_prefix, at(path, "stat_prefix"), st);
  if (statPrefix === undefined || statPrefix === "") st.error(at(path, "stat_prefix"), "required");
  const t: TcpProxy = { statPrefix: statPrefix ?? "", idleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS, maxConnectAttempts: 1 };
  const cluster = str(o.cluster, at(path, "cluster"), st);
  if (cluster !== undefined && cluster !== "") t.cluster = cluster;
  if (o.weighted_clusters !== undefined) {
    const wp = at(path, "weighted_clusters");
    const wo = obj(o.weighted_clusters, wp, st) ?? {};
    const ws: NonNullable<TcpProxy["weightedClusters"]> = [];
    list(wo.clusters, at(wp, "clusters"), st).forEach((c, i) => {
      const cp = at(at(wp, "clusters"), i);
      const co = obj(c, cp, st);
      if (co === undefined) return;
      checkFields(co, cp, st, ["name", "weight"], {}, { metadata_match: "metadata_match (subset load balancing) is not supported; every endpoint is eligible" });
      const name = str(co.name, at(cp, "name"), st);
      const weight = uint(co.weight, at(cp, "weight"), st);
      if (name === undefined || name === "") return st.error(at(cp, "name"), "required");
      ws.push({ name, weight: weight ?? 0 });
    });
    if (ws.length === 0) st.error(at(wp, "clusters"), "at least one cluster is required");
    t.weightedClusters = ws;
  }
  if ((t.cluster === undefined) === (t.weightedClusters === undefined)) st.error(path, "exactly one of cluster, weighted_clusters must be set");
  // Envoy: an unset idle_timeout is 1 h; "0s" disables it.
  const idle = durationMs(o.idle_timeout, at(path, "idle_timeout"), st);
  if (idle !== undefined) t.idleTimeoutMs = idle;
  const attempts = uint(o.max_connect_attempts, at(path, "max_connect_attempts"), st);
  if (attempts !== undefined) {
    if (attempts < 1) st.error(at(path, "max_connect_attempts"), "must be at least 1");
    else t.maxConnectAttempts = attempts;
  }
  const logs = decodeAccessLogs(o.access_log, at(path, "access_log"), st);
  if (logs !== undefined) t.accessLog = logs;
  return t;
}
