// Route resolution (the connection manager's route lookup): route match → redirect / direct
// response / forward decision with the weighted cluster picked, path and host rewritten and request
// header mutations applied. Pure with respect to I/O: filters read it, the router acts on it.

import { ErrorCode, type ErrorCodeValue } from "../common/errors.js";
import type { Random } from "../common/random.js";
import { HTTP_FAULT_FILTER, type FaultPolicy, type HashPolicy, type HeaderValueOption, type RequestMirrorPolicy, type RetryPolicy, type RouteAction, type WeightedCluster } from "../config/model/types.js";
import type { CompiledCorsPolicy } from "../router/compiled-cors-policy.js";
import { CompiledRetryPolicy } from "../router/retry-state.js";
import type { RequestView } from "../router/request-view.js";
import type { RouteTable } from "../router/route-table.js";
import type { HeaderList } from "./header-list.js";
import { applyHeaderMutations } from "./header-mutation.js";
import type { RequestHeaders } from "./http-message.js";

interface Named {
  routeName?: string | undefined;
  virtualHostName?: string | undefined;
  /** The matched route's CORS policy (merged with its virtual host's); set on routes that forward, as Envoy's CORS filter only acts on route entries. */
  cors?: CompiledCorsPolicy | undefined;
}

export interface LocalDecision extends Named {
  kind: "local";
  code: ErrorCodeValue;
  detail?: string;
}

export interface DirectDecision extends Named {
  kind: "direct";
  status: number;
  body: string;
  details: string;
  headers?: Array<[string, string]>;
}

export interface ForwardDecision extends Named {
  kind: "forward";
  clusterName: string;
  /** The path to send upstream (after rewrites). */
  path: string;
  /** Route timeout in ms (0 = none), covering every attempt. */
  timeoutMs: number;
  retryPolicy: CompiledRetryPolicy | undefined;
  /** The fault filter's per-route config. */
  fault: FaultPolicy | undefined;
  mirrors: readonly RequestMirrorPolicy[];
  hashPolicy: readonly HashPolicy[] | undefined;
  routeName: string;
  virtualHostName: string;
  /** Applies the route's (and weighted cluster's) response header mutations. */
  applyResponseHeaders(h: HeaderList): void;
  /**
   * The route action as configured (one reference, nothing copied per request): its
   * max_stream_duration (the connection manager bounds the stream), max_grpc_timeout /
   * grpc_timeout_offset (the router's gRPC timeout) and upgrade_configs.
   */
  action: RouteAction;
}

export type ResolvedRoute = LocalDecision | DirectDecision | ForwardDecision;

const EMPTY: readonly HeaderValueOption[] = [];
const NO_MIRRORS: readonly RequestMirrorPolicy[] = [];

/** Compiled once per RetryPolicy object (one per route per snapshot). */
const compiledRetry = new WeakMap<RetryPolicy, CompiledRetryPolicy>();

function retryPolicyOf(p: RetryPolicy | undefined): CompiledRetryPolicy | undefined {
  if (p === undefined || p.numRetries <= 0) return undefined;
  let c = compiledRetry.get(p);
  if (c === undefined) {
    c = new CompiledRetryPolicy(p);
    compiledRetry.set(p, c);
  }
  return c;
}
const NO_REMOVE: readonly string[] = [];

