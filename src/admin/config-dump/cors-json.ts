// The model's CorsPolicy as Envoy's envoy.extensions.filters.http.cors.v3.CorsPolicy JSON (with its
// "@type"): what istiod writes under a route's typed_per_filter_config["envoy.filters.http.cors"].

import type { CorsPolicy, FractionalPercent } from "../../config/model/types.js";
import { compact, fractionalPercent, nonEmpty, stringMatcher, typeUrl, type Json } from "./envoy-json.js";

function runtimeFraction(p: FractionalPercent | undefined): Json | undefined {
  return p === undefined ? undefined : { default_value: fractionalPercent(p) };
}

export function corsPolicyJson(p: CorsPolicy): Json {
  return compact({
    "@type": typeUrl("envoy.extensions.filters.http.cors.v3.CorsPolicy"),
    allow_origin_string_match: nonEmpty(p.allowOriginStringMatch.map(stringMatcher)),
    allow_methods: p.allowMethods,
    allow_headers: p.allowHeaders,
    expose_headers: p.exposeHeaders,
    max_age: p.maxAge,
    allow_credentials: p.allowCredentials,
    allow_private_network_access: p.allowPrivateNetworkAccess,
    forward_not_matching_preflights: p.forwardNotMatchingPreflights,
    filter_enabled: runtimeFraction(p.filterEnabled),
    shadow_enabled: runtimeFraction(p.shadowEnabled),
  });
}
