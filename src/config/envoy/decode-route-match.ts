// envoy.config.route.v3.RouteMatch → the model's RouteMatch: one path specifier, case_sensitive,
// header and query-parameter matchers; grpc becomes the content-type header match Envoy applies.
// Match conditions the data path cannot evaluate are errors: dropping one would widen the route.
// A CONNECT route (connect_matcher) is kept but matches only CONNECT, which is never routed here.

import type { HeaderMatcher, QueryParameterMatcher, RouteMatch } from "../model/types.js";
import { at, bool, checkFields, fractionalPercent, headerMatcher, list, obj, regexOf, str, stringMatcher, type DecodeState } from "./decode-common.js";

const PATH_FIELDS = ["prefix", "path", "safe_regex", "path_separated_prefix", "regex", "connect_matcher", "path_match_policy"] as const;

/** RE2-escape a literal. */
function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

function queryParameter(v: unknown, path: string, st: DecodeState): QueryParameterMatcher | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "string_match", "present_match", "value", "regex"]);
  const name = str(o.name, at(path, "name"), st);
  if (name === undefined || name === "") return st.error(at(path, "name"), "a query parameter name is required");
  const q: QueryParameterMatcher = { name };
  if (o.string_match !== undefined) {
    const m = stringMatcher(o.string_match, at(path, "string_match"), st);
    if (m !== undefined) q.stringMatch = m;
  } else if (o.value !== undefined) {
    // v2: value, with regex: true meaning the value is a regex.
    const value = str(o.value, at(path, "value"), st);
    if (value !== undefined) q.stringMatch = bool(o.regex, at(path, "regex"), st) === true ? { safeRegex: value } : { exact: value };
  }
  const present = bool(o.present_match, at(path, "present_match"), st);
  if (present !== undefined) q.presentMatch = present;
  if (q.stringMatch === undefined && q.presentMatch === undefined) q.presentMatch = true;
  return q;
}

export function routeMatch(v: unknown, path: string, st: DecodeState): RouteMatch | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return st.error(path, "a route match is required");
  checkFields(o, path, st, [...PATH_FIELDS, "case_sensitive", "headers", "query_parameters", "grpc", "runtime_fraction"], {
    tls_context: "matching on the TLS context is not supported by Outrigger",
    dynamic_metadata: "matching on dynamic metadata is not supported by Outrigger",
    filter_state: "matching on filter state is not supported by Outrigger",
    cel_matcher: "CEL matchers are not supported by Outrigger",
  });
  const set = PATH_FIELDS.filter((k) => o[k] !== undefined);
  if (set.length !== 1) return st.error(path, `exactly one of prefix, path, safe_regex, path_separated_prefix, connect_matcher, path_match_policy must be set (got ${set.length === 0 ? "none" : set.join(", ")})`);
  const caseSensitive = bool(o.case_sensitive, at(path, "case_sensitive"), st) ?? true;
  const m: RouteMatch = { caseSensitive, headers: [], queryParameters: [] };
  const k = set[0]!;
  const p = at(path, k);
  switch (k) {
    case "prefix":
    case "path": {
      const s = str(o[k], p, st);
      if (s !== undefined) m[k] = s;
      break;
    }
    case "safe_regex": {
      const r = regexOf(o.safe_regex, p, st);
      if (r !== undefined) m.safeRegex = r;
      break;
    }
    case "regex": {
      const r = str(o.regex, p, st);
      if (r !== undefined) m.safeRegex = r;
      st.note(p, "deprecated regex (std::regex) matched as RE2");
      break;
    }
    case "path_separated_prefix": {
      // Envoy: the path equals the prefix or continues with "/" after it (query and fragment aside).
      const s = str(o.path_separated_prefix, p, st);
      if (s === undefined) break;
      if (!s.startsWith("/") || s.endsWith("/") || s.includes("?") || s.includes("#")) return st.error(p, "must start with '/' and must not end with '/' or contain '?' or '#'");
      if (!caseSensitive) return st.error(p, "path_separated_prefix with case_sensitive false is not supported by Outrigger");
      m.safeRegex = `${escapeRegex(s)}(/.*)?`;
      st.note(p, `matched as the equivalent regex ${JSON.stringify(m.safeRegex)}`);
      break;
    }
    case "connect_matcher":
      // Envoy: the route takes CONNECT requests only (istiod's HBONE connect_terminate listener).
      // Outrigger does not proxy CONNECT, so the route stays in place but never serves a request;
      // refusing it would refuse the whole listener.
      m.headers.push({ name: ":method", stringMatch: { exact: "CONNECT" } });
      st.note(p, "CONNECT requests are not proxied by Outrigger: this route never matches");
      break;
    case "path_match_policy":
      return st.error(p, "URI template path matching is not supported by Outrigger");
  }
  list(o.headers, at(path, "headers"), st).forEach((h, i) => {
    const hm = headerMatcher(h, at(at(path, "headers"), i), st);
    if (hm !== undefined) m.headers.push(hm);
  });
  list(o.query_parameters, at(path, "query_parameters"), st).forEach((q, i) => {
    const qm = queryParameter(q, at(at(path, "query_parameters"), i), st);
    if (qm !== undefined) m.queryParameters.push(qm);
  });
  if (o.grpc !== undefined && obj(o.grpc, at(path, "grpc"), st) !== undefined) {
    // Envoy's grpc match: content-type starts with application/grpc.
    const grpc: HeaderMatcher = { name: "content-type", stringMatch: { prefix: "application/grpc" } };
    m.headers.push(grpc);
  }
  if (o.runtime_fraction !== undefined) {
    const rf = obj(o.runtime_fraction, at(path, "runtime_fraction"), st);
    const f = rf !== undefined ? fractionalPercent(rf.default_value, at(path, "runtime_fraction.default_value"), st) : undefined;
    const full = f !== undefined && f.numerator >= { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 }[f.denominator];
    if (f !== undefined && !full) st.error(at(path, "runtime_fraction"), "matching a fraction of requests is not supported by Outrigger (only 100%)");
  }
  return m;
}
