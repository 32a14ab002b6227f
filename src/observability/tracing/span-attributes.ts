// What a finished request's span says, with the names Envoy's HTTP tracer gives its tags
// (source/common/tracing/http_tracer_impl.cc finalizeDownstreamSpan / setCommonTags; all values
// are strings, as Envoy sets them), its name (Istio's route decorator operation) and its
// OpenTelemetry status (Envoy's OpenTelemetry tracer, from http.status_code).

import type { RequestHeaders } from "../../http/http-message.js";
import { formatResponseFlags, type StreamInfo } from "../stream-info.js";

/** A custom tag whose value is read from the request (Envoy's RequestHeaderCustomTag). */
export interface HeaderTag {
  tag: string;
  /** Lower-cased header name. */
  header: string;
  /** Used when the header is absent; "" = the tag is not set. */
  defaultValue: string;
}

/** A chain's span settings, compiled once per snapshot. */
export interface SpanTemplate {
  client: boolean;
  maxPathTagLength: number;
  /** node_id and zone (Envoy sets them when the span starts). */
  localTags: Readonly<Record<string, string>>;
  /** Custom tags with a fixed value (literal, environment, Istio's istio.* tags), applied last. */
  fixedCustomTags: Readonly<Record<string, string>>;
  /** The two above as entry arrays (what the encoder walks). */
  localTagEntries: ReadonlyArray<readonly [string, string]>;
  fixedCustomTagEntries: ReadonlyArray<readonly [string, string]>;
  headerTags: readonly HeaderTag[];
  /**
   * A custom tag has the name of a standard tag or of another custom tag, so custom tags must
   * replace by name (`set`). Almost never: then they are simply appended, skipping a scan of
   * every tag already set per custom tag per span.
   */
  customTagsMayCollide: boolean;
  /**
   * localTagEntries and fixedCustomTagEntries encoded once (OTLP `Span.attributes` fields), used
   * when custom tags cannot collide: the encoder copies them around the per-request tags.
   */
  localTagsEncoded: Uint8Array;
  fixedCustomTagsEncoded: Uint8Array;
}

/** Every tag name applyFinishedRequest itself may set (what a custom tag could collide with). */
export const STANDARD_TAG_NAMES: readonly string[] = [
  "node_id",
  "zone",
  "guid:x-request-id",
  "http.url",
  "http.method",
  "downstream_cluster",
  "user_agent",
  "http.protocol",
  "peer.address",
  "request_size",
  "response_size",
  "component",
  "upstream_cluster",
  "upstream_cluster.name",
  "upstream_address",
  "http.status_code",
  "response_flags",
  "error",
];

/**
 * The span's name: Istio's route decorator operation `<host>:<port>/*` when the cluster is an
 * Istio outbound cluster (`outbound|<port>|<subset>|<host>`, the decorator Istio writes for a
 * route to one destination); otherwise Envoy's names without a decorator, `egress <authority>`
 * for an outbound request and `ingress` for an inbound one.
 */
export function spanName(client: boolean, clusterName: string | undefined, authority: string): string {
  if (clusterName !== undefined && clusterName.startsWith("outbound|")) {
    // By index rather than split("|"): no array per span.
    const b = clusterName.indexOf("|", 9);
    const c = b === -1 ? -1 : clusterName.indexOf("|", b + 1);
    if (c !== -1 && b > 9 && c < clusterName.length - 1 && clusterName.indexOf("|", c + 1) === -1) return `${clusterName.slice(c + 1)}:${clusterName.slice(9, b)}/*`;
  }
  return client ? `egress ${authority}` : "ingress";
}

/** Where a finished request's tags go (a span record being encoded). */
export interface SpanAttributeSink {
  /** Appends a tag this request has not set yet (Envoy's standard tags are distinct). */
  add(key: string, value: string): void;
  /** Sets a tag, replacing one of the same name (custom tags may override standard ones). */
  set(key: string, value: string): void;
  /** The span's status code (OTLP Status.code: 2 = ERROR). */
  statusCode: number;
}

