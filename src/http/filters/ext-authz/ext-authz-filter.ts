// `envoy.filters.http.ext_authz` (istiod: AuthorizationPolicy action CUSTOM), fail closed: Outrigger
// does not call external authorizers, so a request the filter applies to is answered as Envoy
// answers when the authorization service cannot be reached and failure_mode_allow is false —
// status_on_error (403 by default), an empty body, flag UAEX, details `ext_authz_error`. istiod
// scopes the filter with filter_enabled_metadata (the shadow RBAC filter's
// `istio_ext_authz_shadow_effective_policy_id`), so requests the CUSTOM policy does not select pass.

import type { ExtAuthzConfig, HttpFilterConfig } from "../../../config/model/types.js";
import { HTTP_EXT_AUTHZ_FILTER } from "../../../config/model/types.js";
import { ResponseFlag } from "../../../observability/stream-info.js";
import { compileStringMatcher } from "../../../router/string-matcher.js";
import { FilterStatus, type FilterCallbacks, type HttpFilter, type HttpFilterFactory } from "../http-filter.js";

const DEFAULT_STATUS_ON_ERROR = 403;

class ExtAuthzFilter implements HttpFilter {
  constructor(
    private readonly cb: FilterCallbacks,
    private readonly status: number,
    private readonly applies: (cb: FilterCallbacks) => boolean,
  ) {}

  decodeHeaders(): FilterStatus {
    if (!this.applies(this.cb)) return FilterStatus.Continue;
    this.cb.streamInfo.addFlag(ResponseFlag.UnauthorizedExternalService);
    this.cb.sendResponse(this.status, "", "ext_authz_error");
    return FilterStatus.StopIteration;
  }
}

function compile(c: ExtAuthzConfig): HttpFilterFactory {
  const status = c.statusOnError ?? DEFAULT_STATUS_ON_ERROR;
  const m = c.filterEnabledMetadata;
  let applies: (cb: FilterCallbacks) => boolean = () => true;
  if (c.failureModeAllow === true) applies = () => false;
  else if (m !== undefined) {
    const match = compileStringMatcher(m.matcher, `${HTTP_EXT_AUTHZ_FILTER} filter_enabled_metadata`);
    applies = (cb) => {
      const v = cb.streamInfo.dynamicMetadata?.[m.filter]?.[m.key];
      return v !== undefined && match(v);
    };
  }
  return { name: HTTP_EXT_AUTHZ_FILTER, create: (cb) => new ExtAuthzFilter(cb, status, applies) };
}

/** The registry entry: `configure` compiles each connection manager's ExtAuthz config. */
export const extAuthzFilterFactory: HttpFilterFactory = {
  name: HTTP_EXT_AUTHZ_FILTER,
  // Without a config: every request (Envoy needs a service; the decoder always gives a config).
  create: (cb) => new ExtAuthzFilter(cb, DEFAULT_STATUS_ON_ERROR, () => true),
  configure(config: HttpFilterConfig): HttpFilterFactory {
    return compile((config.typedConfig ?? { original: {} }) as ExtAuthzConfig);
  },
};
