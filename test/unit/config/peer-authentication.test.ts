// PeerAuthentication → inbound filter chains as istiod builds them: modes, precedence, port level,
// Sidecar ingress listeners with and without interception, no-identity errors, and the full
// virtualInbound of a real istiod dump (mTLS chains included).

import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { listenerJson } from "../../../src/admin/config-dump/listener-json.js";
import { defaultInterception } from "../../../src/config/istio/interception.js";
import type { FilterChain, Listener } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";
import { sharedPath } from "../../helpers/shared-dir.js";

type J = Record<string, any>;
const identity = { security: { trustDomain: "cluster.local", hasIdentity: true } };
const intercept = { intercept: { ...defaultInterception(), protocolDetectionTimeoutMs: 0 } };

const pa = (name: string, ns: string, body: string, created?: string): string =>
  `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${ns}
${created !== undefined ? `  creationTimestamp: "${created}"\n` : ""}spec:
${body}
---
`;

// The workload (shop/web): a Sidecar with an HTTP, a TCP and a sniffed ingress port.
const sidecar = doc(
  "Sidecar",
  "web",
  "shop",
  "  ingress:\n  - port: {number: 8080, protocol: HTTP, name: http}\n  - port: {number: 5432, protocol: TCP, name: tcp}\n  - port: {number: 7000, name: other}",
);

const vi = (ls: Listener[]): Listener => ls.find((l) => l.name === "virtualInbound")!;
const chainsFor = (l: Listener, port: number | undefined): FilterChain[] => l.filterChains.filter((c) => c.filterChainMatch.destinationPort === port && !c.name.endsWith("blackhole"));
/** A chain as `transport[alpn…]` + TLS or not: enough to tell istiod's options apart. */
const sig = (c: FilterChain): string =>
  `${c.name}:${c.filterChainMatch.transportProtocol ?? "-"}${c.filterChainMatch.applicationProtocols ? `[${c.filterChainMatch.applicationProtocols.join(",")}]` : ""}${c.transportSocket ? "+mtls" : ""}`;
const sigs = (l: Listener, port: number | undefined): string[] => chainsFor(l, port).map(sig);

const HTTP_PERMISSIVE = ["0.0.0.0_8080:tls[istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2]+mtls", "0.0.0.0_8080:raw_buffer"];
const TCP_PERMISSIVE = ["0.0.0.0_5432:tls[istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2]+mtls", "0.0.0.0_5432:tls", "0.0.0.0_5432:raw_buffer"];
const AUTO_PERMISSIVE = [
  "0.0.0.0_7000:tls[istio-http/1.0,istio-http/1.1,istio-h2]+mtls",
  "0.0.0.0_7000:raw_buffer[http/1.1,h2c]",
  "0.0.0.0_7000:tls[istio-peer-exchange,istio]+mtls",
  "0.0.0.0_7000:raw_buffer",
  "0.0.0.0_7000:tls",
];

