// Builders for router tests: terse model routes and request views.

import type { Route, RouteConfiguration, RouteMatch, VirtualHost } from "../../../src/config/model/types.js";
import { HeaderList } from "../../../src/http/header-list.js";
import type { RequestView } from "../../../src/router/request-view.js";

export function req(
  path: string,
  opts: { authority?: string; method?: string; scheme?: "http" | "https"; headers?: Array<[string, string]> } = {},
): RequestView {
  return {
    method: opts.method ?? "GET",
    path,
    authority: opts.authority ?? "example.com",
    scheme: opts.scheme ?? "http",
    headers: HeaderList.from(opts.headers ?? []),
  };
}

export function match(m: Partial<RouteMatch> = {}): RouteMatch {
  return { caseSensitive: true, headers: [], queryParameters: [], ...m };
}

export function route(name: string, m: Partial<RouteMatch> = {}, extra: Partial<Route> = {}): Route {
  return {
    name,
    match: match(m),
    route: { cluster: `cluster-${name}` },
    requestHeadersToAdd: [],
    requestHeadersToRemove: [],
    responseHeadersToAdd: [],
    responseHeadersToRemove: [],
    ...extra,
  };
}

export function vhost(name: string, domains: string[], routes: Route[]): VirtualHost {
  return { name, domains, routes };
}

export function config(...virtualHosts: VirtualHost[]): RouteConfiguration {
  return { name: "test", virtualHosts };
}

/** A config with one catch-all virtual host holding `routes`. */
export function single(...routes: Route[]): RouteConfiguration {
  return config(vhost("vh", ["*"], routes));
}
