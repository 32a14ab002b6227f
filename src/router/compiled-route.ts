// CompiledRoute: one model Route with its match conditions turned into predicates and its
// actions into ready helpers (cluster picker, rewrite, redirect). It is what RouteTable.match
// returns, so a match allocates nothing.

import { HTTP_CORS_FILTER, type CorsPolicy, type Route } from "../config/model/types.js";
import { CompiledCorsPolicy } from "./compiled-cors-policy.js";
import { compileHeaderMatcher, type ContextPredicate } from "./header-matcher.js";
import type { MatchContext } from "./match-context.js";
import { compilePathMatcher, type PathPredicate } from "./path-matcher.js";
import { PathRewrite } from "./path-rewrite.js";
import { compileQueryParameterMatcher } from "./query-parameter-matcher.js";
import { Redirect } from "./redirect.js";
import { WeightedClusterPicker } from "./weighted-cluster-picker.js";

/** The result of a route match. */
export interface MatchedRoute {
  /** The model route (actions, header mutations, name). */
  readonly route: Route;
  /** Name of the virtual host the route belongs to. */
  readonly virtualHostName: string;
  /** Set when the route forwards to weightedClusters. */
  readonly clusterPicker: WeightedClusterPicker | undefined;
  /** Set when the route action rewrites the path and/or host. */
  readonly rewrite: PathRewrite | undefined;
  /** Set when the route is a redirect. */
  readonly redirect: Redirect | undefined;
  /** The CORS policy of the route merged with its virtual host's; undefined = neither has one. */
  readonly cors: CompiledCorsPolicy | undefined;
}

/** The first failing condition of a route: its path specifier, or match.headers[index] / match.queryParameters[index]. */
export type RouteMismatch = { kind: "path" } | { kind: "header"; index: number } | { kind: "query"; index: number };

export class CompiledRoute implements MatchedRoute {
  readonly route: Route;
  readonly virtualHostName: string;
  readonly clusterPicker: WeightedClusterPicker | undefined;
  readonly rewrite: PathRewrite | undefined;
  readonly redirect: Redirect | undefined;
  readonly cors: CompiledCorsPolicy | undefined;
  private readonly path: PathPredicate;
  private readonly headers: readonly ContextPredicate[];
  private readonly queries: readonly ContextPredicate[];

  /** `where` prefixes compile errors, e.g. `route configuration "80": virtual host "a": route "r" [0]`. */
  constructor(route: Route, virtualHostName: string, where: string, virtualHostCors?: CorsPolicy) {
    this.route = route;
    this.virtualHostName = virtualHostName;
    const m = route.match;
    this.path = compilePathMatcher(m, `${where}: match`);
    this.headers = (m.headers ?? []).map((h, i) => compileHeaderMatcher(h, `${where}: match.headers[${i}]`));
    this.queries = (m.queryParameters ?? []).map((q, i) =>
      compileQueryParameterMatcher(q, `${where}: match.queryParameters[${i}]`),
    );
    const action = route.route;
    this.clusterPicker =
      action?.weightedClusters !== undefined ? WeightedClusterPicker.create(action.weightedClusters) : undefined;
    this.rewrite = action !== undefined ? PathRewrite.compile(action, m, `${where}: route`) : undefined;
    this.redirect = route.redirect !== undefined ? Redirect.compile(route.redirect, m) : undefined;
    this.cors = CompiledCorsPolicy.compile(route.typedPerFilterConfig?.[HTTP_CORS_FILTER], virtualHostCors, where);
  }

  /**
   * Why this route does not match (the first condition that fails, in `matches`' order), or
   * undefined when it matches. For `outrigger explain`, never on the data path: it runs the same
   * compiled predicates as `matches`, so the answer cannot drift from what requests see.
   */
  mismatch(ctx: MatchContext): RouteMismatch | undefined {
    if (!this.path(ctx.pathOnly())) return { kind: "path" };
    for (let i = 0; i < this.headers.length; i++) if (!this.headers[i]!(ctx)) return { kind: "header", index: i };
    for (let i = 0; i < this.queries.length; i++) if (!this.queries[i]!(ctx)) return { kind: "query", index: i };
    return undefined;
  }

  /** Path first (cheapest, most selective), then headers, then query parameters; all AND'd. */
  matches(ctx: MatchContext): boolean {
    if (!this.path(ctx.pathOnly())) return false;
    const hs = this.headers;
    for (let i = 0; i < hs.length; i++) if (!hs[i]!(ctx)) return false;
    const qs = this.queries;
    for (let i = 0; i < qs.length; i++) if (!qs[i]!(ctx)) return false;
    return true;
  }
}