describe("PeerAuthentication: chains per mode on virtualInbound", () => {
  it("default PERMISSIVE with an identity: istiod's mTLS + plaintext + TLS passthrough chains per port protocol and on the passthrough", () => {
    const r = run(sidecar, { ...intercept, ...identity });
    expect(r.messages).toEqual([]);
    const l = vi(r.snapshot.listeners);
    expect(sigs(l, 8080)).toEqual(HTTP_PERMISSIVE);
    expect(sigs(l, 5432)).toEqual(TCP_PERMISSIVE);
    expect(sigs(l, 7000)).toEqual(AUTO_PERMISSIVE);
    expect(sigs(l, undefined)).toEqual([
      "virtualInbound-catchall-http:tls[istio-http/1.0,istio-http/1.1,istio-h2]+mtls",
      "virtualInbound-catchall-http:raw_buffer[http/1.1,h2c]",
      "virtualInbound:tls[istio-peer-exchange,istio]+mtls",
      "virtualInbound:raw_buffer",
      "virtualInbound:tls",
    ]);
    expect(r.summary).toContain("peer authentication: PERMISSIVE (default); inbound ports 5432 PERMISSIVE, 7000 PERMISSIVE, 8080 PERMISSIVE");
  });

  it("the TLS contexts are istiod's: workload certificate, ROOTCA, URI SAN in the trust domain, client certificate required, TLS 1.2–1.3 and its ciphers; HTTP chains offer h2/http1.1, TCP chains istio-peer-exchange too", () => {
    const r = run(sidecar, { ...intercept, security: { trustDomain: "example.org", hasIdentity: true } });
    const l = vi(r.snapshot.listeners);
    const [httpTls] = chainsFor(l, 8080);
    expect(httpTls!.transportSocket).toEqual({
      name: "envoy.transport_sockets.tls",
      typedConfig: {
        commonTlsContext: {
          tlsParams: {
            tlsMinimumProtocolVersion: "TLSv1_2",
            tlsMaximumProtocolVersion: "TLSv1_3",
            cipherSuites: ["ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-GCM-SHA256"],
          },
          alpnProtocols: ["h2", "http/1.1"],
          tlsCertificateSdsSecretConfigs: [{ name: "default" }],
          combinedValidationContext: {
            defaultValidationContext: { matchTypedSubjectAltNames: [{ sanType: "URI", matcher: { prefix: "spiffe://example.org/" } }] },
            validationContextSdsSecretConfig: { name: "ROOTCA" },
          },
        },
        requireClientCertificate: true,
      },
    });
    const tcpTls = chainsFor(l, 5432)[0]!;
    expect(tcpTls.transportSocket!.typedConfig!.commonTlsContext.alpnProtocols).toEqual(["istio-peer-exchange", "h2", "http/1.1"]);
    // Every inbound HCM (plaintext ones too) forwards and sets the client certificate details as istiod writes them.
    for (const c of chainsFor(l, 8080)) {
      const hcm = c.filters.find((f) => f.name === "envoy.filters.network.http_connection_manager")!.typedConfig as J;
      expect([hcm.forwardClientCertDetails, hcm.setCurrentClientCertDetails]).toEqual(["APPEND_FORWARD", { subject: true, dns: true, uri: true }]);
    }
  });

  it("STRICT (namespace-wide): TLS only, HTTP ports on any istio ALPN-less TLS, sniffed ports split on the istio-http ALPNs; plaintext finds no chain", () => {
    const r = run(sidecar + pa("default", "shop", "  mtls: {mode: STRICT}"), { ...intercept, ...identity });
    expect(r.messages).toEqual([]);
    const l = vi(r.snapshot.listeners);
    expect(sigs(l, 8080)).toEqual(["0.0.0.0_8080:tls+mtls"]);
    expect(sigs(l, 5432)).toEqual(["0.0.0.0_5432:tls+mtls"]);
    expect(sigs(l, 7000)).toEqual(["0.0.0.0_7000:tls[istio-http/1.0,istio-http/1.1,istio-h2]+mtls", "0.0.0.0_7000:tls+mtls"]);
    expect(sigs(l, undefined)).toEqual(["virtualInbound-catchall-http:tls[istio-http/1.0,istio-http/1.1,istio-h2]+mtls", "virtualInbound:tls+mtls"]);
    expect(l.filterChains.some((c) => c.filterChainMatch.transportProtocol === "raw_buffer")).toBe(false);
    expect(r.summary).toContain("PeerAuthentication shop/default: applies to this proxy (namespace, mtls STRICT)");
  });

  it("DISABLE: the plaintext chains translation builds, unchanged", () => {
    const plain = run(sidecar, { ...intercept });
    const r = run(sidecar + pa("default", "shop", "  mtls: {mode: DISABLE}"), { ...intercept, ...identity });
    expect(r.messages).toEqual([]);
    expect(vi(r.snapshot.listeners).filterChains.map(sig)).toEqual(vi(plain.snapshot.listeners).filterChains.map(sig));
    expect(vi(r.snapshot.listeners).filterChains.some((c) => c.transportSocket !== undefined)).toBe(false);
  });

  it("precedence: workload selector over namespace over mesh (root namespace); UNSET inherits; port level over the workload's mode, UNSET at a port inherits the workload's", () => {
    const mesh = pa("mesh", "istio-system", "  mtls: {mode: STRICT}");
    const ns = pa("ns", "shop", "  mtls: {mode: DISABLE}");
    const wl = pa("wl", "shop", "  selector: {matchLabels: {app: web}}\n  mtls: {mode: UNSET}\n  portLevelMtls:\n    8080: {mode: STRICT}\n    5432: {mode: UNSET}\n    9999: {mode: PERMISSIVE}");
    const r = run(sidecar + mesh + ns + wl, { ...intercept, ...identity });
    expect(r.messages).toEqual([]);
    const l = vi(r.snapshot.listeners);
    // Workload UNSET → the namespace's DISABLE; port 8080 STRICT; 5432 UNSET → DISABLE; 7000 no port setting → DISABLE.
    expect(sigs(l, 8080)).toEqual(["0.0.0.0_8080:tls+mtls"]);
    expect(sigs(l, 5432)).toEqual(["0.0.0.0_5432:-"]);
    expect(sigs(l, 7000)).toEqual(["0.0.0.0_7000:raw_buffer[http/1.1,h2c]", "0.0.0.0_7000:raw_buffer"]);
    // 9999 is declared by no service: its own passthrough chains (istiod ForPassthrough), PERMISSIVE.
    expect(sigs(l, 9999)).toEqual([
      "virtualInbound-catchall-http:tls[istio-http/1.0,istio-http/1.1,istio-h2]+mtls",
      "virtualInbound-catchall-http:raw_buffer[http/1.1,h2c]",
      "virtualInbound:tls[istio-peer-exchange,istio]+mtls",
      "virtualInbound:raw_buffer",
      "virtualInbound:tls",
    ]);
    expect(sigs(l, undefined)).toEqual(["virtualInbound-catchall-http:raw_buffer[http/1.1,h2c]", "virtualInbound:raw_buffer"]);
    expect(r.summary).toContain("peer authentication: DISABLE (namespace); inbound ports 5432 DISABLE, 7000 DISABLE, 8080 STRICT, 9999 PERMISSIVE");
    expect(r.summary).toContain("PeerAuthentication shop/wl: applies to this proxy (workload, mtls UNSET; port 5432 DISABLE, port 8080 STRICT, port 9999 PERMISSIVE)");
  });

  it("the tls_inspector is skipped for ports whose chains never match TLS (a DISABLE port), as istiod's buildTLSInspector", () => {
    const wl = pa("wl", "shop", "  selector: {matchLabels: {app: web}}\n  portLevelMtls:\n    8080: {mode: DISABLE}\n    5432: {mode: DISABLE}");
    const r = run(sidecar + wl, { ...intercept, ...identity });
    const l = vi(r.snapshot.listeners);
    expect(sigs(l, 8080)).toEqual(["0.0.0.0_8080:raw_buffer"]);
    expect(l.listenerFilters.find((f) => f.name === "envoy.filters.listener.tls_inspector")!.disabledForDestinationPorts).toEqual([
      { start: 5432, end: 5433 },
      { start: 8080, end: 8081 },
      { start: 15006, end: 15007 },
    ]);
    // Every port terminating or passing TLS keeps it.
    const all = run(sidecar, { ...intercept, ...identity });
    expect(vi(all.snapshot.listeners).listenerFilters.find((f) => f.name === "envoy.filters.listener.tls_inspector")!.disabledForDestinationPorts).toEqual([{ start: 15006, end: 15007 }]);
  });

  it("mesh-wide STRICT applies when nothing closer says otherwise; a namespace UNSET inherits it", () => {
    const r = run(sidecar + pa("mesh", "istio-system", "  mtls: {mode: STRICT}") + pa("ns", "shop", "  mtls: {}"), { ...intercept, ...identity });
    expect(sigs(vi(r.snapshot.listeners), 8080)).toEqual(["0.0.0.0_8080:tls+mtls"]);
    expect(r.summary).toContain("peer authentication: STRICT (mesh); inbound ports 5432 STRICT, 7000 STRICT, 8080 STRICT");
  });

  it("the oldest wins among policies at the same level (creationTimestamp, then name); the others are warned as ignored", () => {
    const newer = pa("a-newer", "shop", "  mtls: {mode: DISABLE}", "2024-05-01T00:00:00Z");
    const older = pa("z-older", "shop", "  mtls: {mode: STRICT}", "2024-01-01T00:00:00Z");
    const r = run(sidecar + newer + older, { ...intercept, ...identity });
    expect(sigs(vi(r.snapshot.listeners), 8080)).toEqual(["0.0.0.0_8080:tls+mtls"]);
    expect(r.warningMessages).toEqual(["mesh/config.yaml:12: warning: ignored: PeerAuthentication shop/z-older is older at the same level (namespace); istiod uses the oldest"]);
    expect(r.summary).toContain("PeerAuthentication shop/a-newer: does not apply to this proxy (older namespace policy shop/z-older wins)");
    // Same age: by name.
    const byName = run(sidecar + pa("b", "shop", "  mtls: {mode: DISABLE}") + pa("a", "shop", "  mtls: {mode: STRICT}"), { ...intercept, ...identity });
    expect(sigs(vi(byName.snapshot.listeners), 8080)).toEqual(["0.0.0.0_8080:tls+mtls"]);
  });

  it("policies that do not apply: another namespace, a selector that does not match, a selector in the root namespace", () => {
    const r = run(
      sidecar +
        pa("other", "billing", "  mtls: {mode: STRICT}") +
        pa("api", "shop", "  selector: {matchLabels: {app: api}}\n  mtls: {mode: STRICT}") +
        pa("rooted", "istio-system", "  selector: {matchLabels: {app: web}}\n  mtls: {mode: STRICT}"),
      { ...intercept, ...identity },
    );
    expect(r.messages).toEqual([]);
    expect(sigs(vi(r.snapshot.listeners), 8080)).toEqual(HTTP_PERMISSIVE);
    expect(r.summary).toContain("PeerAuthentication billing/other: does not apply to this proxy (namespace billing is not this proxy's (shop))");
    expect(r.summary).toContain("PeerAuthentication shop/api: does not apply to this proxy (selector does not match this proxy's labels)");
    expect(r.summary).toContain("PeerAuthentication istio-system/rooted: does not apply to this proxy (a selector in the root namespace istio-system never applies (istiod ignores it))");
  });
});

