// MeshConfig meshMTLS / tlsDefaults as istiod applies them: meshMTLS minProtocolVersion and
// cipherSuites on every inbound mTLS context (BuildInboundTLS), tlsDefaults curves and ciphers on
// DestinationRule SIMPLE / MUTUAL clusters only (applyTLSDefaults), and istiod's validation
// (meshMTLS ecdhCurves refused; unknown version, curve or cipher refused at its line).

import { describe, expect, it } from "vitest";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import { ISTIO_INBOUND_CIPHERS } from "../../../src/config/istio/inbound-tls-context.js";
import type { DownstreamTlsContext, UpstreamTlsContext } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";

const identity = { security: { trustDomain: "cluster.local", hasIdentity: true } };
const intercept = { intercept: { ...defaultInterception(), protocolDetectionTimeoutMs: 0 } };
const mesh = (body: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n${body.split("\n").map((l) => `    ${l}`).join("\n")}\n---\n`;
const sidecar = doc("Sidecar", "web", "shop", "  ingress:\n  - port: {number: 8080, protocol: HTTP, name: http}");
const reviews = se("reviews", "shop", "  hosts: [reviews.shop.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  endpoints: [{address: 10.0.0.1, labels: {security.istio.io/tlsMode: istio}}]\n  ports: [{number: 9080, name: http, protocol: HTTP}]");
const dr = (mode: string): string => doc("DestinationRule", "reviews", "shop", `  host: reviews.shop.svc.cluster.local\n  trafficPolicy:\n    tls: {mode: ${mode}${mode === "SIMPLE" ? ", caCertificates: /etc/ca.pem" : ""}}`);

function inboundParams(yaml: string): Array<DownstreamTlsContext["commonTlsContext"]["tlsParams"]> {
  const r = run(yaml, { ...intercept, ...identity });
  expect(r.messages).toEqual([]);
  const vi = r.snapshot.listeners.find((l) => l.name === "virtualInbound")!;
  return vi.filterChains.filter((c) => c.transportSocket !== undefined && c.filterChainMatch.destinationPort === 8080).map((c) => (c.transportSocket!.typedConfig as DownstreamTlsContext).commonTlsContext.tlsParams);
}

describe("meshMTLS on inbound mTLS chains", () => {
  it("absent: istiod's defaults (TLS 1.2 minimum, SupportedCiphers)", () => {
    expect(inboundParams(sidecar)).toEqual([{ tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3", cipherSuites: ISTIO_INBOUND_CIPHERS }]);
  });

  it("minProtocolVersion TLSV1_3 and cipherSuites replace them (TLS_AUTO = TLS 1.2)", () => {
    expect(inboundParams(mesh("meshMTLS:\n  minProtocolVersion: TLSV1_3\n  cipherSuites: [ECDHE-ECDSA-AES256-GCM-SHA384]") + sidecar)).toEqual([
      { tlsMinimumProtocolVersion: "TLSv1_3", tlsMaximumProtocolVersion: "TLSv1_3", cipherSuites: ["ECDHE-ECDSA-AES256-GCM-SHA384"] },
    ]);
    expect(inboundParams(mesh("meshMTLS: {minProtocolVersion: TLS_AUTO}") + sidecar)[0]!.tlsMinimumProtocolVersion).toBe("TLSv1_2");
  });
});

describe("tlsDefaults on upstream contexts", () => {
  const yaml = mesh("tlsDefaults:\n  ecdhCurves: [P-256, X25519]\n  cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256]") + reviews;
  const params = (mode: string): UpstreamTlsContext["commonTlsContext"]["tlsParams"] => {
    const r = run(yaml + dr(mode), identity);
    expect(r.messages).toEqual([]);
    return (r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocket!.typedConfig as UpstreamTlsContext).commonTlsContext.tlsParams;
  };

  it("SIMPLE gets the curves and ciphers", () => {
    expect(params("SIMPLE")).toEqual({ tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3", ecdhCurves: ["P-256", "X25519"], cipherSuites: ["ECDHE-RSA-AES128-GCM-SHA256"] });
  });

  it("ISTIO_MUTUAL keeps istiod's own parameters", () => {
    expect(params("ISTIO_MUTUAL")).toEqual({ tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" });
  });
});

describe("validation", () => {
  const errors = (body: string): string[] => run(mesh(body) + sidecar, { ...intercept, ...identity }).messages;

  it("meshMTLS ecdhCurves is refused as istiod refuses it", () => {
    expect(errors("meshMTLS: {ecdhCurves: [P-256]}")).toEqual([expect.stringMatching(/meshMTLS\.ecdhCurves: mesh TLS does not support ECDH curves configuration/)]);
  });

  it("an unknown version, curve or cipher is refused at its field", () => {
    expect(errors("meshMTLS: {minProtocolVersion: TLSV1_1}")).toEqual([expect.stringMatching(/meshMTLS\.minProtocolVersion: unsupported value string "TLSV1_1", must be TLS_AUTO, TLSV1_2 or TLSV1_3/)]);
    expect(errors("tlsDefaults: {ecdhCurves: [P-256, brainpool]}")).toEqual([expect.stringMatching(/tlsDefaults\.ecdhCurves\[1\]: unrecognized ECDH curve "brainpool"/)]);
    expect(errors("meshMTLS: {cipherSuites: [RC4-MD5]}")).toEqual([expect.stringMatching(/meshMTLS\.cipherSuites\[0\]: unrecognized cipher suite "RC4-MD5"/)]);
  });

  it("a duplicate is a warning and dropped", () => {
    const r = run(mesh("tlsDefaults: {ecdhCurves: [P-256, P-256]}") + reviews + dr("SIMPLE"), identity);
    expect(r.messages).toEqual([]);
    const tls = r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocket!.typedConfig as UpstreamTlsContext;
    expect(tls.commonTlsContext.tlsParams?.ecdhCurves).toEqual(["P-256"]);
    expect(r.warningMessages).toContainEqual(expect.stringMatching(/tlsDefaults\.ecdhCurves\[1\]: duplicate ECDH curve "P-256"/));
  });
});
