// decodeCorsPolicy: Envoy's CORS policy as proto JSON → the model's CorsPolicy. Two forms arrive:
// the typed per-filter config (envoy.extensions.filters.http.cors.v3.CorsPolicy, what istiod
// writes under typed_per_filter_config["envoy.filters.http.cors"]) and the route's / virtual
// host's deprecated `cors` field (envoy.config.route.v3.CorsPolicy, and v2's
// envoy.api.v2.route.CorsPolicy with `allow_origin`, `allow_origin_regex` and `enabled`, as
// Istio 1.4-era istiod sent). Errors name the field; fields the model does not carry are notes.

import { re2js } from "../../common/re2.js";
import type { CorsPolicy, FractionalPercent, StringMatcher } from "../model/types.js";
import type { Decoded, DecodeNote, Json } from "./decoded.js";

const CORS_TYPES = new Set([
  "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
  "type.googleapis.com/envoy.config.route.v3.CorsPolicy",
  "type.googleapis.com/envoy.api.v2.route.CorsPolicy",
]);
const DENOMINATORS = new Set(["HUNDRED", "TEN_THOUSAND", "MILLION"]);
const STRING_FIELDS = ["allow_methods", "allow_headers", "expose_headers", "max_age"] as const;
const BOOL_FIELDS = ["allow_credentials", "allow_private_network_access", "forward_not_matching_preflights"] as const;
const KNOWN = new Set<string>(["@type", "allow_origin_string_match", "allow_origin", "allow_origin_regex", "enabled", "filter_enabled", "shadow_enabled", ...STRING_FIELDS, ...BOOL_FIELDS]);
const MATCHER_FIELDS = new Set(["exact", "prefix", "suffix", "contains", "safe_regex", "ignore_case"]);

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function camel(s: string): string {
  return s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function regexError(re: string): string | undefined {
  try {
    re2js().compile(re);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function decodeStringMatcher(v: unknown, at: string, errors: string[]): StringMatcher | undefined {
  if (!isObj(v)) {
    errors.push(`${at}: expected a StringMatcher object`);
    return undefined;
  }
  for (const k of Object.keys(v)) if (!MATCHER_FIELDS.has(k)) errors.push(`${at}.${k}: unknown StringMatcher field`);
  const kinds = ["exact", "prefix", "suffix", "contains", "safe_regex"].filter((k) => v[k] !== undefined);
  if (kinds.length !== 1) {
    errors.push(`${at}: exactly one of exact, prefix, suffix, contains or safe_regex must be set${kinds.length > 1 ? ` (got ${kinds.join(", ")})` : ""}`);
    return undefined;
  }
  const kind = kinds[0]!;
  const m: StringMatcher = {};
  if (kind === "safe_regex") {
    const re = isObj(v["safe_regex"]) ? v["safe_regex"]["regex"] : undefined;
    if (typeof re !== "string" || re === "") {
      errors.push(`${at}.safe_regex.regex: expected a non-empty RE2 regex`);
      return undefined;
    }
    const err = regexError(re);
    if (err !== undefined) {
      errors.push(`${at}.safe_regex.regex: ${JSON.stringify(re)} is not a valid RE2 regex: ${err}`);
      return undefined;
    }
    m.safeRegex = re;
  } else {
    const s = v[kind];
    // Envoy's validation: prefix/suffix/contains need at least one character; exact may be empty.
    if (typeof s !== "string" || (kind !== "exact" && s === "")) {
      errors.push(`${at}.${kind}: expected a ${kind === "exact" ? "" : "non-empty "}string`);
      return undefined;
    }
    m[kind as "exact" | "prefix" | "suffix" | "contains"] = s;
  }
  if (v["ignore_case"] !== undefined) {
    if (typeof v["ignore_case"] !== "boolean") errors.push(`${at}.ignore_case: expected a boolean`);
    else if (v["ignore_case"]) {
      if (kind === "safe_regex") errors.push(`${at}.ignore_case: not allowed with safe_regex (Envoy rejects it)`);
      else m.ignoreCase = true;
    }
  }
  return m;
}

function decodeFraction(v: unknown, at: string, errors: string[]): FractionalPercent | undefined {
  if (!isObj(v)) {
    errors.push(`${at}: expected a RuntimeFractionalPercent object`);
    return undefined;
  }
  const d = v["default_value"];
  if (!isObj(d)) {
    errors.push(`${at}.default_value: required FractionalPercent`);
    return undefined;
  }
  const n = d["numerator"] ?? 0;
  const num = typeof n === "string" && /^\d+$/.test(n) ? Number(n) : n;
  if (typeof num !== "number" || !Number.isInteger(num) || num < 0 || num > 0xffffffff) {
    errors.push(`${at}.default_value.numerator: expected an unsigned 32-bit integer, got ${JSON.stringify(n)}`);
    return undefined;
  }
  const den = d["denominator"] ?? "HUNDRED";
  if (typeof den !== "string" || !DENOMINATORS.has(den)) {
    errors.push(`${at}.default_value.denominator: expected HUNDRED, TEN_THOUSAND or MILLION, got ${JSON.stringify(den)}`);
    return undefined;
  }
  return { numerator: num, denominator: den as FractionalPercent["denominator"] };
}

/**
 * Decode one CORS policy. `path` prefixes every error and note (the policy's place in its
 * resource, e.g. `virtual_hosts[0].routes[2].typed_per_filter_config["envoy.filters.http.cors"]`).
 */
export function decodeCorsPolicy(json: Json, path = "cors"): Decoded<CorsPolicy> {
  const errors: string[] = [];
  const notes: DecodeNote[] = [];
  if (!isObj(json)) return { ok: false, errors: [`${path}: expected a CorsPolicy object`] };
  const type = json["@type"];
  if (type !== undefined && (typeof type !== "string" || !CORS_TYPES.has(type))) {
    errors.push(`${path}.@type: expected envoy.extensions.filters.http.cors.v3.CorsPolicy, got ${JSON.stringify(type)}`);
  }
  for (const k of Object.keys(json)) {
    if (!KNOWN.has(k)) notes.push({ path: `${path}.${k}`, message: "unknown CorsPolicy field, ignored" });
  }

  const origins: StringMatcher[] = [];
  const list = (k: string): unknown[] => {
    const v = json[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      errors.push(`${path}.${k}: expected a list`);
      return [];
    }
    return v;
  };
  list("allow_origin_string_match").forEach((m, i) => {
    const sm = decodeStringMatcher(m, `${path}.allow_origin_string_match[${i}]`, errors);
    if (sm) origins.push(sm);
  });
  // v2's deprecated forms: exact origins ("*" allows any) and regexes.
  list("allow_origin").forEach((o, i) => {
    if (typeof o === "string") origins.push({ exact: o });
    else errors.push(`${path}.allow_origin[${i}]: expected a string`);
  });
  list("allow_origin_regex").forEach((o, i) => {
    const sm = decodeStringMatcher({ safe_regex: { regex: o } }, `${path}.allow_origin_regex[${i}]`, errors);
    if (sm) origins.push(sm);
  });
  const out: CorsPolicy = { allowOriginStringMatch: origins };

  for (const k of STRING_FIELDS) {
    const v = json[k];
    if (v === undefined || v === "") continue;
    if (typeof v !== "string") errors.push(`${path}.${k}: expected a string`);
    else out[camel(k) as "allowMethods" | "allowHeaders" | "exposeHeaders" | "maxAge"] = v;
  }
  if (out.maxAge !== undefined && !/^\d+$/.test(out.maxAge)) {
    // Envoy copies max_age into access-control-max-age as is; browsers want delta-seconds.
    notes.push({ path: `${path}.max_age`, message: `${JSON.stringify(out.maxAge)} is not a number of seconds; sent as is` });
  }
  for (const k of BOOL_FIELDS) {
    const v = json[k];
    if (v === undefined) continue;
    if (typeof v !== "boolean") errors.push(`${path}.${k}: expected a boolean`);
    else out[camel(k) as "allowCredentials" | "allowPrivateNetworkAccess" | "forwardNotMatchingPreflights"] = v;
  }

  if (json["filter_enabled"] !== undefined && json["enabled"] !== undefined) {
    errors.push(`${path}: enabled and filter_enabled are one field (enabled_specifier): set only one`);
  }
  if (json["filter_enabled"] !== undefined) {
    const f = decodeFraction(json["filter_enabled"], `${path}.filter_enabled`, errors);
    if (f) out.filterEnabled = f;
  } else if (json["enabled"] !== undefined) {
    // v2's BoolValue `enabled`: false turns the policy off, as filter_enabled 0% does.
    if (typeof json["enabled"] !== "boolean") errors.push(`${path}.enabled: expected a boolean`);
    else if (!json["enabled"]) out.filterEnabled = { numerator: 0, denominator: "HUNDRED" };
  }
  if (json["shadow_enabled"] !== undefined) {
    const f = decodeFraction(json["shadow_enabled"], `${path}.shadow_enabled`, errors);
    if (f) out.shadowEnabled = f;
  }
  for (const k of ["filter_enabled", "shadow_enabled"]) {
    const rk = isObj(json[k]) ? json[k]["runtime_key"] : undefined;
    if (typeof rk === "string" && rk !== "") notes.push({ path: `${path}.${k}.runtime_key`, message: "runtime overrides are not supported; default_value applies" });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: out, notes };
}
