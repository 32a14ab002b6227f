// VirtualService `http[].corsPolicy` → Envoy's CorsPolicy as istiod writes it on the route
// (pilot/pkg/networking/core/route/route.go TranslateCORSPolicy), validated with istiod's rules
// (pkg/config/validation validateCORSPolicy): allowOrigins win over the deprecated allowOrigin
// (exact matches), lists joined with ",", maxAge in whole seconds, filter_enabled 100%, and
// forward_not_matching_preflights always written (false only for unmatchedPreflights: IGNORE).

import type { CorsPolicy, StringMatcher } from "../model/types.js";
import type { FieldPath } from "./doc-issues.js";
import { parseDuration } from "./duration.js";
import type { SpecReader } from "./spec-reader.js";
import { parseStringMatch } from "./string-match.js";

const FIELDS = ["allowOrigins", "allowOrigin", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials", "unmatchedPreflights"];
/** istiod's supportedCORSMethods. */
const CORS_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"]);
const UNMATCHED_PREFLIGHTS = ["UNSPECIFIED", "FORWARD", "IGNORE"];
/** RFC 7230 tchar: istiod's validHeaderNameRegex. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function headerNames(r: SpecReader, o: Record<string, unknown>, key: string, p: FieldPath): string[] {
  const names = r.strArr(o, key, p) ?? [];
  names.forEach((n, i) => {
    if (n === "") r.issues.error([...p, key, i], "header name cannot be empty");
    else if (n !== "*" && !HEADER_NAME.test(n)) r.issues.error([...p, key, i], `header name ${n} is not a valid header name`);
  });
  return names;
}

/** The route's CorsPolicy, or undefined when the field is invalid (errors reported on `p`). */
export function parseCorsPolicy(r: SpecReader, v: unknown, p: FieldPath): CorsPolicy | undefined {
  const o = r.obj(v, p, FIELDS);
  if (!o) return undefined;
  const fail = (path: FieldPath, msg: string): void => r.issues.error(path, msg);
  // Any error in the field (ours or a helper's) drops the policy: the document is refused anyway.
  const errorsBefore = r.issues.errorCount;

  const origins: StringMatcher[] = [];
  (r.arr(o, "allowOrigins", p) ?? []).forEach((m, i) => {
    const at = [...p, "allowOrigins", i];
    const sm = parseStringMatch(r, m, at, false);
    if (!sm.ok || sm.matcher === undefined) return;
    const value = sm.matcher.exact ?? sm.matcher.prefix ?? sm.matcher.safeRegex;
    if (value === "") fail(at, "'' is not a valid match type for CORS allow origins");
    else origins.push(sm.matcher);
  });
  // Deprecated `allowOrigin`: exact origins, used only when allowOrigins is absent.
  const exactOrigins = r.strArr(o, "allowOrigin", p) ?? [];
  const allowOriginStringMatch = origins.length > 0 || (Array.isArray(o["allowOrigins"]) && o["allowOrigins"].length > 0) ? origins : exactOrigins.map((e) => ({ exact: e }));

  const methods = r.strArr(o, "allowMethods", p) ?? [];
  methods.forEach((m, i) => {
    if (!CORS_METHODS.has(m)) fail([...p, "allowMethods", i], `"${m}" is not a supported HTTP method`);
  });
  const allowHeaders = headerNames(r, o, "allowHeaders", p);
  const exposeHeaders = headerNames(r, o, "exposeHeaders", p);

  let maxAge: string | undefined;
  if (o["maxAge"] !== undefined && o["maxAge"] !== null) {
    const d = parseDuration(o["maxAge"]);
    if ("error" in d) fail([...p, "maxAge"], d.error);
    else if (d.ms % 1000 !== 0) fail([...p, "maxAge"], "max_age duration is accurate only to seconds precision");
    else maxAge = String(d.ms / 1000);
  }
  const allowCredentials = r.bool(o, "allowCredentials", p);
  const unmatched = o["unmatchedPreflights"] ?? "UNSPECIFIED";
  if (typeof unmatched !== "string" || !UNMATCHED_PREFLIGHTS.includes(unmatched)) {
    fail([...p, "unmatchedPreflights"], `${JSON.stringify(unmatched)} is not one of ${UNMATCHED_PREFLIGHTS.join(", ")}`);
  }
  if (r.issues.errorCount > errorsBefore) return undefined;

  const out: CorsPolicy = {
    allowOriginStringMatch,
    forwardNotMatchingPreflights: unmatched !== "IGNORE",
    filterEnabled: { numerator: 100, denominator: "HUNDRED" },
  };
  // strings.Join of an empty list is "", which proto3 leaves out.
  if (methods.length > 0) out.allowMethods = methods.join(",");
  if (allowHeaders.length > 0) out.allowHeaders = allowHeaders.join(",");
  if (exposeHeaders.length > 0) out.exposeHeaders = exposeHeaders.join(",");
  if (maxAge !== undefined) out.maxAge = maxAge;
  if (allowCredentials !== undefined) out.allowCredentials = allowCredentials;
  return out;
}