/** Matches `req` against `table`; `originalPath` is the path as received (for x-envoy-original-path). */
export function resolveRoute(table: RouteTable | undefined, req: RequestHeaders, originalPath: string, random: Random): ResolvedRoute {
  const headers = req.headers;
  // The request headers are the view route matching reads (no copy per request).
  const view: RequestView = req;
  const matched = table?.match(view);
  if (matched === undefined) return { kind: "local", code: ErrorCode.NoRoute };
  const route = matched.route;

  if (matched.redirect !== undefined) {
    const r = matched.redirect.build(view);
    return { kind: "direct", status: r.status, body: "", details: "redirect", headers: withResponseHeaders([["location", r.location]], route.responseHeadersToAdd, route.responseHeadersToRemove), routeName: route.name, virtualHostName: matched.virtualHostName };
  }
  if (route.directResponse !== undefined) {
    return { kind: "direct", status: route.directResponse.status, body: route.directResponse.body ?? "", details: "direct_response", headers: withResponseHeaders([], route.responseHeadersToAdd, route.responseHeadersToRemove), routeName: route.name, virtualHostName: matched.virtualHostName };
  }
  const action = route.route;
  if (action === undefined) return { kind: "local", code: ErrorCode.NoRoute, routeName: route.name, virtualHostName: matched.virtualHostName };
  const cors = matched.cors;

  let wc: WeightedCluster | undefined;
  let clusterName: string;
  if (matched.clusterPicker !== undefined) {
    wc = matched.clusterPicker.pick(random);
    if (wc === undefined) return { kind: "local", code: ErrorCode.NoCluster, routeName: route.name, virtualHostName: matched.virtualHostName, cors };
    clusterName = wc.name;
  } else if (action.cluster !== undefined) {
    clusterName = action.cluster;
  } else {
    return { kind: "local", code: ErrorCode.NoCluster, routeName: route.name, virtualHostName: matched.virtualHostName, cors };
  }

  let path = req.path;
  const rw = matched.rewrite;
  if (rw !== undefined) {
    const p = rw.rewritePath(path);
    if (p !== undefined) {
      path = p.path;
      if (!headers.has("x-envoy-original-path")) headers.add("x-envoy-original-path", originalPath);
    }
    if (rw.hostRewrite !== undefined) headers.set("Host", rw.hostRewrite);
  }
  // Envoy evaluates the most specific level first: weighted cluster, then route.
  if (wc !== undefined && (wc.requestHeadersToAdd.length > 0 || wc.requestHeadersToRemove.length > 0)) {
    applyHeaderMutations(headers, wc.requestHeadersToAdd, wc.requestHeadersToRemove);
  }
  if (route.requestHeadersToAdd.length > 0 || route.requestHeadersToRemove.length > 0) {
    applyHeaderMutations(headers, route.requestHeadersToAdd, route.requestHeadersToRemove);
  }

  const wcAdd = wc?.responseHeadersToAdd ?? EMPTY;
  const wcRemove = wc?.responseHeadersToRemove ?? NO_REMOVE;
  const rAdd = route.responseHeadersToAdd;
  const rRemove = route.responseHeadersToRemove;
  const hasResponseMutations = wcAdd.length + wcRemove.length + rAdd.length + rRemove.length > 0;
  return {
    kind: "forward",
    clusterName,
    path,
    timeoutMs: action.timeoutMs ?? 0,
    retryPolicy: retryPolicyOf(action.retryPolicy),
    fault: route.typedPerFilterConfig?.[HTTP_FAULT_FILTER],
    mirrors: action.requestMirrorPolicies ?? NO_MIRRORS,
    hashPolicy: action.hashPolicy,
    routeName: route.name,
    virtualHostName: matched.virtualHostName,
    cors,
    action,
    applyResponseHeaders: hasResponseMutations
      ? (h) => {
          applyHeaderMutations(h, wcAdd, wcRemove);
          applyHeaderMutations(h, rAdd, rRemove);
        }
      : noop,
  };
}

function noop(): void {}

function withResponseHeaders(base: Array<[string, string]>, add: readonly HeaderValueOption[], remove: readonly string[]): Array<[string, string]> {
  if (add.length === 0 && remove.length === 0) return base;
  const out = base.filter(([k]) => !remove.includes(k.toLowerCase()));
  for (const a of add) {
    const k = a.key.toLowerCase();
    if (a.appendAction === "OVERWRITE_IF_EXISTS_OR_ADD") {
      const i = out.findIndex(([n]) => n === k);
      if (i !== -1) out.splice(i, 1);
    }
    out.push([k, a.value]);
  }
  return out;
}
