// compileQueryParameterMatcher: one route query condition (Envoy QueryParameterMatcher). Matches
// the first value of the parameter, raw (not percent-decoded), as Envoy does; without a string
// matcher it is a presence match. An absent parameter never matches.

import type { QueryParameterMatcher } from "../config/model/types.js";
import type { ContextPredicate } from "./header-matcher.js";
import { compileStringMatcher } from "./string-matcher.js";

export function compileQueryParameterMatcher(
  m: QueryParameterMatcher,
  where = "query parameter matcher",
): ContextPredicate {
  const name = m.name;
  if (m.stringMatch === undefined) return (ctx) => ctx.query().has(name);
  const match = compileStringMatcher(m.stringMatch, `${where} ${JSON.stringify(name)}`);
  return (ctx) => {
    const v = ctx.query().get(name);
    return v !== undefined && match(v);
  };
}
