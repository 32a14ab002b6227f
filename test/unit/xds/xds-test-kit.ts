// Shared pieces of the xDS client tests: a ResourceCodec that turns the fake server's resources
// into minimal model objects (the real decoders are tested on their own), resource builders, and
// a sink over a real SnapshotStore that records every push and can be told to refuse.

import type { Decoded, Json } from "../../../src/config/envoy/decoded.js";
import type { ConfigSink, ConfigUpdate, ResourceOfType, ResourceType, UpdateResult } from "../../../src/config/source/config-source.js";
import type { Cluster, CommonTlsContext, Listener, NetworkFilter, RouteConfiguration, Secret } from "../../../src/config/model/types.js";
import { createLogger, type Logger } from "../../../src/common/logger.js";
import type { ResourceCodec, XdsSourceOptions } from "../../../src/xds/xds-options.js";
import { decodeResourceBytes, type FakeXdsServer } from "../../helpers/fake-xds-server.js";
import { storeSink } from "../../helpers/memory-source.js";

const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const UTLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

function tls(j: Json | undefined): CommonTlsContext | undefined {
  const c = (j?.typed_config as Json | undefined)?.common_tls_context as Json | undefined;
  if (c === undefined) return undefined;
  const sds = (c.tls_certificate_sds_secret_configs as Json[] | undefined) ?? [];
  const cvc = c.combined_validation_context as Json | undefined;
  return {
    tlsCertificateSdsSecretConfigs: sds.map((s) => ({ name: String(s.name) })),
    ...(cvc !== undefined ? { combinedValidationContext: { defaultValidationContext: {}, validationContextSdsSecretConfig: { name: String((cvc.validation_context_sds_secret_config as Json).name) } } } : {}),
  };
}

/** Names starting with `bad` fail to decode; names starting with `noted` decode with a note. */
export const testCodec: ResourceCodec = {
  anyToJson: (typeUrl, value) => decodeResourceBytes(typeUrl, value),
  decode<T extends ResourceType>(type: T, json: Json): Decoded<ResourceOfType[T]> {
    const name = String(type === "endpoint" ? json.cluster_name : json.name);
    if (name.startsWith("bad")) return { ok: false, errors: [`${name}.field: refused by the test codec`] };
    const notes = name.startsWith("noted") ? [{ path: "filter_chains[0]", message: "carried as a no-op" }] : [];
    const ok = (value: unknown): Decoded<ResourceOfType[T]> => ({ ok: true, value: value as ResourceOfType[T], notes });
    switch (type) {
      case "listener": {
        const sa = (json.address as Json).socket_address as Json;
        const chains = ((json.filter_chains as Json[] | undefined) ?? []).map((fc, i) => {
          const filters: NetworkFilter[] = ((fc.filters as Json[] | undefined) ?? []).map((f) => {
            const tc = f.typed_config as Json;
            const rds = tc.rds as Json | undefined;
            const inline = tc.route_config as Json | undefined;
            return {
              name: "envoy.filters.network.http_connection_manager",
              typedConfig: {
                statPrefix: String(tc.stat_prefix ?? ""),
                routeConfigName: String(rds?.route_config_name ?? inline?.name ?? ""),
                ...(inline !== undefined ? { routeConfig: { name: String(inline.name), virtualHosts: [] } } : {}),
                httpFilters: [],
              },
            } as NetworkFilter;
          });
          const ct = tls(fc.transport_socket as Json | undefined);
          return { name: `fc${i}`, filterChainMatch: {}, filters, ...(ct !== undefined ? { transportSocket: { name: "envoy.transport_sockets.tls", typedConfig: { commonTlsContext: ct } } } : {}) };
        });
        const l: Listener = { name, address: String(sa.address), port: Number(sa.port_value ?? 0), trafficDirection: "OUTBOUND", listenerFilters: [], filterChains: chains };
        return ok(l);
      }
      case "cluster": {
        const ct = tls(json.transport_socket as Json | undefined);
        const c: Cluster = {
          name,
          type: (json.type as Cluster["type"] | undefined) ?? "STATIC",
          lbPolicy: "ROUND_ROBIN",
          connectTimeoutMs: 1000,
          loadAssignment: { endpoints: [] },
          ...(ct !== undefined ? { transportSocket: { name: "envoy.transport_sockets.tls", typedConfig: { commonTlsContext: ct } } } : {}),
        };
        return ok(c);
      }
      case "endpoint": {
        const eps = ((json.endpoints as Json[] | undefined) ?? []).map((g) => ({
          locality: {},
          priority: 0,
          lbEndpoints: ((g.lb_endpoints as Json[] | undefined) ?? []).map((e) => {
            const sa = ((e.endpoint as Json).address as Json).socket_address as Json;
            return { address: String(sa.address), port: Number(sa.port_value), weight: 1 };
          }),
        }));
        return ok({ clusterName: name, endpoints: eps });
      }
      case "routeConfiguration": {
        const r: RouteConfiguration = { name, virtualHosts: [] };
        return ok(r);
      }
      case "secret": {
        const tc = json.tls_certificate as Json | undefined;
        const vc = json.validation_context as Json | undefined;
        const s: Secret = {
          name,
          ...(tc !== undefined ? { tlsCertificate: { certificateChain: String((tc.certificate_chain as Json).inline_string), privateKey: String((tc.private_key as Json).inline_string) } } : {}),
          ...(vc !== undefined ? { validationContext: { trustedCa: String((vc.trusted_ca as Json).inline_string) } } : {}),
        };
        return ok(s);
      }
    }
    return { ok: false, errors: ["unknown type"] };
  },
};

