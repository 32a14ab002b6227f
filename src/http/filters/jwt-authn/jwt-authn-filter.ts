// JwtAuthnFilter (envoy.filters.http.jwt_authn, with Istio's istio_authn folded in): verifies the
// request's JWT at decodeHeaders, synchronously (keys are KeyObjects compiled per snapshot), and
// either answers Envoy's 401/403 with its `www-authenticate` header or lets the request go on with
// `streamInfo.requestAuth` (request.auth.*) set for authorization.

import type { JwtAuthentication } from "../../../config/model/jwt-authn.js";
import { HTTP_JWT_AUTHN_FILTER, type HttpFilterConfig } from "../../../config/model/types.js";
import type { Counter } from "../../../observability/stats/stats-store.js";
import type { RequestHeaders } from "../../http-message.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory, type HttpFilterScope } from "../http-filter.js";
import { CompiledJwtAuthn } from "./compiled-jwt-authn.js";
import { jwtDeniedDetails, jwtStatusCode } from "./jwt-status.js";

/** Envoy's MaximumUriLength for the realm. */
const MAX_URI_PATH = 256;

interface JwtStats {
  allowed: Counter;
  denied: Counter;
  corsPreflightBypassed: Counter;
}

class JwtAuthnFilter implements HttpFilter {
  constructor(
    private readonly cb: FilterCallbacks,
    private readonly jwt: CompiledJwtAuthn,
    private readonly stats: JwtStats,
  ) {}

  decodeHeaders(headers: RequestHeaders): FilterStatus {
    const cb = this.cb;
    if (this.jwt.bypassCorsPreflight && headers.method === "OPTIONS" && headers.headers.has("origin") && headers.headers.has("access-control-request-method")) {
      // Envoy: a preflight carries no credentials; counted as bypassed and allowed.
      this.stats.corsPreflightBypassed.inc();
      this.stats.allowed.inc();
      return FilterStatus.Continue;
    }
    const out = this.jwt.check(headers, cb.services.clock.now());
    if (out.kind !== "denied") {
      // Envoy counts every request the requirement lets through (no token under allow_missing too).
      if (out.kind === "ok") cb.streamInfo.requestAuth = out.auth;
      this.stats.allowed.inc();
      return FilterStatus.Continue;
    }
    this.stats.denied.inc();
    // Envoy: realm is the original request URI (x-forwarded-proto://host/path), path cut at 256 chars.
    const proto = headers.headers.get("x-forwarded-proto") ?? headers.scheme;
    const path = headers.path.length > MAX_URI_PATH ? headers.path.slice(0, MAX_URI_PATH) : headers.path;
    const realm = `Bearer realm="${proto}://${headers.authority}${path}", error="invalid_token"`;
    cb.sendResponse(jwtStatusCode(out.status), out.status, jwtDeniedDetails(out.status), [["www-authenticate", realm]]);
    return FilterStatus.StopIteration;
  }
}

/** The registry entry: `configure` compiles each connection manager's JwtAuthentication. */
export const jwtAuthnFilterFactory: HttpFilterFactory = {
  name: HTTP_JWT_AUTHN_FILTER,
  create() {
    // Without providers there is nothing to verify.
    return undefined;
  },
  configure(config: HttpFilterConfig, scope: HttpFilterScope): HttpFilterFactory {
    const c = (config.typedConfig ?? { providers: {} }) as JwtAuthentication;
    const jwt = new CompiledJwtAuthn(c);
    const stats: JwtStats = {
      allowed: scope.stats.counter(`http.${scope.statPrefix}.jwt_authn.allowed`),
      denied: scope.stats.counter(`http.${scope.statPrefix}.jwt_authn.denied`),
      corsPreflightBypassed: scope.stats.counter(`http.${scope.statPrefix}.jwt_authn.cors_preflight_bypassed`),
    };
    return { name: HTTP_JWT_AUTHN_FILTER, create: (cb) => new JwtAuthnFilter(cb, jwt, stats) };
  },
};