describe("PeerAuthentication: Sidecar ingress listeners without interception", () => {
  it("PERMISSIVE: each bound ingress listener gets the mTLS chain beside the plaintext one and a tls_inspector; port-level by the ingress port number", () => {
    const wl = pa("wl", "shop", "  selector: {matchLabels: {app: web}}\n  portLevelMtls:\n    5432: {mode: STRICT}");
    const r = run(sidecar + wl, identity);
    expect(r.messages).toEqual([]);
    const http = r.snapshot.listeners.find((l) => l.name === "0.0.0.0_8080")!;
    expect(http.filterChains.map(sig)).toEqual([
      `${http.filterChains[0]!.name}:tls[istio,istio-peer-exchange,istio-http/1.0,istio-http/1.1,istio-h2]+mtls`,
      `${http.filterChains[0]!.name}:raw_buffer`,
    ]);
    expect(http.listenerFilters.map((f) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
    // A server-first plaintext client is not held for Envoy's 15 s: detection times out and goes on.
    expect([http.listenerFiltersTimeoutMs, http.continueOnListenerFiltersTimeout]).toEqual([100, true]);
    const tcp = r.snapshot.listeners.find((l) => l.name === "0.0.0.0_5432")!;
    expect(tcp.filterChains.map((c) => sig(c).split(":")[1])).toEqual(["tls+mtls"]);
    expect(r.summary).toContain("peer authentication: PERMISSIVE (default); inbound ports 5432 STRICT, 8080 PERMISSIVE");
  });

  it("DISABLE: the bound listeners stay plaintext, no tls_inspector", () => {
    const r = run(sidecar + pa("ns", "shop", "  mtls: {mode: DISABLE}"), identity);
    const http = r.snapshot.listeners.find((l) => l.name === "0.0.0.0_8080")!;
    expect(http.filterChains.map((c) => c.transportSocket)).toEqual([undefined]);
    expect(http.listenerFilters).toEqual([]);
  });
});

describe("PeerAuthentication without a workload certificate", () => {
  it("STRICT anywhere (mesh, namespace, workload, a port) is an error on the policy, with the flags that fix it", () => {
    const r = run(sidecar + pa("mesh", "istio-system", "  mtls: {mode: STRICT}") + pa("wl", "shop", "  selector: {matchLabels: {app: web}}\n  portLevelMtls:\n    8080: {mode: STRICT}"), intercept);
    expect(r.messages).toEqual([
      "mesh/config.yaml:18: spec.mtls.mode: STRICT needs a workload certificate: run with --certs DIR or --ca-address HOST:PORT",
      "mesh/config.yaml:28: spec.portLevelMtls[\"8080\"].mode: STRICT needs a workload certificate: run with --certs DIR or --ca-address HOST:PORT",
    ]);
  });

  it("a STRICT that a closer level overrides is no error (mesh-wide STRICT, namespace PERMISSIVE)", () => {
    const r = run(sidecar + pa("mesh", "istio-system", "  mtls: {mode: STRICT}") + pa("ns", "shop", "  mtls: {mode: PERMISSIVE}"), intercept);
    expect(r.messages).toEqual([]);
    expect(r.summary).toContain("peer authentication: PERMISSIVE (namespace); inbound ports 5432 PERMISSIVE, 7000 PERMISSIVE, 8080 PERMISSIVE; no workload certificate: inbound is plaintext only");
  });

  it("PERMISSIVE serves plaintext only (the chains translation builds), and the summary says so", () => {
    const plain = run(sidecar, intercept);
    const r = run(sidecar + pa("ns", "shop", "  mtls: {mode: PERMISSIVE}"), intercept);
    expect(r.messages).toEqual([]);
    expect(vi(r.snapshot.listeners).filterChains.map(sig)).toEqual(vi(plain.snapshot.listeners).filterChains.map(sig));
    expect(r.summary).toContain("peer authentication: PERMISSIVE (namespace); inbound ports 5432 PERMISSIVE, 7000 PERMISSIVE, 8080 PERMISSIVE; no workload certificate: inbound is plaintext only");
  });
});

describe("PeerAuthentication validation (istiod's rules)", () => {
  it("port-level mTLS needs a selector; an empty portLevelMtls; ports out of range; unknown modes and fields", () => {
    const r = run(
      pa("a", "shop", "  portLevelMtls:\n    80: {mode: STRICT}") +
        pa("b", "shop", "  selector: {matchLabels: {app: web}}\n  portLevelMtls: {}") +
        pa("c", "shop", "  selector: {matchLabels: {app: web}}\n  portLevelMtls:\n    0: {mode: STRICT}\n    http: {mode: STRICT}") +
        pa("d", "shop", "  mtls: {mode: STRICTEST}\n  action: ALLOW"),
      identity,
    );
    expect(r.messages).toEqual([
      "mesh/config.yaml:7: spec.portLevelMtls: mesh/namespace peer authentication cannot have port level mTLS",
      "mesh/config.yaml:17: spec.portLevelMtls: port level mTLS, if defined, must have at least one element",
      'mesh/config.yaml:27: spec.portLevelMtls["0"]: port must be in range 1..65535',
      "mesh/config.yaml:28: spec.portLevelMtls.http: port must be in range 1..65535",
      'mesh/config.yaml:36: spec.mtls.mode: unsupported value "STRICTEST", must be one of UNSET, DISABLE, PERMISSIVE, STRICT',
    ]);
    expect(r.warningMessages).toContain('mesh/config.yaml:37: warning: spec.action: unknown field "action" ignored');
  });

  it("the Istio docs' PeerAuthentication samples translate cleanly, and apply as the docs say", () => {
    const dir = sharedPath("istio-samples", "istio.io", "docs-tasks", "authn-policy") + "/";
    const files = readdirSync(dir).filter((f) => f.startsWith("peerauthentication-"));
    expect(files.length).toBe(5);
    for (const f of files) {
      const text = readFileSync(dir + f, "utf8");
      const r = run(text, { namespace: "bar", proxyLabels: { app: "httpbin" }, ...intercept, ...identity }, f);
      expect([f, r.messages, r.warningMessages]).toEqual([f, [], []]);
    }
    const port80 = readFileSync(dir + "peerauthentication-bar-httpbin-strict-port80-disable.yaml", "utf8");
    const httpbin = se("httpbin", "bar", "  hosts: [httpbin.bar.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  workloadSelector: {labels: {app: httpbin}}\n  ports: [{number: 8000, name: http, protocol: HTTP, targetPort: 80}]");
    const r = run(httpbin + port80, { namespace: "bar", proxyLabels: { app: "httpbin" }, ...intercept, ...identity });
    expect(sigs(vi(r.snapshot.listeners), 80)).toEqual(["0.0.0.0_80:raw_buffer"]);
    expect(sigs(vi(r.snapshot.listeners), undefined)).toEqual(["virtualInbound-catchall-http:tls[istio-http/1.0,istio-http/1.1,istio-h2]+mtls", "virtualInbound:tls+mtls"]);
  });
});

describe("PeerAuthentication: a real istiod dump", () => {
  it("virtualInbound with an identity and the default PERMISSIVE: every chain of the dump (mTLS ones included), matches, TLS contexts and HCM client-cert settings", () => {
    const dump = JSON.parse(readFileSync(new URL("../../fixtures/istiod-sidecar-listeners.configdump.json", import.meta.url), "utf8")) as J;
    const real: J = dump.configs.flatMap((c: J) => (c.dynamic_listeners ?? []).map((l: J) => l.active_state.listener)).find((l: J) => l.name === "virtualInbound");
    const bookinfo = doc("Sidecar", "default", "default", "  ingress:\n  - port: {number: 80, protocol: HTTP, name: http}\n  egress:\n  - hosts: ['*/*']");
    const r = run(bookinfo, { namespace: "default", ...intercept, ...identity });
    const ours = JSON.parse(JSON.stringify(listenerJson(vi(r.snapshot.listeners)))) as J;
    const shape = (c: J): J => ({ name: c.name, match: c.filter_chain_match, tls: c.transport_socket?.typed_config?.common_tls_context?.alpn_protocols });
    expect(ours.filter_chains.map(shape)).toEqual(real.filter_chains.map(shape));
    // The TLS context, field by field; the dump's SDS source (sds-grpc) and untyped SAN matcher are istiod's older forms.
    const tls = (c: J): J => {
      const t = c.transport_socket.typed_config;
      return { type: t["@type"], params: t.common_tls_context.tls_params, certs: t.common_tls_context.tls_certificate_sds_secret_configs.map((s: J) => s.name), root: t.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name, require: t.require_client_certificate };
    };
    const withTls = (l: J): J[] => l.filter_chains.filter((c: J) => c.transport_socket !== undefined).map(tls);
    expect(withTls(ours)).toEqual(withTls(real));
    expect(ours.filter_chains[1].transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context).toEqual({
      match_typed_subject_alt_names: [{ san_type: "URI", matcher: { prefix: "spiffe://cluster.local/" } }],
    });
    const hcmCert = (l: J): J[] =>
      l.filter_chains.flatMap((c: J) => c.filters.filter((f: J) => f.name === "envoy.filters.network.http_connection_manager").map((f: J) => [f.typed_config.forward_client_cert_details, f.typed_config.set_current_client_cert_details]));
    expect(hcmCert(ours)).toEqual(hcmCert(real));
  });
});
