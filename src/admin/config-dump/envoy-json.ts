// Small helpers that render model values the way Envoy's proto3 JSON does (snake_case fields,
// Durations as "1.500s", uint64 as strings, enums by name, defaults left out), so a dump reads
// like Envoy's and decodes with Envoy's protos.

import type { CidrRange, FractionalPercent, HeaderMatcher, HeaderValueOption, StringMatcher } from "../../config/model/types.js";

/** A JSON object as the dump builds it. */
export type Json = Record<string, unknown>;

export const TYPE_PREFIX = "type.googleapis.com/";

/** `type.googleapis.com/<name>`: the `@type` of an Any. */
export function typeUrl(name: string): string {
  return TYPE_PREFIX + name;
}

/** google.protobuf.Duration in proto3 JSON: whole seconds as "10s", else 3 fractional digits ("0.250s"). */
export function duration(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(3)}s`;
}

/** Drop keys whose value is undefined (proto3 JSON leaves unset fields out). */
export function compact<T extends Json>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** A non-empty array or undefined (repeated fields are left out when empty). */
export function nonEmpty<T>(a: readonly T[] | undefined): T[] | undefined {
  return a !== undefined && a.length > 0 ? [...a] : undefined;
}

export function socketAddress(address: string, port: number): Json {
  return { socket_address: { address, port_value: port } };
}

export function cidrRange(r: CidrRange): Json {
  return { address_prefix: r.addressPrefix, prefix_len: r.prefixLen };
}

export function fractionalPercent(p: FractionalPercent): Json {
  // HUNDRED is the enum's zero value: proto3 JSON leaves it out.
  return compact({ numerator: p.numerator, denominator: p.denominator === "HUNDRED" ? undefined : p.denominator });
}

export function stringMatcher(m: StringMatcher): Json {
  return compact({
    exact: m.exact,
    prefix: m.prefix,
    suffix: m.suffix,
    contains: m.contains,
    safe_regex: m.safeRegex !== undefined ? { regex: m.safeRegex } : undefined,
    ignore_case: m.ignoreCase === true ? true : undefined,
  });
}

export function headerMatcher(h: HeaderMatcher): Json {
  return compact({
    name: h.name,
    string_match: h.stringMatch !== undefined ? stringMatcher(h.stringMatch) : undefined,
    present_match: h.presentMatch,
    invert_match: h.invertMatch === true ? true : undefined,
  });
}

export function headerValueOptions(hs: readonly HeaderValueOption[]): Json[] | undefined {
  return nonEmpty(hs.map((h) => ({ header: { key: h.key, value: h.value }, append_action: h.appendAction })));
}

/** `metadata.filter_metadata.outrigger`: model facts Envoy's protos have no field for. */
export function outriggerMetadata(facts: Json, more: Json = {}): Json | undefined {
  const o = compact({ ...facts });
  const filterMetadata: Json = { ...more };
  if (Object.keys(o).length > 0) filterMetadata.outrigger = o;
  return Object.keys(filterMetadata).length > 0 ? { filter_metadata: filterMetadata } : undefined;
}
