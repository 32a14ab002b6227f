// compilePathMatcher: the path specifier of a RouteMatch (prefix / path / safeRegex) as a predicate
// on the path without query string. caseSensitive=false folds ASCII case for prefix and path, and
// is ignored for safeRegex, as in Envoy (and Istio's ignoreUriCase docs).

import type { RouteMatch } from "../config/model/types.js";
import { equalsIgnoreCase, startsWithIgnoreCase } from "./ascii-case.js";
import { compileRegex, fullMatcher } from "./compile-regex.js";

export type PathPredicate = (pathOnly: string) => boolean;

const matchAll: PathPredicate = () => true;

export function compilePathMatcher(match: RouteMatch, where = "route match"): PathPredicate {
  const cs = match.caseSensitive !== false;
  if (match.prefix !== undefined) {
    const prefix = match.prefix;
    if (prefix === "") return matchAll;
    return cs ? (p) => p.startsWith(prefix) : (p) => startsWithIgnoreCase(p, prefix);
  }
  if (match.path !== undefined) {
    const path = match.path;
    return cs ? (p) => p === path : (p) => equalsIgnoreCase(p, path);
  }
  if (match.safeRegex !== undefined) {
    const re = compileRegex(match.safeRegex, `${where}: safeRegex`);
    return fullMatcher(re);
  }
  return matchAll;
}
