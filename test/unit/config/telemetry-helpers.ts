// Test helpers for telemetry translation: a proxy with one HTTP and one TCP listener each way, a
// mesh config given as `--mesh-config` text, and accessors for what each listener got.

import { parseMeshConfigText } from "../../../src/config/load/load-mesh-config.js";
import type { TranslateOptions } from "../../../src/config/istio/translate.js";
import { HTTP_CONNECTION_MANAGER, TCP_PROXY, type HttpConnectionManager, type TcpProxy, type TrafficDirection } from "../../../src/config/model/types.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";
import { run } from "./helpers.js";

/** shop/web: inbound HTTP 8080 and TCP 5432; outbound HTTP (default listener) and TCP 15432 → db. */
export const PROXY_YAML = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: shop}
spec:
  hosts: [db.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
  endpoints: [{address: 10.0.0.9}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  ingress:
  - port: {number: 8080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:9080
  - port: {number: 5432, protocol: TCP, name: tcp-pg}
    defaultEndpoint: 127.0.0.1:15433
  egress:
  - port: {number: 15432, protocol: TCP, name: tcp-db}
    hosts: ["*/db.example.com"]
  - hosts: ["*/*"]
---
`;

export const OUTBOUND: Partial<TranslateOptions> = { defaultOutbound: { address: "127.0.0.1", port: 15001 } };

/** The MeshConfig text as `--mesh-config` would load it (load errors throw). */
export function meshDoc(text: string, file = "mesh.yaml"): NonNullable<TranslateOptions["meshConfig"]> {
  const m = parseMeshConfigText(text, file);
  if (m.errors.length > 0 || m.doc === undefined) throw new Error(m.errors.map(formatConfigError).join("\n"));
  return m.doc;
}

export type Translated = ReturnType<typeof run>;

/** Translate PROXY_YAML + `extra` documents with a mesh config (text) and options. */
export function translateWith(opts: { mesh?: string; extra?: string } & Partial<TranslateOptions> = {}): Translated {
  const { mesh, extra, ...rest } = opts;
  return run(PROXY_YAML + (extra ?? ""), { ...OUTBOUND, ...(mesh !== undefined ? { meshConfig: meshDoc(mesh) } : {}), ...rest });
}

export function hcm(r: Translated, direction: TrafficDirection): HttpConnectionManager {
  for (const l of r.snapshot.listeners) {
    if (l.trafficDirection !== direction) continue;
    for (const c of l.filterChains) for (const f of c.filters) if (f.name === HTTP_CONNECTION_MANAGER) return f.typedConfig;
  }
  throw new Error(`no ${direction} connection manager`);
}

export function tcp(r: Translated, direction: TrafficDirection): TcpProxy {
  for (const l of r.snapshot.listeners) {
    if (l.trafficDirection !== direction) continue;
    for (const c of l.filterChains) for (const f of c.filters) if (f.name === TCP_PROXY) return f.typedConfig;
  }
  throw new Error(`no ${direction} tcp_proxy`);
}

export function filterNames(h: HttpConnectionManager): string[] {
  return h.httpFilters.map((f) => f.name);
}

/** Istio's default TEXT access log format, written out independently of the source (facts §6). */
export const ISTIO_DEFAULT_TEXT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio's default JSON access log keys → operators (EnvoyJSONLogFormatIstio), alphabetical as they print. */
export const ISTIO_DEFAULT_JSON: Record<string, string> = {
  authority: "%REQ(:AUTHORITY)%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%",
  downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  duration: "%DURATION%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  request_id: "%REQ(X-REQUEST-ID)%",
  requested_server_name: "%REQUESTED_SERVER_NAME%",
  response_code: "%RESPONSE_CODE%",
  response_code_details: "%RESPONSE_CODE_DETAILS%",
  response_flags: "%RESPONSE_FLAGS%",
  route_name: "%ROUTE_NAME%",
  start_time: "%START_TIME%",
  upstream_cluster: "%UPSTREAM_CLUSTER_RAW%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%",
  upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
  user_agent: "%REQ(USER-AGENT)%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
};

/** A Telemetry document. */
export function telemetry(name: string, ns: string, spec: string, extraMeta = ""): string {
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: ${name}
  namespace: ${ns}${extraMeta}
spec:
${spec}
---
`;
}
