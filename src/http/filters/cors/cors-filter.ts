// CorsFilter (envoy.filters.http.cors): answers CORS preflights locally and adds the CORS response
// headers to simple/actual requests, per the route's CorsPolicy merged with its virtual host's
// (compiled with the route, see CompiledCorsPolicy). Envoy's cors_filter.cc behaviour: routes
// that forward only; filter_enabled / shadow_enabled rolled with the worker's injected Random;
// `http.<stat_prefix>.cors.origin_valid` / `origin_invalid` counted per request with an Origin.

import { HTTP_CORS_FILTER, type HttpFilterConfig } from "../../../config/model/types.js";
import type { CompiledCorsPolicy } from "../../../router/compiled-cors-policy.js";
import type { Counter, StatsStore } from "../../../observability/stats/stats-store.js";
import { rollPercent } from "../fault/fault-decision.js";
import { HeaderList } from "../../header-list.js";
import type { RequestHeaders, ResponseHeaders } from "../../http-message.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory, type HttpFilterScope } from "../http-filter.js";

/** Envoy's response code details for an answered preflight. */
export const CORS_RESPONSE_DETAILS = "cors_response";

/** `http.<prefix>.cors.{origin_valid,origin_invalid}` (Envoy's CORS filter stats). */
export class CorsStats {
  readonly originValid: Counter;
  readonly originInvalid: Counter;

  constructor(store: StatsStore, statPrefix: string) {
    this.originValid = store.counter(`http.${statPrefix}.cors.origin_valid`);
    this.originInvalid = store.counter(`http.${statPrefix}.cors.origin_invalid`);
  }
}

class CorsFilter implements HttpFilter {
  /** The request's Origin when the policy allows it: echoed on the response. */
  private latchedOrigin: string | undefined;

  constructor(
    private readonly cb: FilterCallbacks,
    private readonly policy: CompiledCorsPolicy,
    private readonly stats: CorsStats | undefined,
  ) {}

  decodeHeaders(req: RequestHeaders): FilterStatus {
    const p = this.policy;
    const random = this.cb.services.random;
    // Envoy's enabled(): absent filter_enabled = on; shadowEnabled(): absent = off.
    const enabled = p.filterEnabled === undefined || rollPercent(p.filterEnabled, random);
    const shadow = p.shadowEnabled !== undefined && rollPercent(p.shadowEnabled, random);
    if (!enabled && !shadow) return FilterStatus.Continue;

    const origin = req.headers.get("origin");
    if (origin === undefined || origin === "") return FilterStatus.Continue;
    const allowed = p.originAllowed(origin);
    if (allowed) this.stats?.originValid.inc();
    else this.stats?.originInvalid.inc();
    // Shadow mode only counts.
    if (!enabled) return FilterStatus.Continue;
    if (allowed) this.latchedOrigin = origin;

    if (req.method !== "OPTIONS") return FilterStatus.Continue;
    const requestMethod = req.headers.get("access-control-request-method");
    if (requestMethod === undefined || requestMethod === "") return FilterStatus.Continue;
    // A preflight: OPTIONS with Origin and Access-Control-Request-Method.
    if (!allowed && p.forwardNotMatchingPreflights) return FilterStatus.Continue;

    const h: Array<[string, string]> = [];
    if (allowed) h.push(["access-control-allow-origin", origin]);
    if (p.allowCredentials) h.push(["access-control-allow-credentials", "true"]);
    if (p.allowMethods !== "") h.push(["access-control-allow-methods", p.allowMethods === "*" ? requestMethod : p.allowMethods]);
    if (p.allowHeaders !== "") {
      h.push(["access-control-allow-headers", p.allowHeaders === "*" ? (req.headers.get("access-control-request-headers") ?? "") : p.allowHeaders]);
    }
    if (p.maxAge !== "") h.push(["access-control-max-age", p.maxAge]);
    if (p.allowPrivateNetworkAccess && req.headers.get("access-control-request-private-network") === "true") {
      h.push(["access-control-allow-private-network", "true"]);
    }
    // Our own answer carries exactly the preflight headers: encodeHeaders leaves it alone.
    this.latchedOrigin = undefined;
    this.cb.sendResponse(200, "", CORS_RESPONSE_DETAILS, h);
    return FilterStatus.StopIteration;
  }

  /** A CORS request whose origin is allowed: the response says so (Envoy overwrites these headers). */
  encodeHeaders(res: ResponseHeaders): FilterStatus {
    const origin = this.latchedOrigin;
    if (origin === undefined) return FilterStatus.Continue;
    const h: HeaderList = res.headers;
    const p = this.policy;
    h.set("access-control-allow-origin", origin);
    if (p.allowCredentials) h.set("access-control-allow-credentials", "true");
    if (p.exposeHeaders !== "") h.set("access-control-expose-headers", p.exposeHeaders);
    return FilterStatus.Continue;
  }
}

function corsFactory(stats: CorsStats | undefined): HttpFilterFactory {
  return {
    name: HTTP_CORS_FILTER,
    create(cb) {
      // Envoy's CORS filter acts on route entries only (no route, redirects, direct responses: untouched).
      const cors = cb.route?.cors;
      return cors === undefined ? undefined : new CorsFilter(cb, cors, stats);
    },
  };
}

/** The registry entry: `configure` binds the connection manager's `http.<stat_prefix>.cors.*` stats. */
export const corsFilterFactory: HttpFilterFactory = {
  ...corsFactory(undefined),
  configure(_config: HttpFilterConfig, scope: HttpFilterScope): HttpFilterFactory {
    return corsFactory(new CorsStats(scope.stats, scope.statPrefix));
  },
};
