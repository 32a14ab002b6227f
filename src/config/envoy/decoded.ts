// The result of decoding one Envoy resource (proto JSON) into the model: the value with notes, or
// every reason it cannot be used (an xDS NACK's error_detail, a bootstrap error).
//
// Input form, for every decoder: proto JSON as Envoy's /config_dump prints it — snake_case field
// names (proto names), durations as "1.5s" strings, enums by name, 64-bit integers as strings or
// numbers, bytes as base64, google.protobuf.Any as {"@type": url, ...fields} (an Any holding a
// well-known type as {"@type", "value"}), Struct/Value as plain JSON, wrappers (UInt32Value, …) as
// plain values, udpa/xds TypedStruct as {"@type": ".../udpa.type.v1.TypedStruct", "type_url", "value": {...}}.
// `src/config/envoy/proto-json.ts` turns protobuf bytes into exactly this form.

export type Json = Record<string, unknown>;

/** Something accepted but not honoured as Envoy would (a filter carried as a no-op, an ignored field): logged and shown in /config_dump. */
export interface DecodeNote {
  /** Where in the resource, dotted (`filter_chains[2].filters[0].typed_config.http_filters[3]`). */
  path: string;
  message: string;
}

export type Decoded<T> = { ok: true; value: T; notes: DecodeNote[] } | { ok: false; errors: string[] };

export interface DecodeContext {
  /** `xds` (a control plane), `bootstrap` (static_resources), `files` (the Istio YAML translator's output). */
  origin: "xds" | "bootstrap" | "files";
  /** Relative file paths and Unix socket paths (Envoy's Pipe) resolve against this directory, as Envoy's do. Default process.cwd(). */
  cwd?: string;
}
