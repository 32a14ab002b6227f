// JSON ↔ google.protobuf.Struct in the form proto-loader/protobufjs serialise: protobufjs' bundled
// Struct/Value have no JSON mapping, so a plain object as `node.metadata` reaches the wire as an
// EMPTY Struct (drop-in-envoy.md §7) — and istiod needs that metadata (NAMESPACE, LABELS, …).
// Values use protobufjs' camelCase field names (`stringValue`, `structValue`, …) even with keepCase.

import type { Json } from "../config/envoy/decoded.js";

export interface StructMessage {
  fields: Record<string, ValueMessage>;
}

export type ValueMessage =
  | { nullValue: "NULL_VALUE" | 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: StructMessage }
  | { listValue: { values: ValueMessage[] } };

/** A JSON object → Struct message. `path` names the field in errors (a value JSON cannot hold, e.g. a function). */
export function jsonToStruct(obj: Json, path = "metadata"): StructMessage {
  const fields: Record<string, ValueMessage> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    fields[k] = jsonToValue(v, `${path}.${k}`);
  }
  return { fields };
}

export function jsonToValue(v: unknown, path: string): ValueMessage {
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map((e, i) => jsonToValue(e, `${path}[${i}]`)) } };
  if (typeof v === "object") return { structValue: jsonToStruct(v as Json, path) };
  throw new Error(`${path}: a ${typeof v} cannot be carried in a google.protobuf.Struct`);
}

/** A Struct message as decoded by proto-loader (defaults off: absent lists/fields) → plain JSON. */
export function structToJson(s: unknown): Json {
  const out: Json = {};
  const fields = (s as { fields?: Record<string, unknown> } | undefined)?.fields ?? {};
  for (const [k, v] of Object.entries(fields)) out[k] = valueToJson(v);
  return out;
}

export function valueToJson(v: unknown): unknown {
  const m = (v ?? {}) as Record<string, unknown>;
  if ("stringValue" in m) return m.stringValue;
  if ("numberValue" in m) return m.numberValue;
  if ("boolValue" in m) return m.boolValue;
  if ("structValue" in m) return structToJson(m.structValue);
  if ("listValue" in m) return ((m.listValue as { values?: unknown[] }).values ?? []).map(valueToJson);
  return null;
}

/**
 * The bootstrap's node (proto JSON) → the DiscoveryRequest.node message: `metadata` (and
 * user_agent_build_version.metadata) become Struct messages; everything else is already in
 * proto field names. Throws naming the field when the node cannot be sent.
 */
export function nodeToMessage(node: Json): Record<string, unknown> {
  const out: Record<string, unknown> = { ...node };
  if (node.metadata !== undefined) {
    if (node.metadata === null || typeof node.metadata !== "object" || Array.isArray(node.metadata)) throw new Error("node.metadata: must be a JSON object");
    out.metadata = jsonToStruct(node.metadata as Json, "node.metadata");
  }
  const ua = node.user_agent_build_version as Json | undefined;
  if (ua !== undefined && ua !== null && typeof ua === "object" && ua.metadata !== undefined) {
    out.user_agent_build_version = { ...ua, metadata: jsonToStruct(ua.metadata as Json, "node.user_agent_build_version.metadata") };
  }
  return out;
}

/** The inverse, for a server (the fake control plane) reading what a client sent. */
export function nodeFromMessage(node: Record<string, unknown>): Json {
  const out: Json = { ...node };
  if (node.metadata !== undefined) out.metadata = structToJson(node.metadata);
  return out;
}
