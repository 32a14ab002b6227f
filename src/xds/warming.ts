// Envoy's warming, computed from what the client holds: a cluster or listener becomes active only
// once everything it depends on (EDS assignment, RDS route configs, SDS secrets) is there or that
// dependency's initial fetch timeout has passed; until then the previous version (if any) keeps
// serving. Endpoints, routes and secrets have no dependencies: they are active as soon as held.

import type { DecodeNote, Json } from "../config/envoy/decoded.js";
import type { ResourceOfType, ResourceType } from "../config/source/config-source.js";
import type { Dependencies } from "./dependencies.js";

export interface Entry<T = unknown> {
  value: T;
  /** The resource as received (proto JSON). */
  json: Json;
  /** version_info of the response that carried it (SotW) or its own Resource.version (delta). */
  version: string;
  deps: Dependencies;
  /** The decoder's notes on this version (logged once when it arrived). */
  notes: DecodeNote[];
}

export type Held = { [K in ResourceType]: Map<string, Entry<ResourceOfType[K]>> };

/** Dependency names whose initial fetch timeout passed: no longer waited for. */
export interface Released {
  endpoint: Set<string>;
  routeConfiguration: Set<string>;
  secret: Set<string>;
}

export function emptyHeld(): Held {
  return { listener: new Map(), routeConfiguration: new Map(), cluster: new Map(), endpoint: new Map(), secret: new Map() };
}

export function cloneHeld(h: Held): Held {
  return {
    listener: new Map(h.listener),
    routeConfiguration: new Map(h.routeConfiguration),
    cluster: new Map(h.cluster),
    endpoint: new Map(h.endpoint),
    secret: new Map(h.secret),
  };
}

/** What a resource still waits for ([] = ready). */
export function missing(e: Entry, held: Held, released: Released): string[] {
  const out: string[] = [];
  for (const n of e.deps.endpoints) if (!held.endpoint.has(n) && !released.endpoint.has(n)) out.push(`ClusterLoadAssignment ${n}`);
  for (const n of e.deps.routes) if (!held.routeConfiguration.has(n) && !released.routeConfiguration.has(n)) out.push(`RouteConfiguration ${n}`);
  for (const n of e.deps.secrets) if (!held.secret.has(n) && !released.secret.has(n)) out.push(`secret ${n}`);
  return out;
}

/** The resources to serve: held ones that are ready, else the active version still serving. */
export function nextActive(held: Held, active: Held, released: Released): Held {
  const next = emptyHeld();
  for (const type of ["endpoint", "routeConfiguration", "secret"] as const) for (const [n, e] of held[type]) next[type].set(n, e as never);
  for (const type of ["cluster", "listener"] as const) {
    for (const [n, e] of held[type]) {
      if (missing(e, held, released).length === 0) next[type].set(n, e as never);
      else {
        const old = active[type].get(n);
        if (old !== undefined) next[type].set(n, old as never);
      }
    }
  }
  return next;
}

/** Names of held clusters and listeners still warming (config_dump's dynamic_warming_*). */
export function warmingNames(held: Held, released: Released): { clusters: string[]; listeners: string[] } {
  const of = (m: Map<string, Entry>): string[] => [...m].filter(([, e]) => missing(e, held, released).length > 0).map(([n]) => n);
  return { clusters: of(held.cluster), listeners: of(held.listener) };
}
