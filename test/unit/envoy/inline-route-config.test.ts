// An HCM's inline route_config is handed to the route decoder (mocked here: its own suite tests
// it), becomes HttpConnectionManager.routeConfig, and is written back as route_config; no-op
// filters go back exactly as received.
import { describe, expect, it, vi } from "vitest";
import type { Json } from "../../../src/config/envoy/decoded.js";

vi.mock("../../../src/config/envoy/decode-route-config.js", () => ({
  decodeRouteConfiguration: (json: Json) =>
    json.name === "bad"
      ? { ok: false, errors: ["virtual_hosts[0].domains: required"] }
      : { ok: true, value: { name: json.name, virtualHosts: [{ name: "backend", domains: ["*"], routes: [] }] }, notes: [{ path: "virtual_hosts[0].x", message: "ignored" }] },
}));
vi.mock("../../../src/admin/config-dump/route-config-json.js", () => ({
  routeConfigJson: (rc: { name: string }) => ({ "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration", name: rc.name, virtual_hosts: [{ name: "backend", domains: ["*"] }] }),
}));

const { decodeListener } = await import("../../../src/config/envoy/decode-listener.js");
const { listenerJson } = await import("../../../src/admin/config-dump/listener-json.js");

const T = (t: string): string => `type.googleapis.com/${t}`;
function listener(routeName: string, extraFilters: Json[] = []): Json {
  return {
    name: "0.0.0.0_15090",
    address: { socket_address: { address: "0.0.0.0", port_value: 15090 } },
    traffic_direction: "INBOUND",
    filter_chains: [
      {
        filters: [
          ...extraFilters,
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": T("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
              stat_prefix: "stats",
              route_config: { name: routeName, virtual_hosts: [] },
              http_filters: [{ name: "envoy.filters.http.grpc_stats", typed_config: { "@type": T("envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"), emit_filter_state: true } }, { name: "envoy.filters.http.router", typed_config: { "@type": T("envoy.extensions.filters.http.router.v3.Router") } }],
            },
          },
        ],
      },
    ],
  };
}

describe("inline route_config", () => {
  it("decodes through the route decoder, with its notes under the HCM's path, and encodes back as route_config", () => {
    const mx = { name: "istio.metadata_exchange", typed_config: { "@type": T("envoy.tcp.metadataexchange.config.MetadataExchange"), protocol: "istio-peer-exchange" } };
    const r = decodeListener(listener("local", [mx]), { origin: "bootstrap" });
    if (!r.ok) throw new Error(r.errors.join("\n"));
    const hcm = r.value.filterChains[0]!.filters[1]!;
    expect(hcm).toMatchObject({ typedConfig: { routeConfigName: "local", routeConfig: { name: "local", virtualHosts: [{ name: "backend", domains: ["*"], routes: [] }] } } });
    expect(r.notes).toContainEqual({ path: "filter_chains[0].filters[1].typed_config.route_config.virtual_hosts[0].x", message: "ignored" });
    const back = listenerJson(r.value) as { filter_chains: Array<{ filters: Json[] }> };
    const filters = back.filter_chains[0]!.filters;
    expect(filters[0]).toEqual(mx);
    const tc = filters[1]!.typed_config as Json;
    expect(tc.rds).toBeUndefined();
    expect(tc.route_config).toEqual({ name: "local", virtual_hosts: [{ name: "backend", domains: ["*"] }] });
    expect((tc.http_filters as Json[])[0]).toEqual({ name: "envoy.filters.http.grpc_stats", typed_config: { "@type": T("envoy.extensions.filters.http.grpc_stats.v3.FilterConfig"), emit_filter_state: true } });
  });

  it("the route decoder's errors refuse the listener, under the HCM's path", () => {
    expect(decodeListener(listener("bad"), { origin: "xds" })).toEqual({ ok: false, errors: ["filter_chains[0].filters[0].typed_config.route_config: virtual_hosts[0].domains: required"] });
  });
});