// ---- resource builders (proto JSON as istiod sends it) -------------------------------------

export function edsCluster(name: string, opts: { serviceName?: string; secrets?: { cert: string; ca?: string } } = {}): Json {
  return {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: { ads: {} }, ...(opts.serviceName !== undefined ? { service_name: opts.serviceName } : {}) },
    ...(opts.secrets !== undefined
      ? {
          transport_socket: {
            name: "envoy.transport_sockets.tls",
            typed_config: {
              "@type": UTLS,
              common_tls_context: {
                tls_certificate_sds_secret_configs: [{ name: opts.secrets.cert, sds_config: { ads: {} } }],
                ...(opts.secrets.ca !== undefined ? { combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: { name: opts.secrets.ca, sds_config: { ads: {} } } } } : {}),
              },
            },
          },
        }
      : {}),
  };
}

export function staticCluster(name: string): Json {
  return { name, type: "STATIC", load_assignment: { cluster_name: name, endpoints: [] } };
}

export function assignment(cluster: string, ...addrs: Array<[string, number]>): Json {
  return {
    cluster_name: cluster,
    endpoints: [{ lb_endpoints: addrs.map(([a, p]) => ({ endpoint: { address: { socket_address: { address: a, port_value: p } } } })) }],
  };
}

export function rdsListener(name: string, port: number, routeName: string): Json {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [
      { filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { "@type": HCM, stat_prefix: name, rds: { route_config_name: routeName, config_source: { ads: {} } } } }] },
    ],
  };
}

export function inlineRouteListener(name: string, port: number): Json {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: { "@type": HCM, stat_prefix: name, route_config: { name: `inline-${name}` } } }] }],
  };
}

/** An inbound-style listener whose chain terminates mTLS with SDS secrets and routes inline. */
export function tlsListener(name: string, port: number, cert: string): Json {
  const l = inlineRouteListener(name, port);
  const chain = (l.filter_chains as Json[])[0]!;
  chain.transport_socket = {
    name: "envoy.transport_sockets.tls",
    typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", common_tls_context: { tls_certificate_sds_secret_configs: [{ name: cert, sds_config: { ads: {} } }] } },
  };
  return l;
}

export function routeConfig(name: string): Json {
  return { name, virtual_hosts: [{ name: "vh", domains: ["*"] }] };
}

export function certSecret(name: string, pem: string): Json {
  return { name, tls_certificate: { certificate_chain: { inline_string: pem }, private_key: { inline_string: `key-of-${pem}` } } };
}

export function caSecret(name: string, pem: string): Json {
  return { name, validation_context: { trusted_ca: { inline_string: pem } } };
}

