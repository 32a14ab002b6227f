// The Envoy attributes an access-log filter expression may read (Envoy's CEL attribute
// vocabulary: request.*, response.*, connection.*, source.*, destination.*, upstream.*, xds.*),
// answered from the finished StreamInfo. Attributes Outrigger cannot answer truthfully are not
// listed, so an expression naming one is refused when the config is loaded.

import type { HeaderList } from "../../http/header-list.js";
import { responseGrpcStatus } from "../../http/grpc/grpc-status.js";
import type { StreamInfo } from "../stream-info.js";
import { justPort, withPort } from "./address-format.js";
import { flagBits } from "./envoy-response-flags.js";

/** A header map as CEL sees it: lower-case keys, repeated values joined with ",". */
export class CelHeaderMap {
  constructor(readonly headers: HeaderList | undefined) {}
  get(key: string): string | undefined {
    return this.headers?.getJoined(key.toLowerCase());
  }
  has(key: string): boolean {
    return this.headers?.has(key.toLowerCase()) ?? false;
  }
  get size(): number {
    return this.headers?.size ?? 0;
  }
}

/** An attribute with no value for this stream (CEL: no such attribute → an error). */
export const ABSENT = Symbol("absent");

export type CelAttributeValue = string | number | boolean | CelHeaderMap | typeof ABSENT;
export type CelAttribute = (info: StreamInfo) => CelAttributeValue;

const opt = (v: string | number | undefined): string | number | typeof ABSENT => (v === undefined || v === "" ? ABSENT : v);
const req = (info: StreamInfo): boolean => info.requestHeaders !== undefined;

function pathOnly(p: string): string {
  const q = p.indexOf("?");
  return q === -1 ? p : p.slice(0, q);
}

export const CEL_ATTRIBUTES: Readonly<Record<string, CelAttribute>> = {
  "request.path": (i) => (req(i) ? i.path : ABSENT),
  "request.url_path": (i) => (req(i) ? pathOnly(i.path) : ABSENT),
  "request.host": (i) => (req(i) ? i.authority : ABSENT),
  "request.scheme": (i) => (req(i) ? opt(i.scheme) : ABSENT),
  "request.method": (i) => (req(i) ? i.method : ABSENT),
  "request.headers": (i) => new CelHeaderMap(i.requestHeaders),
  "request.referer": (i) => opt(i.requestHeaders?.get("referer")),
  "request.useragent": (i) => opt(i.userAgent),
  "request.id": (i) => opt(i.requestId),
  "request.protocol": (i) => (i.protocol === "-" ? ABSENT : i.protocol),
  "request.query": (i) => {
    if (!req(i)) return ABSENT;
    const q = i.path.indexOf("?");
    return q === -1 ? "" : i.path.slice(q + 1);
  },
  "request.size": (i) => i.bytesReceived,
  "response.code": (i) => (i.responseCode === 0 ? ABSENT : i.responseCode),
  "response.code_details": (i) => opt(i.responseCodeDetails),
  "response.flags": (i) => flagBits(i.responseFlags),
  // Envoy's CEL: getGrpcStatus(trailers, headers, info): the trailers', the headers', else mapped
  // from the HTTP status (absent without a response).
  "response.grpc_status": (i) => {
    const s = responseGrpcStatus(i.responseTrailers, i.responseHeaders, i.responseCode);
    return s === undefined ? ABSENT : s;
  },
  "response.headers": (i) => new CelHeaderMap(i.responseHeaders),
  "response.trailers": (i) => new CelHeaderMap(i.responseTrailers),
  "response.size": (i) => i.bytesSent,
  "connection.requested_server_name": (i) => i.requestedServerName ?? "",
  "connection.termination_details": (i) => opt(i.connectionTerminationDetails),
  "source.address": (i) => opt(withPort(i.downstreamRemoteAddress)),
  "source.port": (i) => opt(justPort(i.downstreamRemoteAddress)),
  "destination.address": (i) => opt(withPort(i.downstreamLocalAddress)),
  "destination.port": (i) => opt(justPort(i.downstreamLocalAddress)),
  "upstream.address": (i) => opt(withPort(i.upstreamHost)),
  "upstream.port": (i) => opt(justPort(i.upstreamHost)),
  "upstream.local_address": (i) => opt(withPort(i.upstreamLocalAddress)),
  "upstream.transport_failure_reason": (i) => opt(i.upstreamTransportFailureReason),
  "xds.cluster_name": (i) => opt(i.clusterName),
  "xds.route_name": (i) => opt(i.routeName),
  "xds.virtual_host_name": (i) => opt(i.virtualHostName),
  "xds.filter_chain_name": (i) => opt(i.filterChainName),
};

/** Roots of the attribute names (for "unknown attribute" errors). */
export const CEL_ROOTS: ReadonlySet<string> = new Set(Object.keys(CEL_ATTRIBUTES).map((k) => k.split(".")[0]!));
