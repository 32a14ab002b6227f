// Bootstrap: the validated start-up settings of one proxy process (flags + environment).

import type { LogLevel } from "../common/logger.js";
import type { Locality } from "../config/model/types.js";
import type { NodeIdentity } from "../observability/node-identity.js";
import type { OtelEnv } from "./otel-env.js";
import type { Interception } from "../config/istio/interception.js";
import type { IdentitySettings } from "./identity-flags.js";

export interface DownstreamLimits {
  /** 60 KiB: Envoy's default max_request_headers_kb. */
  maxRequestHeadersKb: number;
  /** 100: Envoy's default max_headers_count. */
  maxHeadersCount: number;
  /**
   * 10 000 ms to receive a complete request head, measured from the first byte (slowloris guard;
   * Envoy leaves request_headers_timeout off by default, its edge best practice is 10 s).
   */
  requestHeadersTimeoutMs: number;
  /** 3 600 000 ms: Envoy's default downstream idle_timeout (1 h) for keep-alive connections. */
  idleTimeoutMs: number;
}

export interface Bootstrap {
  /** Files or folders of Istio YAML, in the order given. */
  configPaths: string[];
  /** Worker threads (data path). */
  workers: number;
  /**
   * Bind listeners with SO_REUSEPORT in every worker (the OS spreads connections over them).
   * False where the OS cannot (macOS, Windows): one worker then accepts every connection.
   */
  reusePort: boolean;
  adminAddress: string;
  /** 15000: Istio's ProxyAdminPort. 0 = pick a free port. */
  adminPort: number;
  /**
   * 15021: Istio's health port (`/healthz/ready` on 0.0.0.0, what Kubernetes probes). 0 = pick a
   * free port; absent = no health port (`outrigger demo`).
   */
  healthPort?: number | undefined;
  /**
   * 15090: Istio's Envoy Prometheus port, `/stats/prometheus` on every address (0.0.0.0), where
   * pilot-agent and Prometheus scrape. 0 = pick a free port; absent = no stats port (the demo).
   */
  statsPort?: number;
  /** The proxy's own namespace (--namespace, else $POD_NAMESPACE, else "default"). */
  namespace: string;
  /** The proxy's own workload labels (sourceLabels matching, Sidecar workloadSelector). */
  proxyLabels: Record<string, string>;
  /** Who this proxy is (node id, workload, namespace, cluster, canonical service), as istio-agent tells Envoy. */
  node: NodeIdentity;
  /** Istio's DNS domain suffix: cluster.local. */
  domainSuffix: string;
  /**
   * The default outbound listener (Istio's HTTP-proxy-style listener: every visible service on
   * every HTTP port) when no Sidecar egress without a port says otherwise. null = none.
   */
  outbound: { address: string; port: number } | null;
  /**
   * On SIGTERM/SIGINT: how long inbound listeners drain gracefully (and outbound keeps serving)
   * before the proxy exits; Istio's terminationDrainDuration (5 000 ms).
   */
  drainTimeoutMs: number;
  /**
   * Istio's EXIT_ON_ZERO_ACTIVE_CONNECTIONS: after `minimumDrainMs`, exit as soon as no downstream
   * connection is open instead of waiting out `drainTimeoutMs`.
   */
  exitOnZeroActiveConnections: boolean;
  /** Istio's MINIMUM_DRAIN_DURATION (5 000 ms): the drain before active connections are counted. */
  minimumDrainMs: number;
  limits: DownstreamLimits;
  logLevel: LogLevel;
  /** Watch config files and reload on change (SIGHUP always reloads). */
  watch: boolean;
  /**
   * The proxy's own locality (--locality, else $ISTIO_LOCALITY, `region/zone/subzone`), for
   * locality failover and distribute. Absent = empty locality.
   */
  proxyLocality?: Locality;
  /**
   * Istio <= 1.27 behaviour: mirrored requests carry the `-shadow` Host suffix. Absent/false =
   * Istio >= 1.28 (no suffix).
   */
  mirrorShadowSuffix?: boolean;
  /** --mesh-config: the MeshConfig file (a bare MeshConfig or the istio ConfigMap), watched like --config. */
  meshConfigPath?: string;
  /** --root-namespace when given (the MeshConfig's rootNamespace wins; istio-system by default). */
  rootNamespace?: string;
  /** The OTEL_* tracing environment (exporter endpoint, headers, timeout, service name, sampler); absent = none set. */
  otel?: OtelEnv;
  /** --intercept: the capture ports, interception mode and proxy uid; absent = no interception. */
  intercept?: Interception;
  /** --certs / --ca-address, --trust-domain, --service-account; absent = no workload identity. */
  identity?: IdentitySettings;
  /**
   * Access-log files: how often buffered lines are written (Envoy's --file-flush-interval-msec) and
   * the buffer size written at once (--file-flush-min-size-kb, bytes); absent = 1 s and 64 KiB.
   */
  accessLogFlush?: { intervalMs: number; minBytes: number };
}

export const defaultLimits: DownstreamLimits = {
  maxRequestHeadersKb: 60,
  maxHeadersCount: 100,
  requestHeadersTimeoutMs: 10_000,
  idleTimeoutMs: 3_600_000,
};

/** 15000: Istio's ProxyAdminPort. */
export const defaultAdminPort = 15000;
/** 15021: Istio's status port for Kubernetes readiness probes (the sidecar's static 0.0.0.0_15021 listener). */
export const defaultHealthPort = 15021;
/** 15090: the port of Envoy's `/stats/prometheus` listener in Istio's bootstrap (ENVOY_PROMETHEUS_PORT). */
export const defaultStatsPort = 15090;
/** Every address: Prometheus and pilot-agent scrape it from outside the proxy. */
export const statsAddress = "0.0.0.0";
/** Loopback only: the admin API can reload and dump config, never expose it by default. */
export const defaultAdminAddress = "127.0.0.1";
/** cluster.local: Istio's default DNS domain suffix. */
export const defaultDomainSuffix = "cluster.local";
/** 127.0.0.1:15001: Istio's outbound capture port (VirtualOutbound). */
export const defaultOutbound: { address: string; port: number } = { address: "127.0.0.1", port: 15001 };
/** 5 000 ms: Istio's terminationDrainDuration default. */
export const defaultDrainTimeoutMs = 5_000;
/** 5 000 ms: Istio's MINIMUM_DRAIN_DURATION default. */
export const defaultMinimumDrainMs = 5_000;
/** 2: Istio's default sidecar concurrency (ProxyConfig.concurrency), capped by the usable CPUs. */
export const defaultWorkers = 2;
