// Envoy's MessageUtil::redact for /config_dump: every field annotated
// `(udpa.annotations.sensitive) = true` in Envoy's protos (a TLS private key, its password, PKCS#12,
// session ticket keys, generic secrets, a private key provider's config), and everything below it,
// shows strings and bytes as "[redacted]" and drops other scalars. Walks proto JSON (decoded.ts'
// form) with the loaded protos, through Anys; keys it cannot place are kept as they are.

import protobuf from "protobufjs";
import type { Json } from "./decoded.js";
import { lookupMessageType } from "./proto-registry.js";
import { typeNameOfUrl } from "./proto-json.js";

const REDACTED = "[redacted]";
const REDACTED_BYTES = Buffer.from(REDACTED).toString("base64");

/** `json` (proto JSON of the message `typeName`) with its sensitive fields redacted as Envoy does. */
export function redactSensitive(typeName: string, json: Json): Json {
  const type = lookupMessageType(typeName);
  if (type === undefined) return json;
  return redactMessage(type, json, false) as Json;
}

function fieldOf(type: protobuf.Type, key: string): protobuf.Field | undefined {
  return type.fields[key] ?? type.fieldsArray.find((f) => protobuf.util.camelCase(f.name) === key);
}

function redactMessage(type: protobuf.Type, json: unknown, sensitive: boolean): unknown {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
  const obj = json as Json;
  if (type.fullName === ".google.protobuf.Any") {
    const url = obj["@type"];
    const inner = typeof url === "string" ? lookupMessageType(typeNameOfUrl(url)) : undefined;
    if (inner === undefined) return obj;
    if (inner.fullName.startsWith(".google.protobuf.")) return sensitive ? { "@type": url, value: redactPlain(obj["value"]) } : obj;
    const { "@type": _t, ...rest } = obj;
    return { "@type": url, ...(redactMessage(inner, rest, sensitive) as Json) };
  }
  if (type.fullName === ".google.protobuf.Struct" || type.fullName === ".google.protobuf.Value" || type.fullName === ".google.protobuf.ListValue")
    return sensitive ? redactPlain(obj) : obj;
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) {
    const field = fieldOf(type, k);
    if (field === undefined) {
      out[k] = v;
      continue;
    }
    field.resolve();
    const s = sensitive || field.options?.["(udpa.annotations.sensitive)"] === true;
    const one = (x: unknown): unknown => {
      if (field.resolvedType instanceof protobuf.Type) return redactMessage(field.resolvedType, x, s);
      if (!s) return x;
      if (field.type === "string") return REDACTED;
      if (field.type === "bytes") return REDACTED_BYTES;
      return undefined;
    };
    let r: unknown;
    if (field instanceof protobuf.MapField && v !== null && typeof v === "object") r = Object.fromEntries(Object.entries(v as Json).map(([mk, mv]) => [mk, one(mv)]));
    else if (Array.isArray(v)) r = v.map(one).filter((x) => x !== undefined);
    else r = one(v);
    if (r !== undefined) out[k] = r;
  }
  return out;
}

/** Plain JSON under a sensitive field (a Struct, a wrapped WKT): strings redacted, other scalars dropped. */
function redactPlain(v: unknown): unknown {
  if (typeof v === "string") return REDACTED;
  if (Array.isArray(v)) return v.map(redactPlain).filter((x) => x !== undefined);
  if (v !== null && typeof v === "object") {
    const out: Json = {};
    for (const [k, x] of Object.entries(v as Json)) {
      const r = redactPlain(x);
      if (r !== undefined) out[k] = r;
    }
    return out;
  }
  return undefined;
}
