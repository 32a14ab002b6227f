// Protobuf bytes / messages of Envoy's proto tree ↔ the proto JSON form of decoded.ts: snake_case
// names out (lowerCamelCase also accepted in, as Envoy's JSON/YAML loader does), the proto3 JSON
// mapping of the well-known types (Any recursively, Duration/Timestamp strings, Struct/Value as
// plain JSON, wrappers as plain values, FieldMask as a comma string), enums by name, 64-bit integers
// as strings, bytes as base64, no oneof discriminators, and no implicit-presence field at its
// default (Envoy's /config_dump omits them). Every input error names the field's path
// (`static_resources.listeners[0].foo`). protobufjs's own toObject/fromObject JSON handling is not
// used for the mapping: its bundled Struct is camelCase with no JSON mapping, and it drops unknown
// fields silently; it only builds and encodes the messages this module has already validated.

import protobuf from "protobufjs";
import type { Json } from "./decoded.js";
import { lookupMessageType } from "./proto-registry.js";

export interface JsonToMessageOptions {
  /** Envoy --allow-unknown-static-fields: unknown fields are dropped instead of refused. */
  allowUnknownFields?: boolean;
}

/** An input that does not fit the proto; `path` is the dotted field path ("" = the message itself). */
export class ProtoJsonError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(path === "" ? reason : `${path}: ${reason}`);
    this.name = "ProtoJsonError";
  }
}

/** A google.protobuf.Any's bytes (type URL + value) → proto JSON with its "@type". Throws with the reason. */
export function anyToJson(typeUrl: string, value: Uint8Array): Json {
  const type = anyType(typeUrl, "");
  const message = decodeBytes(type, value, typeUrl);
  return anyJson(typeUrl, type, message, "");
}

/** Proto JSON with its "@type" → a google.protobuf.Any's type URL and bytes. Throws naming the field path. */
export function jsonToAny(json: Json, options: JsonToMessageOptions = {}): { type_url: string; value: Uint8Array } {
  const any = anyToPlain(json, "", options);
  return { type_url: any.type_url, value: any.value };
}

/**
 * Proto JSON (snake_case or lowerCamelCase names) of the message `typeName` (e.g.
 * `envoy.config.bootstrap.v3.Bootstrap`) → the same message in canonical proto JSON (decoded.ts'
 * form): checks every field against the proto, refuses unknown fields (unless allowed) with their path.
 */
export function normalizeProtoJson(typeName: string, json: Json, options: JsonToMessageOptions = {}): Json {
  const type = messageType(typeName);
  return messageToJson(typeName, type.encode(toMessage(type, json, "", options)).finish()) as Json;
}

/** Proto JSON of `typeName` → its protobuf bytes (for gRPC requests: DiscoveryRequest, …). */
export function jsonToBytes(typeName: string, json: unknown, options: JsonToMessageOptions = {}): Uint8Array {
  const type = messageType(typeName);
  return type.encode(toMessage(type, json, "", options)).finish();
}

/** Protobuf bytes of `typeName` → canonical proto JSON (an object, or for a WKT its JSON value). */
export function messageToJson(typeName: string, bytes: Uint8Array): unknown {
  const type = messageType(typeName);
  return fromMessage(type, decodeBytes(type, bytes, typeName), "");
}

/** A protobufjs message → canonical proto JSON (for callers that decoded themselves). */
export function protobufMessageToJson(type: protobuf.Type, message: protobuf.Message): unknown {
  return fromMessage(type, message, "");
}

