// The listener decoder and the route decoder together over istiod's real listener dump (2023
// sidecar): every listener decodes with its inline route
// configurations intact (the bootstrap's 15090/15021, connect_terminate's CONNECT route; the
// internal listener main_internal keeps no chains in the listener decoder), and those
// route configurations compile into route tables as the worker compiles them.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeListener } from "../../../src/config/envoy/decode-listener.js";
import type { Json } from "../../../src/config/envoy/decoded.js";
import { HTTP_CONNECTION_MANAGER, type RouteConfiguration } from "../../../src/config/model/types.js";
import { RouteTable } from "../../../src/router/route-table.js";
import { sharedPath } from "../../helpers/shared-dir.js";

describe("real listeners with inline route configurations", () => {
  it("decode whole, and their route configurations compile", () => {
    const dump = JSON.parse(readFileSync(sharedPath("envoy-config-dumps", "istio-istioctl-authz-testdata-listeners.configdump.json"), "utf8")) as { configs: Array<{ static_listeners: Array<{ listener: Json }>; dynamic_listeners: Array<{ active_state: { listener: Json } }> }> };
    const ld = dump.configs[0]!;
    const all = [...ld.static_listeners.map((s) => s.listener), ...ld.dynamic_listeners.map((d) => d.active_state.listener)];
    const inline: RouteConfiguration[] = [];
    const errors: string[] = [];
    for (const l of all) {
      const r = decodeListener(l, { origin: "xds" });
      if (!r.ok) {
        errors.push(...r.errors.map((e) => `${String(l.name)}: ${e}`));
        continue;
      }
      for (const c of [...r.value.filterChains, ...(r.value.defaultFilterChain ? [r.value.defaultFilterChain] : [])])
        for (const f of c.filters) if (f.name === HTTP_CONNECTION_MANAGER && f.typedConfig.routeConfig !== undefined) inline.push(f.typedConfig.routeConfig);
    }
    expect(errors).toEqual([]);
        for (const rc of inline) expect(() => RouteTable.compile(rc)).not.toThrow();
    const clusters = inline.map((rc) => rc.virtualHosts[0]!.routes[0]!.route?.cluster);
    // The bootstrap's two, connect_terminate's, and virtualInbound's chains (inline to the inbound clusters).
    expect(new Set(clusters)).toEqual(new Set(["prometheus_stats", "agent", "main_internal", "InboundPassthroughClusterIpv4", "inbound|80||"]));
  });
});
