// An Envoy bootstrap's facts as Outrigger's own start-up settings (Bootstrap): workers from
// --concurrency, the admin address from admin.address, the drain period from --drain-time-s, and
// this proxy's identity (telemetry, peer metadata) from the node's Istio metadata (NAME,
// NAMESPACE, LABELS, WORKLOAD_NAME, CLUSTER_ID, MESH_ID, INSTANCE_IPS) — never from flags.

import { defaultDomainSuffix, defaultLimits, defaultMinimumDrainMs, type Bootstrap } from "../bootstrap/bootstrap.js";
import type { LogLevel } from "../common/logger.js";
import type { Json } from "../config/envoy/decoded.js";
import { nodeIdentity } from "../observability/node-identity.js";

export interface OutriggerSettings {
  workers: number;
  reusePort: boolean;
  logLevel: LogLevel;
  drainTimeoutMs: number;
  /** --file-flush-interval-msec / --file-flush-min-size-kb (bytes); absent = Outrigger's defaults. */
  accessLogFlush?: { intervalMs: number; minBytes: number } | undefined;
  /** Where the admin server listens; absent in the bootstrap = 127.0.0.1 on a free port. */
  admin?: { address: string; port: number } | undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** node.metadata.LABELS (a Struct of strings) as labels. */
function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

export function outriggerBootstrap(node: Json, s: OutriggerSettings): Bootstrap {
  const md = (typeof node.metadata === "object" && node.metadata !== null ? node.metadata : {}) as Json;
  const namespace = str(md.NAMESPACE) ?? "default";
  const labels = labelsOf(md.LABELS);
  const identity = nodeIdentity({
    env: {
      POD_NAME: str(md.NAME),
      INSTANCE_IP: str(md.INSTANCE_IPS)?.split(",")[0],
      ISTIO_META_WORKLOAD_NAME: str(md.WORKLOAD_NAME),
      ISTIO_META_CLUSTER_ID: str(md.CLUSTER_ID),
      ISTIO_META_MESH_ID: str(md.MESH_ID),
    },
    namespace,
    labels,
    domainSuffix: defaultDomainSuffix,
  });
  const id = str(node.id);
  return {
    configPaths: [],
    workers: s.reusePort ? s.workers : 1,
    reusePort: s.reusePort,
    adminAddress: s.admin?.address ?? "127.0.0.1",
    adminPort: s.admin?.port ?? 0,
    namespace,
    proxyLabels: labels,
    node: id !== undefined ? { ...identity, nodeId: id } : identity,
    domainSuffix: defaultDomainSuffix,
    outbound: null,
    drainTimeoutMs: s.drainTimeoutMs,
    exitOnZeroActiveConnections: false,
    minimumDrainMs: defaultMinimumDrainMs,
    limits: defaultLimits,
    logLevel: s.logLevel,
    watch: false,
    ...(s.accessLogFlush !== undefined ? { accessLogFlush: s.accessLogFlush } : {}),
  };
}