/** The type name in a type URL (`type.googleapis.com/envoy.config.listener.v3.Listener` → `envoy.config.listener.v3.Listener`). */
export function typeNameOfUrl(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

// ---------------------------------------------------------------------------------------------
// Types

function messageType(typeName: string): protobuf.Type {
  const type = lookupMessageType(typeName);
  if (type === undefined) throw new ProtoJsonError("", `unknown message type "${typeName}" (its proto is not loaded)`);
  return type;
}

function anyType(typeUrl: string, path: string): protobuf.Type {
  if (typeof typeUrl !== "string" || typeUrl === "" || !typeUrl.includes("/"))
    throw new ProtoJsonError(path, `bad Any type URL ${JSON.stringify(typeUrl)} (expected "type.googleapis.com/<message type>")`);
  const type = lookupMessageType(typeNameOfUrl(typeUrl));
  if (type === undefined) throw new ProtoJsonError(path, `unknown Any type "${typeUrl}" (its proto is not loaded)`);
  return type;
}

function decodeBytes(type: protobuf.Type, bytes: Uint8Array, what: string): protobuf.Message {
  try {
    return type.decode(bytes);
  } catch (err) {
    throw new ProtoJsonError("", `cannot decode ${what}: ${(err as Error).message}`);
  }
}

const WRAPPERS = new Set(
  ["DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue"].map(
    (n) => ".google.protobuf." + n,
  ),
);
/** Types whose JSON is not an object of their fields; inside an Any they sit under "value". */
const SPECIAL = new Set([
  ".google.protobuf.Any",
  ".google.protobuf.Duration",
  ".google.protobuf.Timestamp",
  ".google.protobuf.Struct",
  ".google.protobuf.Value",
  ".google.protobuf.ListValue",
  ".google.protobuf.FieldMask",
  ...WRAPPERS,
]);

interface FieldIndex {
  byJsonKey: Map<string, protobuf.Field>;
  /** Fields in field-number order (the order Envoy's JSON printer uses). */
  ordered: protobuf.Field[];
}

// Per-Type lookup tables, derived from the immutable Root's types (a pure cache, never mutated after it is set).
const indexes = new WeakMap<protobuf.Type, FieldIndex>();

function fieldIndex(type: protobuf.Type): FieldIndex {
  let idx = indexes.get(type);
  if (idx !== undefined) return idx;
  const byJsonKey = new Map<string, protobuf.Field>();
  for (const f of type.fieldsArray) {
    byJsonKey.set(f.name, f);
    const jsonName = (f.options?.json_name as string | undefined) ?? protobuf.util.camelCase(f.name);
    if (!byJsonKey.has(jsonName)) byJsonKey.set(jsonName, f);
  }
  idx = { byJsonKey, ordered: [...type.fieldsArray].sort((a, b) => a.id - b.id) };
  indexes.set(type, idx);
  return idx;
}

function valueFieldName(valueType: protobuf.Type, id: number): string {
  const f = valueType.fieldsById[id];
  if (f === undefined) throw new Error(`google.protobuf.Value has no field ${id}`);
  return f.name;
}

// ---------------------------------------------------------------------------------------------
// JSON → message

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function at(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function toMessage(type: protobuf.Type, json: unknown, path: string, options: JsonToMessageOptions): protobuf.Message {
  return type.fromObject(toPlain(type, json, path, options));
}

/** Validated plain object in protobufjs's fromObject form (proto field names, numbers for enums, strings for 64-bit). */
function toPlain(type: protobuf.Type, json: unknown, path: string, options: JsonToMessageOptions): Record<string, unknown> {
  const full = type.fullName;
  if (SPECIAL.has(full)) return specialToPlain(type, json, path, options);
  if (!isPlainObject(json)) throw new ProtoJsonError(path, `expected an object (${full.slice(1)}), got ${kindOf(json)}`);
  const idx = fieldIndex(type);
  const out: Record<string, unknown> = {};
  const oneofSet = new Map<string, string>();
  for (const [key, value] of Object.entries(json)) {
    const field = idx.byJsonKey.get(key);
    const fpath = at(path, key);
    if (field === undefined) {
      if (options.allowUnknownFields === true) continue;
      throw new ProtoJsonError(fpath, `unknown field (${full.slice(1)} has no field "${key}")`);
    }
    if (Object.hasOwn(out, field.name)) throw new ProtoJsonError(fpath, `field "${field.name}" is given twice (as its proto and its JSON name)`);
    field.resolve();
    if (value === null && !(field.resolvedType instanceof protobuf.Type && field.resolvedType.fullName === ".google.protobuf.Value" && !field.repeated && !field.map)) continue;
    if (field.partOf !== null && !field.partOf.name.startsWith("_")) {
      const other = oneofSet.get(field.partOf.name);
      if (other !== undefined)
        throw new ProtoJsonError(fpath, `"${field.name}" and "${other}" are both set, but only one of oneof "${field.partOf.name}" may be`);
      oneofSet.set(field.partOf.name, field.name);
    }
    if (field instanceof protobuf.MapField) {
      if (!isPlainObject(value)) throw new ProtoJsonError(fpath, `expected an object (a map), got ${kindOf(value)}`);
      const m: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const kpath = `${fpath}[${JSON.stringify(k)}]`;
        checkMapKey(field.keyType, k, kpath);
        m[k] = valueToPlain(field, v, kpath, options);
      }
      out[field.name] = m;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw new ProtoJsonError(fpath, `expected an array, got ${kindOf(value)}`);
      out[field.name] = value.map((v, i) => valueToPlain(field, v, `${fpath}[${i}]`, options));
    } else {
      out[field.name] = valueToPlain(field, value, fpath, options);
    }
  }
  return out;
}

function checkMapKey(keyType: string, key: string, path: string): void {
  if (keyType === "string") return;
  if (keyType === "bool") {
    if (key !== "true" && key !== "false") throw new ProtoJsonError(path, `map key must be "true" or "false"`);
    return;
  }
  if (!/^-?\d+$/.test(key)) throw new ProtoJsonError(path, `map key must be an integer (${keyType})`);
}

function valueToPlain(field: protobuf.Field, value: unknown, path: string, options: JsonToMessageOptions): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    if (value === null && rt.fullName !== ".google.protobuf.Value") throw new ProtoJsonError(path, `null is not allowed here (${rt.fullName.slice(1)})`);
    return toPlain(rt, value, path, options);
  }
  if (rt instanceof protobuf.Enum) return enumToPlain(rt, value, path);
  return scalarToPlain(field.type, value, path);
}

