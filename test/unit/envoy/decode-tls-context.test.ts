import { describe, expect, it } from "vitest";
import { decodeDownstreamTlsContext, decodeTransportSocket, decodeUpstreamTlsContext } from "../../../src/config/envoy/decode-tls-context.js";

const ctx = { origin: "xds" as const, cwd: "/etc/certs" };
const sds = (name: string) => ({ name, sds_config: { api_config_source: { api_type: "GRPC", grpc_services: [{ envoy_grpc: { cluster_name: "sds-grpc" } }], transport_api_version: "V3" }, resource_api_version: "V3" } });

describe("TLS contexts", () => {
  it("decodes istiod's inbound DownstreamTlsContext (SDS names, combined validation, deprecated SAN matchers)", () => {
    const r = decodeDownstreamTlsContext(
      {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3", cipher_suites: ["ECDHE-RSA-AES128-GCM-SHA256"] },
          alpn_protocols: ["h2", "http/1.1"],
          tls_certificate_sds_secret_configs: [sds("default")],
          combined_validation_context: { default_validation_context: { match_subject_alt_names: [{ prefix: "spiffe://cluster.local/" }] }, validation_context_sds_secret_config: sds("ROOTCA") },
        },
        require_client_certificate: true,
      },
      ctx,
    );
    expect(r).toEqual({
      ok: true,
      notes: [],
      value: {
        requireClientCertificate: true,
        commonTlsContext: {
          tlsParams: { tlsMinimumProtocolVersion: "TLSv1_2", tlsMaximumProtocolVersion: "TLSv1_3", cipherSuites: ["ECDHE-RSA-AES128-GCM-SHA256"] },
          alpnProtocols: ["h2", "http/1.1"],
          tlsCertificateSdsSecretConfigs: [{ name: "default" }],
          combinedValidationContext: {
            defaultValidationContext: { matchTypedSubjectAltNames: (["URI", "DNS", "EMAIL", "IP_ADDRESS"] as const).map((sanType) => ({ sanType, matcher: { prefix: "spiffe://cluster.local/" } })) },
            validationContextSdsSecretConfig: { name: "ROOTCA" },
          },
        },
      },
    });
  });

  it("decodes an UpstreamTlsContext with files (relative to cwd), typed SANs and sni", () => {
    const r = decodeUpstreamTlsContext(
      {
        common_tls_context: {
          tls_certificates: [{ certificate_chain: { filename: "cert-chain.pem" }, private_key: { filename: "/abs/key.pem" } }],
          validation_context: { trusted_ca: { inline_string: "PEM" }, match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "a.example" } }], trust_chain_verification: "ACCEPT_UNTRUSTED" },
        },
        sni: "outbound_.9080_._.reviews",
      },
      ctx,
    );
    expect(r.ok && r.value).toEqual({
      sni: "outbound_.9080_._.reviews",
      commonTlsContext: {
        tlsCertificates: [{ certificateChain: { filename: "/etc/certs/cert-chain.pem" }, privateKey: { filename: "/abs/key.pem" } }],
        validationContext: { trustedCa: { inlineString: "PEM" }, matchTypedSubjectAltNames: [{ sanType: "DNS", matcher: { exact: "a.example" } }], trustChainVerification: "ACCEPT_UNTRUSTED" },
      },
    });
  });

  it("refuses what would weaken peer verification if ignored, naming the field", () => {
    const r = decodeUpstreamTlsContext({ common_tls_context: { validation_context: { verify_certificate_spki: ["abc"], match_typed_subject_alt_names: [{ san_type: "OTHER_NAME", matcher: { exact: "x" } }] } } }, ctx);
    expect(r).toEqual({
      ok: false,
      errors: [
        "typed_config.common_tls_context.validation_context.verify_certificate_spki: certificate SPKI pinning is not supported by Outrigger",
        "typed_config.common_tls_context.validation_context.match_typed_subject_alt_names[0].san_type: san_type OTHER_NAME is not supported (URI, DNS, EMAIL or IP_ADDRESS)",
      ],
    });
    const bad = decodeDownstreamTlsContext({ common_tls_context: { tls_params: { tls_minimum_protocol_version: "TLSv9" } } }, ctx);
    expect(bad.ok === false && bad.errors[0]).toMatch(/^typed_config\.common_tls_context\.tls_params\.tls_minimum_protocol_version: expected one of TLS_AUTO/);
    const unknownField = decodeDownstreamTlsContext({ common_tls_context: {}, session_timeout: "5s" }, ctx);
    expect(unknownField).toEqual({ ok: true, value: { commonTlsContext: {} }, notes: [{ path: "typed_config.session_timeout", message: "session_timeout is not supported; ignored" }] });
  });

  it("transport sockets: raw_buffer, TLS under any name, the wrong side's context and unknown sockets", () => {
    expect(decodeTransportSocket({ name: "envoy.transport_sockets.raw_buffer", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" } }, "upstream", ctx)).toEqual({ ok: true, value: { name: "envoy.transport_sockets.raw_buffer" }, notes: [] });
    const tls = decodeTransportSocket({ name: "tls", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext", sni: "x" } }, "upstream", ctx);
    expect(tls).toEqual({ ok: true, value: { name: "envoy.transport_sockets.tls", typedConfig: { commonTlsContext: {}, sni: "x" } }, notes: [] });
    const wrong = decodeTransportSocket({ name: "tls", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext" } }, "downstream", ctx);
    expect(wrong).toEqual({ ok: false, errors: ["transport_socket.typed_config.@type: a filter chain needs a DownstreamTlsContext, got envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"] });
    const alts = decodeTransportSocket({ name: "envoy.transport_sockets.alts" }, "upstream", ctx);
    expect(alts).toEqual({ ok: false, errors: ['transport_socket.name: transport socket "envoy.transport_sockets.alts" is not supported (raw_buffer or tls)'] });
  });
});
