// Envoy's `--config-yaml` merge: the overlay is merged over the `-c` bootstrap with protobuf's
// MergeFrom semantics — message fields merge field by field, repeated fields append, scalars (and
// a message of another `@type`) replace, and map fields (a Struct's fields too) replace their
// entries key by key. Works on proto JSON, before validation, so map fields are known by name.

import type { Json } from "../config/envoy/decoded.js";

/**
 * Map fields of the bootstrap's messages (and google.protobuf.Struct, which is a map): their
 * entries are replaced whole, never merged into. `node.metadata` is a Struct.
 */
const MAP_FIELDS = new Set(["filter_metadata", "typed_filter_metadata", "typed_extension_protocol_options", "typed_per_filter_config", "metadata_match_fields"]);
const STRUCT_PATHS = new Set(["node.metadata"]);

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function mergeProtoJson(base: Json, overlay: Json, path = ""): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    const old = out[k];
    const here = path === "" ? k : `${path}.${k}`;
    if (Array.isArray(v) && Array.isArray(old)) out[k] = [...old, ...v];
    else if (isObject(v) && isObject(old) && (MAP_FIELDS.has(k) || STRUCT_PATHS.has(here))) out[k] = { ...old, ...v };
    else if (isObject(v) && isObject(old) && (v["@type"] === undefined || v["@type"] === old["@type"])) out[k] = mergeProtoJson(old, v, here);
    else out[k] = v;
  }
  return out;
}