function enumToPlain(e: protobuf.Enum, value: unknown, path: string): number {
  if (typeof value === "string") {
    const n = e.values[value];
    if (n === undefined) throw new ProtoJsonError(path, `unknown enum value "${value}" of ${e.fullName.slice(1)} (one of ${Object.keys(e.values).join(", ")})`);
    return n;
  }
  if (typeof value === "number" && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) return value;
  throw new ProtoJsonError(path, `expected an enum name of ${e.fullName.slice(1)}, got ${kindOf(value)}`);
}

const INT_RANGES: Record<string, [number, number]> = {
  int32: [-2147483648, 2147483647],
  sint32: [-2147483648, 2147483647],
  sfixed32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  fixed32: [0, 4294967295],
};
const LONG_RANGES: Record<string, [bigint, bigint]> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function scalarToPlain(type: string, value: unknown, path: string): unknown {
  switch (type) {
    case "string":
      if (typeof value !== "string") throw new ProtoJsonError(path, `expected a string, got ${kindOf(value)}`);
      return value;
    case "bool":
      if (typeof value !== "boolean") throw new ProtoJsonError(path, `expected true or false, got ${kindOf(value)}`);
      return value;
    case "double":
    case "float": {
      if (typeof value === "number") return value;
      if (value === "NaN") return NaN;
      if (value === "Infinity") return Infinity;
      if (value === "-Infinity") return -Infinity;
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
      throw new ProtoJsonError(path, `expected a number, got ${kindOf(value)}`);
    }
    case "bytes": {
      if (typeof value !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value))
        throw new ProtoJsonError(path, `expected base64 bytes, got ${kindOf(value)}`);
      return Buffer.from(value, value.includes("-") || value.includes("_") ? "base64url" : "base64");
    }
    default:
      break;
  }
  const intRange = INT_RANGES[type];
  if (intRange !== undefined) {
    const n = typeof value === "string" && /^-?\d+$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isInteger(n)) throw new ProtoJsonError(path, `expected an integer (${type}), got ${kindOf(value)}`);
    if (n < intRange[0] || n > intRange[1]) throw new ProtoJsonError(path, `${n} is out of range for ${type}`);
    return n;
  }
  const longRange = LONG_RANGES[type];
  if (longRange !== undefined) {
    let b: bigint;
    if (typeof value === "number" && Number.isInteger(value)) b = BigInt(value);
    else if (typeof value === "string" && /^-?\d+$/.test(value)) b = BigInt(value);
    else throw new ProtoJsonError(path, `expected an integer (${type}), as a number or a string, got ${kindOf(value)}`);
    if (b < longRange[0] || b > longRange[1]) throw new ProtoJsonError(path, `${b} is out of range for ${type}`);
    return b.toString();
  }
  throw new ProtoJsonError(path, `unsupported field type ${type}`);
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_SECONDS = 315576000000n;
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

