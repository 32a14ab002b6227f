// Placeholder of the contract commit (the proto helper fills it): protobuf bytes / messages of
// Envoy's proto tree ↔ the proto JSON form of decoded.ts.

import type { Json } from "./decoded.js";

export interface JsonToMessageOptions {
  /** Envoy --allow-unknown-static-fields: unknown fields are dropped instead of refused. */
  allowUnknownFields?: boolean;
}

/** A google.protobuf.Any's bytes (type URL + value) → proto JSON with its "@type". Throws with the reason. */
export function anyToJson(_typeUrl: string, _value: Uint8Array): Json {
  throw new Error("anyToJson is not implemented yet");
}

/** Proto JSON with its "@type" → a google.protobuf.Any's type URL and bytes. Throws naming the field path. */
export function jsonToAny(_json: Json, _options: JsonToMessageOptions = {}): { type_url: string; value: Uint8Array } {
  throw new Error("jsonToAny is not implemented yet");
}

/**
 * Proto JSON (snake_case or lowerCamelCase names) of the message `typeName` (e.g.
 * `envoy.config.bootstrap.v3.Bootstrap`) → the same message in canonical proto JSON (decoded.ts'
 * form): checks every field against the proto, refuses unknown fields (unless allowed) with their path.
 */
export function normalizeProtoJson(_typeName: string, _json: Json, _options: JsonToMessageOptions = {}): Json {
  throw new Error("normalizeProtoJson is not implemented yet");
}
