// Envoy's `--config-yaml` merge: the overlay is merged over the `-c` bootstrap with protobuf's
// MergeFrom semantics — message fields merge field by field, repeated fields append, scalars (and
// a message of another `@type`) replace. Works on proto JSON, before validation.

import type { Json } from "../config/envoy/decoded.js";

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function mergeProtoJson(base: Json, overlay: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    const old = out[k];
    if (Array.isArray(v) && Array.isArray(old)) out[k] = [...old, ...v];
    else if (isObject(v) && isObject(old) && (v["@type"] === undefined || v["@type"] === old["@type"])) out[k] = mergeProtoJson(old, v);
    else out[k] = v;
  }
  return out;
}
