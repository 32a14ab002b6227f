// The DownstreamTlsContext istiod writes on an inbound mTLS filter chain (authn utils
// BuildInboundTLS + ApplyToCommonTLSContext): the workload certificate (`default`), peers checked
// against the root (`ROOTCA`) and a URI SAN in the trust domain, client certificate required.

import { ROOT_CA_SECRET, WORKLOAD_SECRET, type DownstreamTlsContext } from "../model/types.js";
import type { MeshTlsConfig } from "./mesh-tls-config.js";

/** istiod's SupportedCiphers (pilot/pkg/security/authn/utils): the inbound mTLS cipher list. */
export const ISTIO_INBOUND_CIPHERS = [
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-GCM-SHA256",
];

/** util.ALPNHttp: what an mTLS HTTP chain's TLS offers once the istio-* ALPN matched. */
export const INBOUND_HTTP_TLS_ALPN = ["h2", "http/1.1"];
/** util.ALPNDownstreamWithMxc: an mTLS TCP chain's TLS (metadata exchange on). */
export const INBOUND_TCP_TLS_ALPN = ["istio-peer-exchange", "h2", "http/1.1"];

/**
 * HTTP or TCP chain: only the ALPN differs, as in istiod. MeshConfig `meshMTLS` sets the minimum
 * version (TLSV1_3) and replaces the cipher list (BuildInboundTLS).
 */
export function inboundTlsContext(protocol: "HTTP" | "TCP", trustDomain: string, meshMtls?: MeshTlsConfig): DownstreamTlsContext {
  return {
    commonTlsContext: {
      tlsParams: {
        tlsMinimumProtocolVersion: meshMtls?.minProtocolVersion ?? "TLSv1_2",
        tlsMaximumProtocolVersion: "TLSv1_3",
        cipherSuites: [...(meshMtls?.cipherSuites ?? ISTIO_INBOUND_CIPHERS)],
      },
      alpnProtocols: [...(protocol === "HTTP" ? INBOUND_HTTP_TLS_ALPN : INBOUND_TCP_TLS_ALPN)],
      tlsCertificateSdsSecretConfigs: [{ name: WORKLOAD_SECRET }],
      combinedValidationContext: {
        // istiod writes the untyped match_subject_alt_names {prefix: "spiffe://<td>/"}; the SPIFFE
        // ID is a URI SAN, so the typed form says the same thing.
        defaultValidationContext: { matchTypedSubjectAltNames: [{ sanType: "URI", matcher: { prefix: `spiffe://${trustDomain}/` } }] },
        validationContextSdsSecretConfig: { name: ROOT_CA_SECRET },
      },
    },
    requireClientCertificate: true,
  };
}