/** Envoy's tags, the custom tags and the status of a span whose request has finished. */
export function applyFinishedRequest(span: SpanAttributeSink, t: SpanTemplate, info: StreamInfo, req: RequestHeaders): void {
  const h = req.headers;
  // Without collisions the fixed tags are the template's pre-encoded bytes (the tracer hands
  // them to the encoder); with them, every tag goes through the sink so later ones replace.
  const collide = t.customTagsMayCollide;
  const local = t.localTagEntries;
  if (collide) for (let i = 0; i < local.length; i++) span.add(local[i]![0], local[i]![1]);
  const rid = h.get("x-request-id");
  if (rid !== undefined) span.add("guid:x-request-id", rid);
  span.add("http.url", httpUrl(h.get("x-forwarded-proto") ?? req.scheme, req.authority, info.path, t.maxPathTagLength));
  span.add("http.method", info.method === "" ? req.method : info.method);
  span.add("downstream_cluster", h.get("x-envoy-downstream-service-cluster") ?? "-");
  span.add("user_agent", h.get("user-agent") ?? "-");
  span.add("http.protocol", info.protocol);
  span.add("peer.address", addressIp(info.downstreamRemoteAddress));
  span.add("request_size", String(info.bytesReceived));
  span.add("response_size", String(info.bytesSent));
  span.add("component", "proxy");
  // Envoy tags the cluster only when the route's cluster exists (not NR, not NC).
  if (info.clusterName !== undefined && !info.responseFlags.includes("NC")) {
    span.add("upstream_cluster", info.clusterName);
    span.add("upstream_cluster.name", info.clusterName);
  }
  // Envoy puts the host only on upstream (child) spans; with one span per request it goes here.
  if (info.upstreamHost !== undefined) span.add("upstream_address", info.upstreamHost);
  const code = info.responseCode;
  span.add("http.status_code", String(code));
  span.add("response_flags", formatResponseFlags(info.responseFlags));
  // No response (a reset) or a 5xx is an error (Envoy's `error` tag) …
  if (code === 0 || code >= 500) span.add("error", "true");
  // … and the span status follows OpenTelemetry's HTTP conventions, as Envoy's OTel tracer sets
  // it: 5xx (or nothing understood) is an error, 4xx only for a client span.
  span.statusCode = code === 0 || code >= 500 || (t.client && code >= 400) ? 2 : 0;
  // Custom tags last: they may override the standard ones (Envoy applies them after).
  const tags = t.headerTags;
  const fixed = t.fixedCustomTagEntries;
  if (collide) {
    for (let i = 0; i < tags.length; i++) {
      const tag = tags[i]!;
      const v = h.get(tag.header) ?? tag.defaultValue;
      if (v !== "") span.set(tag.tag, v);
    }
    for (let i = 0; i < fixed.length; i++) span.set(fixed[i]![0], fixed[i]![1]);
    return;
  }
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    const v = h.get(tag.header) ?? tag.defaultValue;
    if (v !== "") span.add(tag.tag, v);
  }
}

/** Envoy's buildOriginalUri: `<x-forwarded-proto>://<host><original path, truncated>`. */
export function httpUrl(proto: string, host: string, path: string, maxPathLength: number): string {
  return `${proto}://${host}${path.length > maxPathLength ? path.slice(0, maxPathLength) : path}`;
}

/** `10.0.0.1:5000` → `10.0.0.1`, `[::1]:5000` → `::1` (Envoy's peer.address is the IP alone). */
export function addressIp(address: string): string {
  if (address.startsWith("[")) {
    const end = address.indexOf("]");
    return end === -1 ? address : address.slice(1, end);
  }
  const colon = address.lastIndexOf(":");
  // More than one colon without brackets: a bare IPv6 address, no port to strip.
  return colon === -1 || address.indexOf(":") !== colon ? address : address.slice(0, colon);
}
