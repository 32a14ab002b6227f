// DestinationRule tls and auto mTLS → cluster transport sockets as istiod builds them, their
// validation, and how /config_dump shows them.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { clusterJson, loadAssignmentJson } from "../../../src/admin/config-dump/cluster-json.js";
import type { Cluster, UpstreamTlsContext } from "../../../src/config/model/types.js";
import { doc, run, se } from "./helpers.js";

type J = Record<string, any>;
const identity = { security: { trustDomain: "cluster.local", hasIdentity: true } };

// reviews (MESH_INTERNAL): two WorkloadEntries, one with the sidecar's tlsMode label, one without.
const reviews =
  se(
    "reviews",
    "shop",
    "  hosts: [reviews.shop.svc.cluster.local]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  subjectAltNames: [spiffe://cluster.local/ns/shop/sa/legacy]\n  ports: [{number: 9080, name: http, protocol: HTTP}, {number: 9443, name: tcp, protocol: TCP}]\n  workloadSelector: {labels: {app: reviews}}",
  ) +
  doc("WorkloadEntry", "r1", "shop", "  address: 10.0.0.1\n  serviceAccount: reviews\n  labels: {app: reviews, version: v1, security.istio.io/tlsMode: istio}") +
  doc("WorkloadEntry", "r2", "shop", "  address: 10.0.0.2\n  serviceAccount: reviews-v2\n  labels: {app: reviews, version: v2}");
const external = se("api", "shop", "  hosts: [api.example.com]\n  resolution: DNS\n  ports: [{number: 443, name: tls, protocol: TLS}]");
const dr = (body: string): string => doc("DestinationRule", "reviews", "shop", `  host: reviews.shop.svc.cluster.local\n${body}`);
const subsets = "  subsets:\n  - name: v1\n    labels: {version: v1}\n  - name: v2\n    labels: {version: v2}";

const tlsOf = (c: Cluster | undefined): UpstreamTlsContext | undefined => c?.transportSocket?.typedConfig as UpstreamTlsContext | undefined;
const ISTIO_SANS = [
  { sanType: "URI", matcher: { exact: "spiffe://cluster.local/ns/shop/sa/legacy" } },
  { sanType: "URI", matcher: { exact: "spiffe://cluster.local/ns/shop/sa/reviews" } },
  { sanType: "URI", matcher: { exact: "spiffe://cluster.local/ns/shop/sa/reviews-v2" } },
];
const istioMutual = (sni: string, sans: unknown[] = ISTIO_SANS): UpstreamTlsContext =>
  ({
    commonTlsContext: {
      tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" },
      tlsCertificateSdsSecretConfigs: [{ name: "default" }],
      combinedValidationContext: { defaultValidationContext: sans.length > 0 ? { matchTypedSubjectAltNames: sans } : {}, validationContextSdsSecretConfig: { name: "ROOTCA" } },
      alpnProtocols: ["istio-peer-exchange", "istio"],
    },
    sni,
  }) as UpstreamTlsContext;

describe("auto mTLS", () => {
  it("a MESH_INTERNAL service without DR tls: tlsMode-istio → ISTIO_MUTUAL (SNI outbound_.PORT_._.HOST, the service's accounts as SANs), tlsMode-disabled → plaintext; endpoints carry tlsMode", () => {
    const r = run(reviews, identity);
    expect(r.messages).toEqual([]);
    const c = r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!;
    expect(c.transportSocket).toBeUndefined();
    expect(c.transportSocketMatches).toEqual([
      { name: "tlsMode-istio", match: { tlsMode: "istio" }, transportSocket: { name: "envoy.transport_sockets.tls", typedConfig: istioMutual("outbound_.9080_._.reviews.shop.svc.cluster.local") } },
      { name: "tlsMode-disabled", match: {}, transportSocket: { name: "envoy.transport_sockets.raw_buffer" } },
    ]);
    const eps = c.loadAssignment.endpoints.flatMap((g) => g.lbEndpoints);
    expect(eps.map((e) => [e.address, e.labels["tlsMode"]])).toEqual([
      ["10.0.0.1", "istio"],
      ["10.0.0.2", undefined],
    ]);
    expect(r.summary).toContain("auto mTLS: on (ISTIO_MUTUAL to endpoints labelled security.istio.io/tlsMode: istio)");
  });

  it("off: mesh-external services, no workload certificate, MeshConfig enableAutoMtls false", () => {
    const ext = run(external, identity);
    expect(ext.snapshot.clusters["outbound|443||api.example.com"]!.transportSocketMatches).toBeUndefined();
    const noId = run(reviews);
    expect(noId.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocketMatches).toBeUndefined();
    expect(noId.summary).toContain("auto mTLS: off (no workload certificate: upstream connections are plaintext unless a DestinationRule sets SIMPLE or MUTUAL)");
    const mesh = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    enableAutoMtls: false\n---\n";
    const off = run(mesh + reviews, identity);
    expect(off.messages).toEqual([]);
    expect(off.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocketMatches).toBeUndefined();
    expect(off.summary).toContain("auto mTLS: off (MeshConfig enableAutoMtls: false)");
  });
});

