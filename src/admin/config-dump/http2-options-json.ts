// The model's Http2ProtocolOptions / UpgradeConfig as Envoy's JSON (core.v3.Http2ProtocolOptions,
// HttpConnectionManager.UpgradeConfig, RouteAction.UpgradeConfig): what the config said, unset
// fields left out as proto3 JSON does.

import type { Http2ProtocolOptions, UpgradeConfig } from "../../config/model/types.js";
import { compact, nonEmpty, type Json } from "./envoy-json.js";

export function http2OptionsJson(o: Http2ProtocolOptions): Json {
  return compact({
    max_concurrent_streams: o.maxConcurrentStreams,
    initial_stream_window_size: o.initialStreamWindowSize,
    initial_connection_window_size: o.initialConnectionWindowSize,
    allow_connect: o.allowConnect === true ? true : undefined,
    override_stream_error_on_invalid_http_message: o.streamErrorOnInvalidHttpMessage,
  });
}

/** Both halves of explicit_http_config / use_downstream_protocol_config, as they were given. */
export function httpVersionsJson(c: { httpProtocolOptions?: Record<string, never>; http2ProtocolOptions?: Http2ProtocolOptions }): Json {
  return compact({
    http_protocol_options: c.httpProtocolOptions !== undefined ? {} : undefined,
    http2_protocol_options: c.http2ProtocolOptions !== undefined ? http2OptionsJson(c.http2ProtocolOptions) : undefined,
  });
}

/** CONNECT entries written as `CONNECT`, the others as given; `enabled` only when set. */
export function upgradeConfigsJson(u: readonly UpgradeConfig[] | undefined, connectConfig = false): Json[] | undefined {
  return nonEmpty(
    u?.map((x) =>
      compact({
        upgrade_type: x.upgradeType,
        enabled: x.enabled,
        // Route-level CONNECT upgrades carry Envoy's connect_config (istiod: `{}` on connect_terminate's route).
        connect_config: connectConfig && x.upgradeType.toUpperCase() === "CONNECT" ? {} : undefined,
      }),
    ),
  );
}
