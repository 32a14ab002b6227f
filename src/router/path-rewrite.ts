// PathRewrite: the request rewrites of a RouteAction (prefixRewrite, regexRewrite,
// hostRewriteLiteral), compiled once per snapshot. Semantics follow Envoy's
// RouteEntryImplBase::currentUrlPathAfterRewriteWithMatchedPath: the query string is always kept.

import type { RouteAction, RouteMatch } from "../config/model/types.js";
import { pathPartEnd } from "./match-context.js";
import { RegexRewriter } from "./regex-rewriter.js";

export interface PathRewriteResult {
  /** The new :path, query string kept. */
  path: string;
  /** The :path as received, for `x-envoy-original-path`. */
  originalPath: string;
}

/**
 * How much of the request path a prefix rewrite replaces: the configured prefix (prefix routes),
 * the configured path (exact routes; what follows is the query), or -1 meaning "the whole path
 * without query" (regex routes). Routes without a path specifier behave like prefix "".
 */
export function matchedPrefixLength(match: RouteMatch): number {
  if (match.prefix !== undefined) return match.prefix.length;
  if (match.path !== undefined) return match.path.length;
  if (match.safeRegex !== undefined) return -1;
  return 0;
}

/**
 * Envoy generateNewPath: `replacement` + the part of `path` after the matched portion. No slash
 * fix-up: prefix "/prefix" with rewrite "/" turns "/prefix/etc" into "//etc" exactly as Envoy
 * does (its docs recommend a "/prefix/" route first for that reason).
 */
export function replaceMatchedPrefix(path: string, matchedLength: number, replacement: string): string {
  const cut = matchedLength < 0 ? pathPartEnd(path) : Math.min(matchedLength, path.length);
  return replacement + path.slice(cut);
}

export class PathRewrite {
  /** `hostRewriteLiteral`: the new :authority, or undefined to keep the request's. */
  readonly hostRewrite: string | undefined;
  private readonly prefixRewrite: string | undefined;
  private readonly matchedLength: number;
  private readonly regex: RegexRewriter | undefined;

  private constructor(action: RouteAction, match: RouteMatch, where: string) {
    this.hostRewrite = action.hostRewriteLiteral || undefined;
    // Envoy treats an empty prefix_rewrite as "not set".
    this.prefixRewrite = action.prefixRewrite || undefined;
    this.matchedLength = matchedPrefixLength(match);
    this.regex =
      this.prefixRewrite === undefined && action.regexRewrite !== undefined
        ? RegexRewriter.compile(action.regexRewrite.pattern, action.regexRewrite.substitution, `${where}.regexRewrite`)
        : undefined;
  }

  /** undefined when the action rewrites nothing (the common case: no object per route). */
  static compile(action: RouteAction, match: RouteMatch, where = "route"): PathRewrite | undefined {
    if (!action.prefixRewrite && action.regexRewrite === undefined && !action.hostRewriteLiteral) return undefined;
    return new PathRewrite(action, match, where);
  }

  /** Whether this rewrite changes the path at all (host-only rewrites do not). */
  get rewritesPath(): boolean {
    return this.prefixRewrite !== undefined || this.regex !== undefined;
  }

  /**
   * The rewritten path for the request path `path` (query included), or undefined when the path
   * stays as is (no path rewrite configured, or a regex rewrite that produced an empty path, which
   * Envoy also leaves alone).
   */
  rewritePath(path: string): PathRewriteResult | undefined {
    if (this.prefixRewrite !== undefined) {
      return { path: replaceMatchedPrefix(path, this.matchedLength, this.prefixRewrite), originalPath: path };
    }
    if (this.regex !== undefined) {
      const end = pathPartEnd(path);
      const only = end === path.length ? path : path.slice(0, end);
      const rewritten = this.regex.replaceAll(only);
      if (rewritten === "") return undefined;
      return { path: rewritten + path.slice(end), originalPath: path };
    }
    return undefined;
  }
}
