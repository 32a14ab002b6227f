// A finished StreamInfo with known values, for the access-log unit tests.

import { HeaderList } from "../../../src/http/header-list.js";
import { StreamInfoBuilder, type StreamInfo } from "../../../src/observability/stream-info.js";

/** 2026-11-30T17:00:00.123Z */
export const START = Date.UTC(2026, 10, 30, 17, 0, 0, 123);

export function httpInfo(over: Partial<StreamInfo> = {}): StreamInfo {
  const si = new StreamInfoBuilder({ now: () => START, monotonic: () => 0 });
  si.protocol = "HTTP/1.1";
  si.method = "GET";
  si.path = "/api/items?page=2";
  si.authority = "reviews:9080";
  si.scheme = "http";
  si.requestHeaders = HeaderList.from([
    ["Host", "reviews:9080"],
    ["User-Agent", "curl/8.5.0"],
    ["x-request-id", "6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f"],
    ["x-forwarded-proto", "http"],
  ]);
  si.userAgent = "curl/8.5.0";
  si.requestId = "6d1e1f0e-3a2b-4c5d-9e8f-0a1b2c3d4e5f";
  si.responseHeaders = HeaderList.from([
    ["content-type", "application/json"],
    ["x-envoy-upstream-service-time", "3"],
  ]);
  si.responseCode = 200;
  si.responseCodeDetails = "via_upstream";
  si.bytesReceived = 0;
  si.bytesSent = 295;
  si.durationMs = 4.9;
  si.timings.lastDownstreamRxByteReceived = 0.2;
  si.timings.lastUpstreamTxByteSent = 1.3;
  si.timings.firstUpstreamRxByteReceived = 3.6;
  si.timings.lastDownstreamTxByteSent = 4.9;
  si.attemptCount = 1;
  si.upstreamHost = "10.1.2.3:9080";
  si.upstreamLocalAddress = "10.1.0.5:41234";
  si.clusterName = "outbound|9080||reviews.default.svc.cluster.local";
  si.routeName = "default";
  si.downstreamLocalAddress = "10.96.0.20:9080";
  si.downstreamRemoteAddress = "10.1.0.5:50312";
  si.listenerName = "0.0.0.0_9080";
  si.filterChainName = "chain-http";
  Object.assign(si, over);
  return si;
}

/** A TCP-proxied connection's record. */
export function tcpInfo(over: Partial<StreamInfo> = {}): StreamInfo {
  const si = new StreamInfoBuilder({ now: () => START, monotonic: () => 0 }).withoutRequest("tcp", "-");
  si.bytesReceived = 11;
  si.bytesSent = 22;
  si.durationMs = 1500.4;
  si.upstreamHost = "10.1.2.9:3306";
  si.upstreamLocalAddress = "10.1.0.5:42000";
  si.clusterName = "outbound|3306||mysql.db.svc.cluster.local";
  si.downstreamLocalAddress = "10.96.0.30:3306";
  si.downstreamRemoteAddress = "10.1.0.5:50400";
  Object.assign(si, over);
  return si.finish(si.durationMs);
}
