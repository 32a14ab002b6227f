// Redirect: the Location and status of a route's RedirectAction, following Envoy's
// Http::Utility::newUri (and processRequestHost for the port), compiled once per snapshot.

import type { RedirectAction, RedirectResponseCode, RouteMatch } from "../config/model/types.js";
import { matchedPrefixLength, replaceMatchedPrefix } from "./path-rewrite.js";
import type { RequestView } from "./request-view.js";

export interface RedirectResult {
  status: RedirectResponseCode;
  /** Absolute URI for the `location` response header. */
  location: string;
}

/** Index of the ":" that starts the port in an authority, or -1 (IPv6 literals aware). */
export function authorityPortStart(authority: string): number {
  if (authority.startsWith("[")) {
    const i = authority.lastIndexOf("]:");
    return i === -1 ? -1 : i + 1;
  }
  return authority.lastIndexOf(":");
}

export class Redirect {
  readonly status: RedirectResponseCode;
  private readonly scheme: string | undefined;
  private readonly host: string | undefined;
  /** ":<port>" from portRedirect, or "". */
  private readonly portSuffix: string;
  private readonly fromRequestPort: boolean;
  private readonly pathRedirect: string | undefined;
  private readonly pathRedirectHasQuery: boolean;
  private readonly prefixRewrite: string | undefined;
  private readonly matchedLength: number;

  private constructor(action: RedirectAction, match: RouteMatch) {
    this.status = action.responseCode;
    // Envoy treats empty strings / port 0 as "not set".
    this.scheme = action.schemeRedirect || undefined;
    this.host = action.hostRedirect || undefined;
    this.portSuffix = action.portRedirect ? `:${action.portRedirect}` : "";
    this.fromRequestPort = action.derivePort === "FROM_REQUEST_PORT";
    this.pathRedirect = action.pathRedirect || undefined;
    this.pathRedirectHasQuery = this.pathRedirect?.includes("?") ?? false;
    this.prefixRewrite = action.prefixRewrite || undefined;
    this.matchedLength = matchedPrefixLength(match);
  }

  /** `match` is the route's match: a prefixRewrite replaces the portion it matched. */
  static compile(action: RedirectAction, match: RouteMatch): Redirect {
    return new Redirect(action, match);
  }

  /**
   * - scheme: schemeRedirect, else the request's.
   * - host: hostRedirect (the request's port is dropped, as in Envoy), else the request authority,
   *   whose port is dropped when a port is being set, or when the scheme changes and the port is
   *   the old scheme's default (http→https with ":80" gives no port; ":8080" is kept).
   * - port: portRedirect; else with derivePort FROM_REQUEST_PORT the request's port as sent (kept
   *   even across a scheme change; none when the request had none); else (FROM_PROTOCOL_DEFAULT,
   *   Envoy's default) nothing is added, so the URI implies the scheme's default port.
   * - path: pathRedirect (the request query is appended unless pathRedirect has its own), else
   *   prefixRewrite of the matched portion, else the request path; always starting with "/".
   */
  build(req: RequestView): RedirectResult {
    const scheme = this.scheme ?? req.scheme;
    const authority = req.authority;
    const portStart = authorityPortStart(authority);

    let port = this.portSuffix;
    if (port === "" && this.fromRequestPort && portStart !== -1) port = authority.slice(portStart);

    let host: string;
    if (this.host !== undefined) {
      host = this.host;
    } else if (portStart === -1) {
      host = authority;
    } else {
      const requestPort = authority.slice(portStart);
      let removePort = port !== "";
      if (scheme !== req.scheme) {
        removePort ||= (req.scheme === "https" && requestPort === ":443") || (req.scheme === "http" && requestPort === ":80");
      }
      host = removePort ? authority.slice(0, portStart) : authority;
    }

    let path: string;
    if (this.pathRedirect !== undefined) {
      path = this.pathRedirect;
      if (!this.pathRedirectHasQuery) {
        const q = req.path.indexOf("?");
        if (q !== -1) path += req.path.slice(q);
      }
    } else if (this.prefixRewrite !== undefined) {
      path = replaceMatchedPrefix(req.path, this.matchedLength, this.prefixRewrite);
    } else {
      path = req.path;
    }
    if (!path.startsWith("/")) path = "/" + path;

    return { status: this.status, location: `${scheme}://${host}${port}${path}` };
  }
}