function specialToPlain(type: protobuf.Type, json: unknown, path: string, options: JsonToMessageOptions): Record<string, unknown> {
  const full = type.fullName;
  const short = full.slice(1);
  if (WRAPPERS.has(full)) {
    const f = type.fields["value"];
    if (f === undefined) throw new Error(`${short} has no value field`);
    return { value: scalarToPlain(f.type, json, path) };
  }
  switch (full) {
    case ".google.protobuf.Any":
      return anyToPlain(json, path, options);
    case ".google.protobuf.Duration": {
      const m = typeof json === "string" ? DURATION_RE.exec(json) : null;
      if (m === null) throw new ProtoJsonError(path, `expected a duration such as "1.5s" (google.protobuf.Duration), got ${kindOf(json)}`);
      const seconds = BigInt(m[2] ?? "0");
      if (seconds > MAX_DURATION_SECONDS) throw new ProtoJsonError(path, `duration ${String(json)} is out of range (at most ${MAX_DURATION_SECONDS}s)`);
      const nanos = Number((m[3] ?? "").padEnd(9, "0"));
      const sign = m[1] === "-" ? -1 : 1;
      return { seconds: (sign < 0 ? -seconds : seconds).toString(), nanos: sign * nanos };
    }
    case ".google.protobuf.Timestamp": {
      const m = typeof json === "string" ? TIMESTAMP_RE.exec(json) : null;
      if (m === null) throw new ProtoJsonError(path, `expected an RFC 3339 timestamp such as "2024-01-02T03:04:05Z", got ${kindOf(json)}`);
      const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
      let secs = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!) / 1000;
      const probe = new Date(secs * 1000);
      if (probe.getUTCDate() !== d || probe.getUTCMonth() !== mo! - 1 || h! > 23 || mi! > 59 || s! > 59)
        throw new ProtoJsonError(path, `invalid date or time in timestamp ${String(json)}`);
      const zone = m[8]!;
      if (zone !== "Z" && zone !== "z") {
        const zsign = zone.startsWith("-") ? -1 : 1;
        secs -= zsign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
      }
      return { seconds: String(secs), nanos: Number((m[7] ?? "").padEnd(9, "0")) };
    }
    case ".google.protobuf.FieldMask": {
      if (typeof json !== "string") throw new ProtoJsonError(path, `expected a field mask string such as "a.b,c" (google.protobuf.FieldMask), got ${kindOf(json)}`);
      const paths = json === "" ? [] : json.split(",").map((p) => p.trim().replace(/[A-Z]/g, (c) => "_" + c.toLowerCase()));
      return { paths };
    }
    case ".google.protobuf.Struct": {
      if (!isPlainObject(json)) throw new ProtoJsonError(path, `expected an object (google.protobuf.Struct), got ${kindOf(json)}`);
      const valueType = type.fields["fields"]!.resolve().resolvedType as protobuf.Type;
      const fields: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(json)) fields[k] = jsonValueToPlain(valueType, v, at(path, k));
      return { fields };
    }
    case ".google.protobuf.ListValue": {
      if (!Array.isArray(json)) throw new ProtoJsonError(path, `expected an array (google.protobuf.ListValue), got ${kindOf(json)}`);
      const valueType = type.fields["values"]!.resolve().resolvedType as protobuf.Type;
      return { values: json.map((v, i) => jsonValueToPlain(valueType, v, `${path}[${i}]`)) };
    }
    case ".google.protobuf.Value":
      return jsonValueToPlain(type, json, path);
    default:
      throw new ProtoJsonError(path, `unsupported well-known type ${short}`);
  }
}

/** Plain JSON → google.protobuf.Value in fromObject form (protobufjs's bundled Value names its fields in camelCase: use their numbers). */
function jsonValueToPlain(valueType: protobuf.Type, json: unknown, path: string): Record<string, unknown> {
  if (json === null || json === undefined) return { [valueFieldName(valueType, 1)]: 0 };
  if (typeof json === "number") {
    if (!Number.isFinite(json)) throw new ProtoJsonError(path, `${json} cannot be a google.protobuf.Value number`);
    return { [valueFieldName(valueType, 2)]: json };
  }
  if (typeof json === "string") return { [valueFieldName(valueType, 3)]: json };
  if (typeof json === "boolean") return { [valueFieldName(valueType, 4)]: json };
  if (Array.isArray(json)) return { [valueFieldName(valueType, 6)]: { values: json.map((v, i) => jsonValueToPlain(valueType, v, `${path}[${i}]`)) } };
  if (isPlainObject(json)) {
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(json)) fields[k] = jsonValueToPlain(valueType, v, at(path, k));
    return { [valueFieldName(valueType, 5)]: { fields } };
  }
  throw new ProtoJsonError(path, `${kindOf(json)} is not JSON`);
}