describe("DestinationRule tls", () => {
  it("ISTIO_MUTUAL: the cluster's transport socket (no matches), per subset SNI; sni and subjectAltNames override; insecureSkipVerify → ACCEPT_UNTRUSTED", () => {
    const r = run(reviews + dr(`  trafficPolicy:\n    tls: {mode: ISTIO_MUTUAL}\n${subsets}\n    trafficPolicy:\n      tls: {mode: ISTIO_MUTUAL, sni: v2.reviews, subjectAltNames: [spiffe://cluster.local/ns/shop/sa/v2], insecureSkipVerify: true}`), identity);
    expect(r.messages).toEqual([]);
    const cl = r.snapshot.clusters;
    expect(cl["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocketMatches).toBeUndefined();
    expect(tlsOf(cl["outbound|9080||reviews.shop.svc.cluster.local"])).toEqual(istioMutual("outbound_.9080_._.reviews.shop.svc.cluster.local"));
    expect(tlsOf(cl["outbound|9443|v1|reviews.shop.svc.cluster.local"])).toEqual(istioMutual("outbound_.9443_.v1_.reviews.shop.svc.cluster.local"));
    const v2 = tlsOf(cl["outbound|9080|v2|reviews.shop.svc.cluster.local"])!;
    expect(v2.sni).toBe("v2.reviews");
    expect(v2.commonTlsContext.combinedValidationContext!.defaultValidationContext).toEqual({
      matchTypedSubjectAltNames: [{ sanType: "URI", matcher: { exact: "spiffe://cluster.local/ns/shop/sa/v2" } }],
      trustChainVerification: "ACCEPT_UNTRUSTED",
    });
  });

  it("precedence: subset port level > subset > top-level port level > top level", () => {
    const body = [
      "  trafficPolicy:",
      "    tls: {mode: DISABLE}",
      "    portLevelSettings:",
      "    - port: {number: 9443}",
      "      tls: {mode: SIMPLE, caCertificates: /etc/top-port-ca.pem}",
      "  subsets:",
      "  - name: v1",
      "    labels: {version: v1}",
      "    trafficPolicy:",
      "      tls: {mode: ISTIO_MUTUAL}",
      "      portLevelSettings:",
      "      - port: {number: 9443}",
      "        tls: {mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem}",
      "  - name: v2",
      "    labels: {version: v2}",
    ].join("\n");
    const r = run(reviews + dr(body), identity);
    expect(r.messages).toEqual([]);
    const cl = r.snapshot.clusters;
    const kind = (name: string): string => {
      const t = tlsOf(cl[name]);
      if (t === undefined) return cl[name]!.transportSocketMatches ? "auto" : "plaintext";
      if (t.commonTlsContext.tlsCertificateSdsSecretConfigs) return "ISTIO_MUTUAL";
      return t.commonTlsContext.tlsCertificates ? "MUTUAL" : `SIMPLE ${t.commonTlsContext.validationContext?.trustedCa?.filename}`;
    };
    expect(
      ["9080||", "9443||", "9080|v1|", "9443|v1|", "9080|v2|", "9443|v2|"].map((k) => [k, kind(`outbound|${k}reviews.shop.svc.cluster.local`)]),
    ).toEqual([
      ["9080||", "plaintext"],
      ["9443||", "SIMPLE /etc/top-port-ca.pem"],
      ["9080|v1|", "ISTIO_MUTUAL"],
      ["9443|v1|", "MUTUAL"],
      ["9080|v2|", "plaintext"],
      ["9443|v2|", "SIMPLE /etc/top-port-ca.pem"],
    ]);
  });

  it("SIMPLE / MUTUAL with files: TLS 1.2–1.3, the CA file, SANs typed by form (URI, DNS, IP), SNI; without SANs a ServiceEntry's accounts are checked; insecureSkipVerify skips the chain", () => {
    const apiDr = (tls: string): string => doc("DestinationRule", "api", "shop", `  host: api.example.com\n  trafficPolicy:\n    tls: ${tls}`);
    const simple = run(external + apiDr("{mode: SIMPLE, caCertificates: /etc/ca.pem, sni: api.example.com, subjectAltNames: [api.example.com, 'spiffe://x/y', 10.1.2.3]}"), identity);
    expect(simple.messages).toEqual([]);
    expect(tlsOf(simple.snapshot.clusters["outbound|443||api.example.com"])).toEqual({
      commonTlsContext: {
        tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" },
        validationContext: {
          trustedCa: { filename: "/etc/ca.pem" },
          matchTypedSubjectAltNames: [
            { sanType: "DNS", matcher: { exact: "api.example.com" } },
            { sanType: "URI", matcher: { exact: "spiffe://x/y" } },
            { sanType: "IP_ADDRESS", matcher: { exact: "10.1.2.3" } },
          ],
        },
      },
      sni: "api.example.com",
    });
    const mutual = run(external + apiDr("{mode: MUTUAL, clientCertificate: /c.pem, privateKey: /k.pem, insecureSkipVerify: true}"), identity);
    expect(mutual.messages).toEqual([]);
    expect(tlsOf(mutual.snapshot.clusters["outbound|443||api.example.com"])!.commonTlsContext).toEqual({
      tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3" },
      tlsCertificates: [{ certificateChain: { filename: "/c.pem" }, privateKey: { filename: "/k.pem" } }],
      validationContext: { trustChainVerification: "ACCEPT_UNTRUSTED" },
    });
    // No SANs given, a ServiceEntry with subjectAltNames: those are checked (istiod's External registry rule).
    const rv = run(reviews + dr("  trafficPolicy:\n    tls: {mode: SIMPLE, caCertificates: /etc/ca.pem}"), identity);
    expect(tlsOf(rv.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"])!.commonTlsContext.validationContext!.matchTypedSubjectAltNames).toEqual(ISTIO_SANS);
  });

  it("DISABLE: plaintext, and no auto mTLS either", () => {
    const r = run(reviews + dr("  trafficPolicy:\n    tls: {mode: DISABLE}"), identity);
    const c = r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!;
    expect([c.transportSocket, c.transportSocketMatches]).toEqual([undefined, undefined]);
  });
});

describe("DestinationRule tls validation", () => {
  it("istiod's rules, Outrigger's refusals (credentialName without --credentials-dir, caCrl) and ISTIO_MUTUAL without a certificate, as file:line: path: message", () => {
    const body = [
      "  trafficPolicy:",
      "    tls: {mode: MUTUAL}",
      "    portLevelSettings:",
      "    - port: {number: 9080}",
      "      tls: {mode: SIMPLE, credentialName: api-cert, caCertificates: /ca.pem}",
      "    - port: {number: 9443}",
      "      tls: {mode: SIMPLE, insecureSkipVerify: true, caCertificates: /ca.pem, caCrl: /crl.pem}",
      "  subsets:",
      "  - name: v1",
      "    labels: {version: v1}",
      "    trafficPolicy:",
      "      tls: {mode: ISTIO_MUTUAL, sni: x, bogus: 1}",
    ].join("\n");
    const r = run(reviews + dr(body));
    expect(r.messages).toEqual([
      "mesh/config.yaml:42: spec.trafficPolicy.tls: client certificate required for mutual tls",
      "mesh/config.yaml:42: spec.trafficPolicy.tls: private key required for mutual tls",
      "mesh/config.yaml:45: spec.trafficPolicy.portLevelSettings[0].tls: cannot specify client certificates or CA certificate or CA CRL If credentialName is set",
      "mesh/config.yaml:47: spec.trafficPolicy.portLevelSettings[1].tls: cannot specify CaCertificates or CredentialName or SubjectAltNames when InsecureSkipVerify is set true",
      "mesh/config.yaml:47: spec.trafficPolicy.portLevelSettings[1].tls.caCrl: caCrl is not supported: certificate revocation lists are not checked, so the setting would be silently ignored",
      "mesh/config.yaml:45: spec.trafficPolicy.portLevelSettings[0].tls.credentialName: credentialName api-cert: run with --credentials-dir DIR to read it from DIR/api-cert/ (tls.crt, tls.key, ca.crt), or give the files (clientCertificate, privateKey, caCertificates)",
      "mesh/config.yaml:52: spec.subsets[0].trafficPolicy.tls.mode: ISTIO_MUTUAL needs a workload certificate: run with --certs DIR or --ca-address HOST:PORT",
    ]);
    expect(r.warningMessages).toContain('mesh/config.yaml:52: warning: spec.subsets[0].trafficPolicy.tls.bogus: unknown field "bogus" ignored');
    expect(r.warningMessages.filter((w) => w.includes("not enforced"))).toEqual([]);
  });
});

describe("the trust domain", () => {
  const meshMap = (td: string): string =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |-\n    trustDomain: ${td}\n---\n`;
  const sansOf = (r: ReturnType<typeof run>): unknown =>
    (r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocketMatches![0]!.transportSocket.typedConfig as UpstreamTlsContext).commonTlsContext.combinedValidationContext?.defaultValidationContext.matchTypedSubjectAltNames;

  it("MeshConfig trustDomain names the service accounts' SPIFFE IDs, as istiod; an explicit --trust-domain wins", () => {
    const r = run(meshMap("example.org") + reviews, identity);
    expect(r.messages).toEqual([]);
    expect(sansOf(r)).toContainEqual({ sanType: "URI", matcher: { exact: "spiffe://example.org/ns/shop/sa/reviews" } });
    const flag = run(meshMap("example.org") + reviews, { security: { trustDomain: "corp.internal", hasIdentity: true } });
    expect(sansOf(flag)).toContainEqual({ sanType: "URI", matcher: { exact: "spiffe://corp.internal/ns/shop/sa/reviews" } });
  });

  it("a MeshConfig trustDomain that is not a DNS name is an error at its line", () => {
    const r = run(meshMap("Not_A_Domain") + reviews, identity);
    expect(r.messages.join("\n")).toMatch(/trustDomain: "Not_A_Domain" is not a valid trust domain/);
  });
});

describe("credentialName as files under --credentials-dir", () => {
  const dir = mkdtempSync(join(tmpdir(), "outrigger-creds-"));
  // A mounted kubernetes.io/tls Secret, and Istio's generic Secret whose CA lives in NAME-cacert.
  mkdirSync(join(dir, "client-tls"));
  for (const f of ["tls.crt", "tls.key", "ca.crt"]) writeFileSync(join(dir, "client-tls", f), "x");
  mkdirSync(join(dir, "generic"));
  for (const f of ["cert", "key"]) writeFileSync(join(dir, "generic", f), "x");
  mkdirSync(join(dir, "generic-cacert"));
  writeFileSync(join(dir, "generic-cacert", "cacert"), "x");
  const withCreds = { security: { trustDomain: "cluster.local", hasIdentity: false, credentialsDir: dir } };

  it("MUTUAL reads the certificate, key and CA of a kubernetes.io/tls layout", () => {
    const r = run(reviews + dr("  trafficPolicy:\n    tls: {mode: MUTUAL, credentialName: client-tls, sni: api.internal}"), withCreds);
    expect(r.messages).toEqual([]);
    const t = tlsOf(r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]);
    expect(t?.sni).toBe("api.internal");
    expect(t?.commonTlsContext.tlsCertificates).toEqual([{ certificateChain: { filename: join(dir, "client-tls", "tls.crt") }, privateKey: { filename: join(dir, "client-tls", "tls.key") } }]);
    expect(t?.commonTlsContext.validationContext?.trustedCa).toEqual({ filename: join(dir, "client-tls", "ca.crt") });
  });

  it("Istio's generic layout (cert, key) with the CA in NAME-cacert; SIMPLE takes only the CA", () => {
    const r = run(reviews + dr("  trafficPolicy:\n    tls: {mode: MUTUAL, credentialName: generic}\n    portLevelSettings:\n    - port: {number: 9443}\n      tls: {mode: SIMPLE, credentialName: generic}"), withCreds);
    expect(r.messages).toEqual([]);
    const http = tlsOf(r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]);
    expect(http?.commonTlsContext.tlsCertificates?.[0]?.certificateChain).toEqual({ filename: join(dir, "generic", "cert") });
    expect(http?.commonTlsContext.validationContext?.trustedCa).toEqual({ filename: join(dir, "generic-cacert", "cacert") });
    const tcp = tlsOf(r.snapshot.clusters["outbound|9443||reviews.shop.svc.cluster.local"]);
    expect(tcp?.commonTlsContext.tlsCertificates).toBeUndefined();
    expect(tcp?.commonTlsContext.validationContext?.trustedCa).toEqual({ filename: join(dir, "generic-cacert", "cacert") });
  });

  it("a credentialName with no certificate and key for MUTUAL is refused with where it looked", () => {
    const r = run(reviews + dr("  trafficPolicy:\n    tls: {mode: MUTUAL, credentialName: missing}"), withCreds);
    expect(r.messages).toEqual([`mesh/config.yaml:42: spec.trafficPolicy.tls.credentialName: credentialName missing: no client certificate and key in ${join(dir, "missing")} (looked for tls.crt + tls.key, cert + key)`]);
  });
});

describe("config_dump of upstream TLS", () => {
  it("UpstreamTlsContext with snake_case fields, transport_socket_matches, and the endpoints' envoy.transport_socket_match metadata", () => {
    const r = run(reviews + dr(`  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 9443}\n      tls: {mode: ISTIO_MUTUAL}`), identity);
    const tcp = JSON.parse(JSON.stringify(clusterJson(r.snapshot.clusters["outbound|9443||reviews.shop.svc.cluster.local"]!))) as J;
    expect(tcp.transport_socket).toEqual({
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
          alpn_protocols: ["istio-peer-exchange", "istio"],
          tls_certificate_sds_secret_configs: [{ name: "default", sds_config: { ads: {}, resource_api_version: "V3" } }],
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: ISTIO_SANS.map((s) => ({ san_type: s.sanType, matcher: s.matcher })) },
            validation_context_sds_secret_config: { name: "ROOTCA", sds_config: { ads: {}, resource_api_version: "V3" } },
          },
        },
        sni: "outbound_.9443_._.reviews.shop.svc.cluster.local",
      },
    });
    const http = JSON.parse(JSON.stringify(clusterJson(r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!))) as J;
    expect(http.transport_socket).toBeUndefined();
    expect(http.transport_socket_matches.map((m: J) => [m.name, m.match, m.transport_socket.name, m.transport_socket.typed_config["@type"]])).toEqual([
      ["tlsMode-istio", { tlsMode: "istio" }, "envoy.transport_sockets.tls", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"],
      ["tlsMode-disabled", {}, "envoy.transport_sockets.raw_buffer", "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"],
    ]);
    const cla = JSON.parse(JSON.stringify(loadAssignmentJson("c", r.snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.loadAssignment, false))) as J;
    const md = cla.endpoints.flatMap((g: J) => g.lb_endpoints).map((e: J) => e.metadata.filter_metadata["envoy.transport_socket_match"]);
    expect(md).toEqual([{ tlsMode: "istio" }, undefined]);
  });
});

describe("auto mTLS and the destination's PeerAuthentication", () => {
  it("a namespace (or mesh-wide) DISABLE turns auto mTLS off for that namespace's services, as istiod's BestEffortInferServiceMTLSMode", () => {
    const paDoc = (ns: string, mode: string): string => doc("PeerAuthentication", "default", ns, `  mtls: {mode: ${mode}}`, "security.istio.io/v1");
    const matches = (extra: string): unknown => run(reviews + extra, identity).snapshot.clusters["outbound|9080||reviews.shop.svc.cluster.local"]!.transportSocketMatches;
    expect(matches(paDoc("shop", "DISABLE"))).toBeUndefined();
    expect(matches(paDoc("istio-system", "DISABLE"))).toBeUndefined();
    expect(matches(paDoc("istio-system", "DISABLE") + paDoc("shop", "STRICT"))).toHaveLength(2);
    expect(matches(paDoc("billing", "DISABLE"))).toHaveLength(2);
  });
});

describe("explain shows the upstream TLS", () => {
  it("plaintext, TLS with its SNI, or the auto mTLS split by endpoint label", async () => {
    const { clusterPolicy } = await import("../../../src/router/explain-cluster.js");
    const snap = (t: ReturnType<typeof run>) => ({ version: "1", ...t.snapshot });
    const r = run(reviews + dr("  trafficPolicy:\n    portLevelSettings:\n    - port: {number: 9443}\n      tls: {mode: ISTIO_MUTUAL}"), identity);
    expect(clusterPolicy(snap(r), "outbound|9443||reviews.shop.svc.cluster.local")).toMatchObject({ tls: "envoy.transport_sockets.tls (sni outbound_.9443_._.reviews.shop.svc.cluster.local)" });
    expect(clusterPolicy(snap(r), "outbound|9080||reviews.shop.svc.cluster.local")).toMatchObject({
      tls: "by endpoint (tlsMode=istio endpoints: envoy.transport_sockets.tls (sni outbound_.9080_._.reviews.shop.svc.cluster.local); other endpoints: plaintext)",
    });
    expect(clusterPolicy(snap(run(reviews)), "outbound|9080||reviews.shop.svc.cluster.local")).toMatchObject({ tls: "plaintext" });
  });
});