// ---- sink -----------------------------------------------------------------------------------

/** A SnapshotStore sink that records pushes, lets a test await them, and refuses while `refuse` is set. */
export class RecordingSink implements ConfigSink {
  readonly pushes: Array<{ update: ConfigUpdate; result: UpdateResult }> = [];
  readonly inner = storeSink();
  refuse: string | undefined;
  private waiters: Array<{ pred: (u: ConfigUpdate) => boolean; from: number; resolve: (u: ConfigUpdate) => void }> = [];

  get store() {
    return this.inner.store;
  }

  async push(update: ConfigUpdate): Promise<UpdateResult> {
    const result: UpdateResult =
      this.refuse !== undefined
        ? { accepted: false, errors: [{ file: update.origin, line: 0, path: "", message: this.refuse, severity: "error" }], version: null }
        : await this.inner.sink.push(update);
    this.pushes.push({ update, result });
    const i = this.pushes.length - 1;
    // Waiters run once the client has taken the answer in (its commit runs in the microtasks after
    // this push resolves; setImmediate comes after them), so they see the client's new state.
    setImmediate(() => {
      this.waiters = this.waiters.filter((w) => (i >= w.from && w.pred(update) ? (w.resolve(update), false) : true));
    });
    return result;
  }

  /** The first push (from index `from`) matching `pred`. */
  waitFor(pred: (u: ConfigUpdate) => boolean, from = 0): Promise<ConfigUpdate> {
    for (let i = from; i < this.pushes.length; i++) if (pred(this.pushes[i]!.update)) return Promise.resolve(this.pushes[i]!.update);
    return new Promise((resolve) => this.waiters.push({ pred, from, resolve }));
  }

  /** Names of the resources of a type the store serves now. */
  names(type: ResourceType): string[] {
    const s = this.store.snapshot;
    if (s === null || s === undefined) return [];
    switch (type) {
      case "listener":
        return s.listeners.map((l) => l.name).sort();
      case "cluster":
        return Object.keys(s.clusters).sort();
      case "routeConfiguration":
        return Object.keys(s.routeConfigs).sort();
      case "secret":
        return Object.keys(s.secrets ?? {}).sort();
      case "endpoint":
        return Object.values(s.clusters).filter((c) => c.type === "EDS" && c.loadAssignment.endpoints.length > 0).map((c) => c.name).sort();
    }
    return [];
  }
}

export interface LogCapture {
  log: Logger;
  lines: string[];
  /** Resolves when a line matching `re` has been logged (now or later). */
  waitForLine(re: RegExp): Promise<string>;
}

export function captureLog(): LogCapture {
  const lines: string[] = [];
  let waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const log = createLogger("debug", "xds-test", (l) => {
    lines.push(l);
    waiters = waiters.filter((w) => (w.re.test(l) ? (w.resolve(l), false) : true));
  });
  return {
    log,
    lines,
    waitForLine: (re) => {
      const seen = lines.find((l) => re.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

export const NODE: Json = {
  id: "sidecar~10.1.2.3~productpage-v1-abc.default~default.svc.cluster.local",
  cluster: "productpage.default",
  metadata: { NAMESPACE: "default", LABELS: { app: "productpage", version: "v1" }, ISTIO_VERSION: "1.28.0", POD_PORTS: '[{"containerPort":9080}]', INSTANCE_IPS: "10.1.2.3", EMPTY: {}, LIST: ["a", 1, true, null] },
  locality: { region: "eu-west1", zone: "b" },
  user_agent_name: "envoy",
};

export function options(server: FakeXdsServer, mode: "sotw" | "delta", log: Logger, extra: Partial<XdsSourceOptions> = {}): XdsSourceOptions {
  return {
    ads: { target: server.target, clusterName: "xds-grpc" },
    mode,
    node: NODE,
    setNodeOnFirstMessageOnly: true,
    codec: testCodec,
    initialFetchTimeoutMs: { cds: 0, lds: 0, eds: 0, rds: 0, sds: 0 },
    backoff: { baseMs: 5, maxMs: 20 },
    log,
    ...extra,
  };
}
