// envoy.config.core.v3.Http2ProtocolOptions (a connection manager's downstream HTTP/2, a cluster's
// upstream HTTP/2) → the model's Http2ProtocolOptions: the SETTINGS Outrigger honours, with
// Envoy's bounds checked, and whether a malformed message resets its stream or ends the
// connection; the frame-flood and keepalive knobs are notes (Envoy's default limits apply).

import type { Http2ProtocolOptions } from "../model/types.js";
import { at, bool, checkFields, obj, uint, type DecodeState } from "./decode-common.js";

/** Envoy's validation bounds (protocol.proto): streams 1..2^31-1, windows 65535..2^31-1. */
const MAX_31 = 2_147_483_647;
const MIN_WINDOW = 65_535;

const IGNORED: Readonly<Record<string, string>> = {
  hpack_table_size: "hpack_table_size is not supported; the HPACK table stays at 4096 bytes",
  allow_metadata: "METADATA frames are not supported; ignored",
  max_outbound_frames: "frame flood limits stay at Envoy's defaults; ignored",
  max_outbound_control_frames: "frame flood limits stay at Envoy's defaults; ignored",
  max_consecutive_inbound_frames_with_empty_payload: "frame flood limits stay at Envoy's defaults; ignored",
  max_inbound_priority_frames_per_stream: "frame flood limits stay at Envoy's defaults; ignored",
  max_inbound_window_update_frames_per_data_frame_sent: "frame flood limits stay at Envoy's defaults; ignored",
  custom_settings_parameters: "custom SETTINGS parameters are not supported; ignored",
  connection_keepalive: "HTTP/2 PING keepalive is not supported; ignored",
  use_oghttp2_codec: "the HTTP/2 codec is Outrigger's own (downstream and upstream); ignored",
  max_metadata_size: "METADATA frames are not supported; ignored",
};

/** A message that is present (even `{}`) yields options; absent yields undefined. */
export function http2ProtocolOptions(v: unknown, path: string, st: DecodeState): Http2ProtocolOptions | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size", "allow_connect", "stream_error_on_invalid_http_messaging", "override_stream_error_on_invalid_http_message"], {}, IGNORED);
  const out: Http2ProtocolOptions = {};
  const bounded = (k: string, min: number): number | undefined => {
    const n = uint(o[k], at(path, k), st);
    if (n === undefined) return undefined;
    if (n < min || n > MAX_31) return st.error(at(path, k), `expected an integer between ${min} and ${MAX_31}, got ${n}`);
    return n;
  };
  const mcs = bounded("max_concurrent_streams", 1);
  if (mcs !== undefined) out.maxConcurrentStreams = mcs;
  const isw = bounded("initial_stream_window_size", MIN_WINDOW);
  if (isw !== undefined) out.initialStreamWindowSize = isw;
  const icw = bounded("initial_connection_window_size", MIN_WINDOW);
  if (icw !== undefined) out.initialConnectionWindowSize = icw;
  const ac = bool(o.allow_connect, at(path, "allow_connect"), st);
  if (ac === true) out.allowConnect = true;
  // The override (a BoolValue: `{value: true}` or a bare bool) wins over the deprecated field.
  const legacy = bool(o.stream_error_on_invalid_http_messaging, at(path, "stream_error_on_invalid_http_messaging"), st);
  const override = bool(o.override_stream_error_on_invalid_http_message, at(path, "override_stream_error_on_invalid_http_message"), st);
  const streamErrors = override ?? legacy;
  if (streamErrors !== undefined) out.streamErrorOnInvalidHttpMessage = streamErrors;
  return out;
}

/** envoy.config.core.v3.Http1ProtocolOptions: present means HTTP/1.1; its knobs are notes. */
export function http1ProtocolOptions(v: unknown, path: string, st: DecodeState): Record<string, never> | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, [], {}, {
    header_key_format: "header_key_format is not supported; ignored",
  });
  return {};
}