function anyToPlain(json: unknown, path: string, options: JsonToMessageOptions): { type_url: string; value: Uint8Array } {
  if (!isPlainObject(json)) throw new ProtoJsonError(path, `expected an object with "@type" (google.protobuf.Any), got ${kindOf(json)}`);
  const typeUrl = json["@type"];
  if (typeUrl === undefined) {
    if (Object.keys(json).length === 0) return { type_url: "", value: new Uint8Array() };
    throw new ProtoJsonError(path, `google.protobuf.Any needs "@type"`);
  }
  if (typeof typeUrl !== "string") throw new ProtoJsonError(at(path, "@type"), `expected a type URL string, got ${kindOf(typeUrl)}`);
  const type = anyType(typeUrl, at(path, "@type"));
  let inner: unknown;
  if (SPECIAL.has(type.fullName)) {
    for (const k of Object.keys(json))
      if (k !== "@type" && k !== "value" && options.allowUnknownFields !== true)
        throw new ProtoJsonError(at(path, k), `unknown field (an Any holding ${type.fullName.slice(1)} has only "@type" and "value")`);
    if (!Object.hasOwn(json, "value")) throw new ProtoJsonError(path, `an Any holding ${type.fullName.slice(1)} needs "value"`);
    inner = json["value"];
    path = at(path, "value");
  } else {
    const { "@type": _t, ...rest } = json;
    inner = rest;
  }
  const message = toMessage(type, inner, path, options);
  return { type_url: typeUrl, value: type.encode(message).finish() };
}

// ---------------------------------------------------------------------------------------------
// message → JSON

type LongLike = { toString(): string; isZero?(): boolean };

function isDefaultScalar(v: unknown): boolean {
  if (v === 0 || v === "" || v === false) return true;
  if (v instanceof Uint8Array) return v.length === 0;
  if (typeof v === "object" && v !== null && typeof (v as LongLike).isZero === "function") return (v as { isZero(): boolean }).isZero();
  return false;
}

function fromMessage(type: protobuf.Type, msg: protobuf.Message, path: string): unknown {
  const full = type.fullName;
  if (SPECIAL.has(full)) return specialFromMessage(type, msg, path);
  const out: Json = {};
  const m = msg as unknown as Record<string, unknown>;
  for (const field of fieldIndex(type).ordered) {
    if (!Object.hasOwn(m, field.name)) continue;
    const v = m[field.name];
    if (v === null || v === undefined) continue;
    const fpath = at(path, field.name);
    if (field instanceof protobuf.MapField) {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) continue;
      const o: Json = {};
      for (const [k, x] of entries) o[k] = valueFromMessage(field, x, `${fpath}[${JSON.stringify(k)}]`);
      out[field.name] = o;
    } else if (field.repeated) {
      const arr = v as unknown[];
      if (arr.length === 0) continue;
      out[field.name] = arr.map((x, i) => valueFromMessage(field, x, `${fpath}[${i}]`));
    } else {
      // proto3 implicit presence: a scalar at its default is not printed (oneof members and `optional` fields are).
      if (field.partOf === null && !(field.resolvedType instanceof protobuf.Type) && isDefaultScalar(v)) continue;
      out[field.name] = valueFromMessage(field, v, fpath);
    }
  }
  return out;
}

function valueFromMessage(field: protobuf.Field, v: unknown, path: string): unknown {
  const rt = field.resolve().resolvedType;
  if (rt instanceof protobuf.Type) return fromMessage(rt, v as protobuf.Message, path);
  if (rt instanceof protobuf.Enum) return rt.valuesById[v as number] ?? v;
  return scalarFromMessage(field.type, v);
}

function scalarFromMessage(type: string, v: unknown): unknown {
  switch (type) {
    case "bytes":
      return Buffer.from(v as Uint8Array).toString("base64");
    case "double":
      return nonFinite(v as number) ?? v;
    case "float":
      return nonFinite(v as number) ?? shortestFloat(v as number);
    case "int64":
    case "sint64":
    case "sfixed64":
    case "uint64":
    case "fixed64":
      return String(v);
    default:
      return v;
  }
}

function nonFinite(n: number): string | undefined {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  return undefined;
}

/** A float32 decoded into a double (0.1f → 0.10000000149011612) printed as its shortest round-tripping form, as Envoy's printer does. */
function shortestFloat(n: number): number {
  for (let p = 1; p <= 9; p++) {
    const c = Number(n.toPrecision(p));
    if (Math.fround(c) === n) return c;
  }
  return n;
}

