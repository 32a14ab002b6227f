// MatchContext: per-request scratch for route matching. One instance lives in each RouteTable and
// is reset per match, so the common path (no query matchers) allocates nothing: the path without
// query and the parsed query are computed only when a route actually needs them.

import { parseQueryString } from "./query-string.js";
import type { RequestView } from "./request-view.js";

/** Index where the path part of `path` ends: the first "?" or "#" (Envoy removeQueryAndFragment). */
export function pathPartEnd(path: string): number {
  const q = path.indexOf("?");
  const h = path.indexOf("#");
  if (h !== -1 && (q === -1 || h < q)) return h;
  return q === -1 ? path.length : q;
}

export class MatchContext {
  req: RequestView = undefined as unknown as RequestView;
  private pathOnlyCache: string | undefined;
  private queryCache: Map<string, string> | undefined;

  reset(req: RequestView): void {
    this.req = req;
    this.pathOnlyCache = undefined;
    this.queryCache = undefined;
  }

  /** Drop the request reference so the table does not keep the last request alive. */
  clear(): void {
    this.req = undefined as unknown as RequestView;
    this.pathOnlyCache = undefined;
    this.queryCache = undefined;
  }

  /** The path without query string or fragment. */
  pathOnly(): string {
    let p = this.pathOnlyCache;
    if (p === undefined) {
      const path = this.req.path;
      const end = pathPartEnd(path);
      p = end === path.length ? path : path.slice(0, end);
      this.pathOnlyCache = p;
    }
    return p;
  }

  /** Query parameters, parsed on first use (raw values, first occurrence wins). */
  query(): Map<string, string> {
    return (this.queryCache ??= parseQueryString(this.req.path));
  }
}
