// TLS transport socket configs as Envoy's proto3 JSON: DownstreamTlsContext (filter chains) and
// UpstreamTlsContext (clusters), CommonTlsContext inside, snake_case as in istiod's dumps.

import type { CertificateValidationContext, CommonTlsContext, DataSource, DownstreamTlsContext, SdsSecretConfig, UpstreamTlsContext } from "../../config/model/types.js";
import { compact, nonEmpty, stringMatcher, type Json } from "./envoy-json.js";

/**
 * Secrets travel with the snapshot (files, the CA client): shown with the ADS config source, the
 * form istiod writes for secrets it serves itself (credentialName).
 */
function sdsJson(s: SdsSecretConfig): Json {
  return { name: s.name, sds_config: { ads: {}, resource_api_version: "V3" } };
}

function dataSourceJson(d: DataSource): Json {
  return compact({ filename: d.filename, inline_string: d.inlineString });
}

function validationJson(v: CertificateValidationContext): Json {
  return compact({
    trusted_ca: v.trustedCa !== undefined ? dataSourceJson(v.trustedCa) : undefined,
    match_typed_subject_alt_names: nonEmpty(v.matchTypedSubjectAltNames?.map((m) => ({ san_type: m.sanType, matcher: stringMatcher(m.matcher) }))),
    trust_chain_verification: v.trustChainVerification === "ACCEPT_UNTRUSTED" ? "ACCEPT_UNTRUSTED" : undefined,
  });
}

export function commonTlsContextJson(c: CommonTlsContext): Json {
  const p = c.tlsParams;
  return compact({
    tls_params:
      p !== undefined
        ? compact({
            tls_minimum_protocol_version: p.tlsMinimumProtocolVersion,
            tls_maximum_protocol_version: p.tlsMaximumProtocolVersion,
            cipher_suites: nonEmpty(p.cipherSuites),
            ecdh_curves: nonEmpty(p.ecdhCurves),
          })
        : undefined,
    alpn_protocols: nonEmpty(c.alpnProtocols),
    tls_certificates: nonEmpty(c.tlsCertificates?.map((t) => ({ certificate_chain: dataSourceJson(t.certificateChain), private_key: dataSourceJson(t.privateKey) }))),
    tls_certificate_sds_secret_configs: nonEmpty(c.tlsCertificateSdsSecretConfigs?.map(sdsJson)),
    validation_context: c.validationContext !== undefined ? validationJson(c.validationContext) : undefined,
    combined_validation_context:
      c.combinedValidationContext !== undefined
        ? {
            default_validation_context: validationJson(c.combinedValidationContext.defaultValidationContext),
            validation_context_sds_secret_config: sdsJson(c.combinedValidationContext.validationContextSdsSecretConfig),
          }
        : undefined,
  });
}

export function downstreamTlsContextJson(t: DownstreamTlsContext): Json {
  return compact({ common_tls_context: commonTlsContextJson(t.commonTlsContext), require_client_certificate: t.requireClientCertificate === true ? true : undefined });
}

export function upstreamTlsContextJson(t: UpstreamTlsContext): Json {
  return compact({ common_tls_context: commonTlsContextJson(t.commonTlsContext), sni: t.sni !== undefined && t.sni !== "" ? t.sni : undefined });
}
