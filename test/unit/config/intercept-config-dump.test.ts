// /config_dump with --intercept: the interception in the bootstrap's node metadata (istio-agent's
// INTERCEPTION_MODE key, the whole setting under outrigger), and the listener fields istiod writes.

import { describe, expect, it } from "vitest";
import { bootstrapJson } from "../../../src/admin/config-dump/bootstrap-json.js";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { parseRunFlags } from "../../../src/bootstrap/parse-run-flags.js";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { run, reviewsSE } from "./helpers.js";

const ctx = { env: {}, cpuCount: () => 2, reusePortBalances: () => true };
type J = Record<string, any>;
const node = (argv: string[]): J => (bootstrapJson(parseRunFlags(["--config", "a.yaml", ...argv], ctx)!, null) as J).node.metadata;

describe("config_dump with --intercept", () => {
  it("node metadata: INTERCEPTION_MODE and outrigger.interception (mode, ports, proxy uid); absent without --intercept", () => {
    const m = node(["--intercept", "--interception-mode", "TPROXY", "--proxy-uid", "1500"]);
    expect(m.INTERCEPTION_MODE).toBe("TPROXY");
    expect(m.outrigger.interception).toEqual({ outboundPort: 15001, inboundPort: 15006, mode: "TPROXY", proxyUid: 1500 });
    const plain = JSON.parse(JSON.stringify(node([]))) as J;
    expect("INTERCEPTION_MODE" in plain).toBe(false);
    expect("interception" in plain.outrigger).toBe(false);
  });

  it("node metadata: the outbound traffic policy the serving config applies (outrigger.outboundTrafficPolicy)", () => {
    const b = parseRunFlags(["--config", "a.yaml", "--intercept"], ctx)!;
    const meta = (snapshot: unknown): J => (bootstrapJson(b, null, snapshot as never) as J).node.metadata.outrigger;
    expect(meta(run(reviewsSE, { intercept: defaultInterception() }).snapshot).outboundTrafficPolicy).toBe("ALLOW_ANY");
    const registryOnly = `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
`;
    expect(meta(run(reviewsSE + registryOnly, { intercept: defaultInterception() }).snapshot).outboundTrafficPolicy).toBe("REGISTRY_ONLY");
    expect("outboundTrafficPolicy" in meta(run(reviewsSE).snapshot)).toBe(false);
  });

  it("listeners: use_original_dst, bind_to_port, transparent, listener_filters_timeout, continue_on_listener_filters_timeout, filter_disabled", () => {
    const r = run(reviewsSE, { intercept: { outboundPort: 15001, inboundPort: 15006, mode: "TPROXY", proxyUid: 1337 } });
    const j = (name: string): J => JSON.parse(JSON.stringify(listenerJson(r.snapshot.listeners.find((l) => l.name === name)!))) as J;
    expect(j("virtualOutbound")).toMatchObject({ use_original_dst: true, transparent: true });
    expect(j("virtualOutbound").bind_to_port).toBeUndefined();
    // Outrigger's default protocol-detection timeout (100 ms), then continue as TCP.
    expect(j("0.0.0.0_9080")).toMatchObject({ bind_to_port: false, listener_filters_timeout: "0.100s", continue_on_listener_filters_timeout: true });
    const vi = j("virtualInbound");
    expect(vi.use_original_dst).toBeUndefined();
    expect(vi.listener_filters).toEqual([
      { name: "envoy.filters.listener.original_dst", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst" } },
      { name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" }, filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } },
      { name: "envoy.filters.listener.http_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector" }, filter_disabled: { destination_port_range: { start: 15006, end: 15007 } } },
    ]);
  });

  it("listeners: additional_addresses as Envoy writes them (AdditionalAddress.address on the listener's port); absent when single-stack", () => {
    const r = run(reviewsSE, { intercept: { outboundPort: 15001, inboundPort: 15006, mode: "REDIRECT", proxyUid: 1337, dualStack: true } });
    const j = (name: string): J => JSON.parse(JSON.stringify(listenerJson(r.snapshot.listeners.find((l) => l.name === name)!))) as J;
    expect(j("virtualOutbound").additional_addresses).toEqual([{ address: { socket_address: { address: "::", port_value: 15001 } } }]);
    expect(j("virtualInbound").additional_addresses).toEqual([{ address: { socket_address: { address: "::", port_value: 15006 } } }]);
    expect(j("0.0.0.0_9080").additional_addresses).toEqual([{ address: { socket_address: { address: "::", port_value: 9080 } } }]);
    const single = run(reviewsSE, { intercept: { outboundPort: 15001, inboundPort: 15006, mode: "REDIRECT", proxyUid: 1337 } });
    expect("additional_addresses" in (listenerJson(single.snapshot.listeners.find((l) => l.name === "virtualOutbound")!) as J)).toBe(false);
  });
});
