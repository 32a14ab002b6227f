// RouteTable: a compiled RouteConfiguration. selectVirtualHost picks the virtual host for an
// authority; match runs its routes in order and returns the first that matches. Pure and
// synchronous: built once per snapshot per worker, then consulted on every request.

import { HTTP_CORS_FILTER, type RouteConfiguration, type VirtualHost } from "../config/model/types.js";
import { CompiledRoute, type MatchedRoute } from "./compiled-route.js";
import { MatchContext } from "./match-context.js";
import type { RequestView } from "./request-view.js";
import { VirtualHostSelector } from "./virtual-host-selector.js";

export type { MatchedRoute } from "./compiled-route.js";

export interface CompiledVirtualHost {
  readonly name: string;
  readonly virtualHost: VirtualHost;
  readonly routes: readonly CompiledRoute[];
}

export class RouteTable {
  readonly name: string;
  readonly virtualHosts: readonly CompiledVirtualHost[];
  private readonly selector: VirtualHostSelector<CompiledVirtualHost>;
  // Reused scratch: match() is synchronous, so one per table is safe within a worker thread.
  private readonly ctx = new MatchContext();

  private constructor(name: string, vhosts: CompiledVirtualHost[], selector: VirtualHostSelector<CompiledVirtualHost>) {
    this.name = name;
    this.virtualHosts = vhosts;
    this.selector = selector;
  }

  /** Compile every matcher, regex and picker now; throws Error naming the field on bad config. */
  static compile(rc: RouteConfiguration): RouteTable {
    const selector = new VirtualHostSelector<CompiledVirtualHost>({ ignorePort: rc.ignorePortInHostMatching === true });
    const vhosts: CompiledVirtualHost[] = [];
    for (const vh of rc.virtualHosts) {
      const where = `route configuration ${JSON.stringify(rc.name)}: virtual host ${JSON.stringify(vh.name)}`;
      const vhCors = vh.typedPerFilterConfig?.[HTTP_CORS_FILTER];
      const routes = vh.routes.map(
        (r, i) => new CompiledRoute(r, vh.name, `${where}: route ${JSON.stringify(r.name)} [${i}]`, vhCors),
      );
      const compiled: CompiledVirtualHost = { name: vh.name, virtualHost: vh, routes };
      for (const d of vh.domains) selector.add(d, compiled, where);
      vhosts.push(compiled);
    }
    return new RouteTable(rc.name, vhosts, selector);
  }

  selectVirtualHost(authority: string): CompiledVirtualHost | undefined {
    return this.selector.select(authority);
  }

  /** The first matching route of the request's virtual host, or undefined (Envoy NR → 404). */
  match(req: RequestView): MatchedRoute | undefined {
    const vh = this.selector.select(req.authority);
    return vh === undefined ? undefined : this.matchInVirtualHost(vh, req);
  }

  /** First-match-wins over `vh`'s routes, for callers that already selected the virtual host. */
  matchInVirtualHost(vh: CompiledVirtualHost, req: RequestView): MatchedRoute | undefined {
    const ctx = this.ctx;
    ctx.reset(req);
    try {
      const routes = vh.routes;
      for (let i = 0; i < routes.length; i++) {
        const r = routes[i]!;
        if (r.matches(ctx)) return r;
      }
      return undefined;
    } finally {
      ctx.clear();
    }
  }
}