function nanosSuffix(nanos: number): string {
  if (nanos === 0) return "";
  const s = String(nanos).padStart(9, "0");
  if (s.endsWith("000000")) return "." + s.slice(0, 3);
  if (s.endsWith("000")) return "." + s.slice(0, 6);
  return "." + s;
}

function specialFromMessage(type: protobuf.Type, msg: protobuf.Message, path: string): unknown {
  const full = type.fullName;
  const m = msg as unknown as Record<string, unknown>;
  if (WRAPPERS.has(full)) {
    const f = type.fields["value"]!;
    const v = m["value"];
    return scalarFromMessage(f.type, v ?? (f.type === "bool" ? false : f.type === "string" ? "" : f.type === "bytes" ? new Uint8Array() : f.long ? "0" : 0));
  }
  switch (full) {
    case ".google.protobuf.Any": {
      const typeUrl = (m["type_url"] as string | undefined) ?? "";
      const value = (m["value"] as Uint8Array | undefined) ?? new Uint8Array();
      if (typeUrl === "" && value.length === 0) return {};
      const inner = anyType(typeUrl, path);
      let decoded: protobuf.Message;
      try {
        decoded = inner.decode(value);
      } catch (err) {
        throw new ProtoJsonError(path, `cannot decode the Any's ${typeUrl}: ${(err as Error).message}`);
      }
      return anyJson(typeUrl, inner, decoded, path);
    }
    case ".google.protobuf.Duration": {
      const seconds = BigInt(String(m["seconds"] ?? 0));
      const nanos = Number(m["nanos"] ?? 0);
      const neg = seconds < 0n || nanos < 0;
      const abs = (seconds < 0n ? -seconds : seconds).toString();
      return `${neg ? "-" : ""}${abs}${nanosSuffix(Math.abs(nanos))}s`;
    }
    case ".google.protobuf.Timestamp": {
      const seconds = Number(String(m["seconds"] ?? 0));
      const nanos = Number(m["nanos"] ?? 0);
      const iso = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "");
      return `${iso}${nanosSuffix(nanos)}Z`;
    }
    case ".google.protobuf.FieldMask":
      return ((m["paths"] as string[] | undefined) ?? []).map((p) => protobuf.util.camelCase(p)).join(",");
    case ".google.protobuf.Struct":
    case ".google.protobuf.ListValue":
    case ".google.protobuf.Value":
      return structFromMessage(type, msg);
    default:
      throw new ProtoJsonError(path, `unsupported well-known type ${full.slice(1)}`);
  }
}

function structFromMessage(type: protobuf.Type, msg: protobuf.Message): unknown {
  const m = msg as unknown as Record<string, unknown>;
  switch (type.fullName) {
    case ".google.protobuf.Struct": {
      const valueType = type.fields["fields"]!.resolve().resolvedType as protobuf.Type;
      const out: Json = {};
      for (const [k, v] of Object.entries((m["fields"] as Record<string, protobuf.Message> | undefined) ?? {})) out[k] = structFromMessage(valueType, v);
      return out;
    }
    case ".google.protobuf.ListValue": {
      const valueType = type.fields["values"]!.resolve().resolvedType as protobuf.Type;
      return ((m["values"] as protobuf.Message[] | undefined) ?? []).map((v) => structFromMessage(valueType, v));
    }
    default: {
      // google.protobuf.Value: whichever member of its oneof is set (fields 1–6).
      const f = (id: number) => valueFieldName(type, id);
      if (Object.hasOwn(m, f(2)) && m[f(2)] != null) return m[f(2)];
      if (Object.hasOwn(m, f(3)) && m[f(3)] != null) return m[f(3)];
      if (Object.hasOwn(m, f(4)) && m[f(4)] != null) return m[f(4)];
      const structType = type.fieldsById[5]!.resolve().resolvedType as protobuf.Type;
      const listType = type.fieldsById[6]!.resolve().resolvedType as protobuf.Type;
      if (Object.hasOwn(m, f(5)) && m[f(5)] != null) return structFromMessage(structType, m[f(5)] as protobuf.Message);
      if (Object.hasOwn(m, f(6)) && m[f(6)] != null) return structFromMessage(listType, m[f(6)] as protobuf.Message);
      return null;
    }
  }
}

function anyJson(typeUrl: string, type: protobuf.Type, message: protobuf.Message, path: string): Json {
  const body = fromMessage(type, message, path);
  if (SPECIAL.has(type.fullName)) return { "@type": typeUrl, value: body };
  return { "@type": typeUrl, ...(body as Json) };
}
