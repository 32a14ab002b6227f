// compileHeaderMatcher: one route header condition (Envoy config.route.v3.HeaderMatcher) as a
// predicate over a MatchContext. Pseudo-headers read the RequestView fields; repeated headers are
// joined with "," as Envoy's getAllOfHeaderAsString does.

import type { HeaderMatcher } from "../config/model/types.js";
import type { MatchContext } from "./match-context.js";
import { compileStringMatcher } from "./string-matcher.js";

export type ContextPredicate = (ctx: MatchContext) => boolean;
type ValueGetter = (ctx: MatchContext) => string | undefined;

function valueGetter(name: string): ValueGetter {
  switch (name) {
    case ":method":
      return (ctx) => ctx.req.method;
    case ":path":
      return (ctx) => ctx.req.path;
    case ":authority":
      return (ctx) => ctx.req.authority;
    case ":scheme":
      return (ctx) => ctx.req.scheme;
    default:
      return (ctx) => ctx.req.headers.getJoined(name);
  }
}

/**
 * Envoy semantics (header_utility.cc, since envoy#21828; no treat_missing_header_as_empty in the
 * model):
 * - value matcher, header present: stringMatch(value) XOR invertMatch;
 * - value matcher, header absent: false, inverted or not (so Istio `withoutHeaders` does not match
 *   a request lacking the header — istio#49537/#50988 document that as the real behaviour);
 * - presence matcher (presentMatch true/false, or neither set = true):
 *   (present === presentMatch) XOR invertMatch.
 */
export function compileHeaderMatcher(m: HeaderMatcher, where = "header matcher"): ContextPredicate {
  const name = m.name.toLowerCase();
  const invert = m.invertMatch === true;
  if (m.stringMatch !== undefined) {
    const match = compileStringMatcher(m.stringMatch, `${where} ${JSON.stringify(name)}`);
    const get = valueGetter(name);
    return (ctx) => {
      const v = get(ctx);
      if (v === undefined) return false;
      return match(v) !== invert;
    };
  }
  const wantPresent = m.presentMatch ?? true;
  if (name.startsWith(":")) {
    const get = valueGetter(name);
    return (ctx) => ((get(ctx) !== undefined) === wantPresent) !== invert;
  }
  // Presence of a regular header: no need to join values.
  return (ctx) => (ctx.req.headers.has(name) === wantPresent) !== invert;
}
