// In-process proxy for data-path tests: a ProxyRuntime bound on a free loopback port, with every
// StreamInfo recorded, and a small builder for hand-written snapshots.

import { defaultLimits, type DownstreamLimits } from "../../src/bootstrap/bootstrap.js";
import { createLogger } from "../../src/common/logger.js";
import type { Clock } from "../../src/common/clock.js";
import { seededRandom, type Random } from "../../src/common/random.js";
import type { Timers } from "../../src/common/timers.js";
import type { Cluster, RetryPolicy, Route, RouteAction, Snapshot, VirtualHost } from "../../src/config/model/types.js";
import { convertRetryPolicy } from "../../src/config/istio/retry-policy.js";
import type { StreamInfo } from "../../src/observability/stream-info.js";
import { ProxyRuntime, type ProxyRuntimeOptions } from "../../src/worker/proxy-runtime.js";
import { freePort } from "./upstreams.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { hcmOfListener } from "./model.js";

export interface TestProxy {
  port: number;
  runtime: ProxyRuntime;
  streams: StreamInfo[];
  url(path?: string): string;
  close(): Promise<void>;
}

export async function startProxy(
  snapshot: Snapshot,
  opts: { limits?: Partial<DownstreamLimits>; random?: Random; timers?: Timers; clock?: Clock; runtime?: Pick<ProxyRuntimeOptions, "httpFilters" | "networkFilters" | "transportSockets" | "listenerFilters" | "telemetry" | "stats" | "originalDst"> } = {},
): Promise<TestProxy> {
  const streams: StreamInfo[] = [];
  const runtime = new ProxyRuntime({
    limits: { ...defaultLimits, ...opts.limits },
    random: opts.random ?? seededRandom(42),
    ...(opts.timers !== undefined ? { timers: opts.timers } : {}),
    ...(opts.clock !== undefined ? { clock: opts.clock } : {}),
    log: createLogger("off"),
    onStream: (i) => streams.push(i),
    ...opts.runtime,
  });
  const r = await runtime.apply(snapshot);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const port = snapshot.listeners[0]!.port;
  return {
    port,
    runtime,
    streams,
    url: (p = "/") => `http://127.0.0.1:${port}${p}`,
    close: async () => runtime.close(),
  };
}

/**
 * istiod's retry policy for a VirtualService without `retries` (retryOn, 2 retries, previous-hosts
 * predicate), with 503 retriable as older Istio had it and a 1–2 ms back-off so tests do not wait.
 */
export const istioRetries: RetryPolicy = { ...convertRetryPolicy(undefined, false)!, retriableStatusCodes: [503], backoffBaseMs: 1, backoffMaxMs: 2 };

export function cluster(name: string, ports: number[], extra: Partial<Cluster> = {}): Cluster {
  return {
    name,
    type: "STATIC",
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: 1_000,
    loadAssignment: {
      endpoints: [{ locality: {}, priority: 0, lbEndpoints: ports.map((port) => ({ address: "127.0.0.1", port, weight: 1, labels: {}, healthStatus: "HEALTHY" as const })) }],
    },
    ...extra,
  };
}

export function route(name: string, action: Partial<Route> & { route?: RouteAction }, match: Partial<Route["match"]> = {}): Route {
  return {
    name,
    match: { prefix: "/", caseSensitive: true, headers: [], queryParameters: [], ...match },
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
    ...action,
  };
}

/**
 * One listener on a fresh port with one route configuration of the given virtual hosts. Its
 * connection manager lets WebSocket upgrades through, as istiod's every HTTP connection manager.
 */
export async function snapshotWith(virtualHosts: VirtualHost[], clusters: Cluster[]): Promise<Snapshot> {
  const port = await freePort();
  const listener = httpListener({ address: "127.0.0.1", port, direction: "OUTBOUND", routeConfigName: "rc" });
  hcmOfListener(listener).upgradeConfigs = [{ upgradeType: "websocket" }];
  return {
    version: "test/1",
    listeners: [listener],
    routeConfigs: { rc: { name: "rc", virtualHosts } },
    clusters: Object.fromEntries(clusters.map((c) => [c.name, c])),
  };
}
