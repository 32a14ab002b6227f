// The upstream protocol of a cluster, as istiod chooses it (cluster_builder.go setUpstreamProtocol,
// cluster_traffic_policy.go applyH2Upgrade / shouldH2Upgrade / applyConnectionPool), in istiod's
// order: the port's protocol first (HTTP2 / GRPC / GRPC-WEB → HTTP/2; no protocol, i.e. detection
// → the downstream's protocol), then (outbound only) the h2 upgrade policy of the DestinationRule
// or of the MeshConfig, which only fills a cluster the port left unset, then `maxConcurrentStreams`
// on an HTTP/2 cluster, and last `useClientProtocol`, which overrides everything before it.

import type { Http2ProtocolOptions, HttpProtocolOptions } from "../model/types.js";
import type { ConnectionPoolSettings } from "./istio-traffic-policy.js";
import { isHttpProtocol, type Protocol } from "./protocol.js";

export type MeshH2UpgradePolicy = "DO_NOT_UPGRADE" | "UPGRADE";

export interface UpstreamProtocolInput {
  /** The service (or inbound) port's protocol; undefined = unset or unknown (protocol detection). */
  protocol: Protocol | undefined;
  direction: "outbound" | "inbound";
  /** MeshConfig h2UpgradePolicy; absent = DO_NOT_UPGRADE (the enum's zero value). */
  meshH2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
}

type UpstreamChoice = Pick<HttpProtocolOptions, "explicitHttpConfig" | "useDownstreamProtocolConfig">;

/** Istio Instance.IsHTTP2: the port protocols istiod always sends upstream over HTTP/2. */
export function isHttp2Protocol(p: Protocol | undefined): boolean {
  return p === "HTTP2" || p === "GRPC" || p === "GRPC-WEB";
}

/** istiod's shouldH2Upgrade (outbound clusters only). */
export function shouldH2Upgrade(protocol: Protocol | undefined, http: ConnectionPoolSettings["http"], mesh: MeshH2UpgradePolicy | undefined): boolean {
  if (http !== undefined) {
    if (http.useClientProtocol === true) return false;
    // An explicit DestinationRule choice wins, whatever the port: the user says it is HTTP.
    if (http.h2UpgradePolicy === "UPGRADE") return true;
    if (http.h2UpgradePolicy === "DO_NOT_UPGRADE") return false;
  }
  // The mesh-wide default upgrades declared HTTP ports only: a detected port may carry an
  // HTTP/1.1-only app behind a client that spoke HTTP/2.
  if (!isHttpProtocol(protocol)) return false;
  return mesh === "UPGRADE";
}

/** The cluster's explicit_http_config / use_downstream_protocol_config, or {} when HTTP/1.1 by default. */
export function upstreamProtocolFor(http: ConnectionPoolSettings["http"], input: UpstreamProtocolInput): UpstreamChoice {
  return decideUpstreamProtocol(http, input).choice;
}

/**
 * The choice and why, for `validate` and `explain`: `HTTP/2 (port protocol GRPC)`,
 * `downstream's protocol (port protocol unset: detected)`, `HTTP/2 (DestinationRule h2UpgradePolicy UPGRADE)`, …
 */
export function decideUpstreamProtocol(http: ConnectionPoolSettings["http"], input: UpstreamProtocolInput): { choice: UpstreamChoice; reason: string } {
  let explicit: UpstreamChoice["explicitHttpConfig"];
  let downstream: UpstreamChoice["useDownstreamProtocolConfig"];
  let why = input.protocol === undefined ? "port protocol unset: detected" : `port protocol ${input.protocol}`;
  // setUpstreamProtocol (istiod writes empty Http2ProtocolOptions: Envoy's defaults).
  if (isHttp2Protocol(input.protocol)) explicit = { http2ProtocolOptions: {} };
  else if (input.protocol === undefined) downstream = { httpProtocolOptions: {}, http2ProtocolOptions: {} };
  // applyH2Upgrade: setH2Options only when the port chose nothing.
  if (input.direction === "outbound" && explicit === undefined && downstream === undefined && shouldH2Upgrade(input.protocol, http, input.meshH2UpgradePolicy)) {
    explicit = { http2ProtocolOptions: {} };
    why = http?.h2UpgradePolicy === "UPGRADE" ? "DestinationRule h2UpgradePolicy UPGRADE" : "MeshConfig h2UpgradePolicy UPGRADE";
  }
  // applyConnectionPool: maxConcurrentStreams counts on an explicit HTTP/2 cluster only, when > 0.
  const mcs = http?.maxConcurrentStreams ?? 0;
  if (mcs > 0 && explicit?.http2ProtocolOptions !== undefined) {
    const h2: Http2ProtocolOptions = { ...explicit.http2ProtocolOptions, maxConcurrentStreams: mcs };
    explicit = { http2ProtocolOptions: h2 };
  }
  // setUseDownstreamProtocol: keeps explicit HTTP/1.1 options, the HTTP/2 half empty.
  if (http?.useClientProtocol === true) {
    downstream = { httpProtocolOptions: explicit?.httpProtocolOptions ?? {}, http2ProtocolOptions: {} };
    explicit = undefined;
    why = "DestinationRule useClientProtocol";
  }
  const choice: UpstreamChoice = {};
  if (explicit !== undefined) choice.explicitHttpConfig = explicit;
  if (downstream !== undefined) choice.useDownstreamProtocolConfig = downstream;
  // A TCP-family port's cluster serves tcp_proxy, which never reads the HTTP options.
  const bytes = input.protocol !== undefined && !isHttpProtocol(input.protocol);
  if (bytes && explicit === undefined && downstream === undefined) return { choice, reason: `not HTTP (port protocol ${input.protocol}: bytes through tcp_proxy)` };
  return { choice, reason: `${upstreamProtocolText(choice)} (${why}${bytes ? `; unused: port protocol ${input.protocol} is proxied as bytes` : ""})` };
}

/** How `validate` / `explain` say which protocol a cluster speaks upstream (from the model alone). */
export function upstreamProtocolText(hpo: Pick<HttpProtocolOptions, "explicitHttpConfig" | "useDownstreamProtocolConfig"> | undefined): string {
  if (hpo?.useDownstreamProtocolConfig !== undefined) return "downstream's protocol";
  const h2 = hpo?.explicitHttpConfig?.http2ProtocolOptions;
  if (h2 !== undefined) return h2.maxConcurrentStreams !== undefined ? `HTTP/2, max concurrent streams ${h2.maxConcurrentStreams}` : "HTTP/2";
  return "HTTP/1.1";
}
