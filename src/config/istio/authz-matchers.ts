// istiod's matcher helpers (pilot/pkg/security/authz/matcher) for AuthorizationPolicy values: one
// `*` at the start or end of a value is a suffix / prefix match, `*` alone matches any non-empty
// value, anything else is exact.

import type { HeaderMatcher, StringMatcher } from "../model/types.js";

/** Go's regexp.QuoteMeta (what istiod uses). */
export function quoteRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

/** istiod matcher.StringMatcherWithPrefix: `prefix` is prepended (`spiffe://` for principals). */
export function istioStringMatcher(v: string, prefix = ""): StringMatcher {
  if (v === "*") return { safeRegex: ".+" };
  if (v.startsWith("*")) {
    const rest = v.slice(1);
    return prefix === "" ? { suffix: rest } : { safeRegex: `${quoteRegex(prefix)}.*${quoteRegex(rest)}` };
  }
  if (v.endsWith("*")) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

/** istiod matcher.HeaderMatcher: `*` = present, else the string matcher. */
export function istioHeaderMatcher(name: string, v: string): HeaderMatcher {
  if (v === "*") return { name, presentMatch: true };
  return { name, stringMatch: istioStringMatcher(v) };
}

/** istiod matcher.HostMatcher: like HeaderMatcher, case-insensitive. */
export function istioHostMatcher(v: string): HeaderMatcher {
  if (v === "*") return { name: ":authority", presentMatch: true };
  return { name: ":authority", stringMatch: { ...istioStringMatcher(v), ignoreCase: true } };
}

/** Source namespace as istiod matches it: a regex on the peer principal (`*` = `.*`). */
export function namespaceRegex(ns: string): StringMatcher {
  return { safeRegex: `.*/ns/${ns.replace(/\*/g, ".*")}/.*` };
}

/**
 * istiod serviceAccountRegex: `ns/sa` (or `sa` in the policy's namespace) as a regex on the peer's
 * URI SAN — any trust domain, optional extra segments before `sa/` and after the account, and
 * nothing glued to the account name (`sa-other` does not match `sa`).
 */
export function serviceAccountRegex(policyNamespace: string, v: string): StringMatcher {
  const slash = v.indexOf("/");
  const ns = slash < 0 ? policyNamespace : v.slice(0, slash);
  const sa = slash < 0 ? v : v.slice(slash + 1);
  return { safeRegex: `spiffe://.+/ns/${quoteRegex(ns)}/(.+/|)sa/${quoteRegex(sa)}(/.+)?` };
}
