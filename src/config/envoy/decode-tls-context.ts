// Envoy's TLS transport socket configs (envoy.extensions.transport_sockets.tls.v3): the
// DownstreamTlsContext of a filter chain and the UpstreamTlsContext of a cluster, with their
// CommonTlsContext, into the model. SDS secrets keep only their name: the snapshot carries every
// secret by name whatever its sds_config says (ADS, or istio-agent's `sds-grpc` cluster).
// Anything that would weaken peer verification if ignored (SPKI/hash pinning, CRLs, expired
// certificates, custom validators, certificate providers) is an error, never a silent skip.

import { TLS_TRANSPORT_SOCKET, type CertificateValidationContext, type CommonTlsContext, type DownstreamTlsContext, type SanType, type SdsSecretConfig, type TlsParameters, type TlsProtocolVersion, type TransportSocketConfig, type UpstreamTlsContext } from "../model/types.js";
import { at, bool, checkFields, dataSource, DecodeState, enumOf, list, obj, str, stringMatcher, strList, typedConfig } from "./decode-common.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

export const RAW_BUFFER_TRANSPORT_SOCKET = "envoy.transport_sockets.raw_buffer";
const TLS_VERSIONS = ["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"] as const satisfies readonly TlsProtocolVersion[];
const SAN_TYPES = ["SAN_TYPE_UNSPECIFIED", "EMAIL", "DNS", "URI", "IP_ADDRESS", "OTHER_NAME"] as const;

const VALIDATION_FATAL: Record<string, string> = {
  verify_certificate_spki: "certificate SPKI pinning is not supported by Outrigger",
  verify_certificate_hash: "certificate hash pinning is not supported by Outrigger",
  crl: "certificate revocation lists are not supported by Outrigger",
  allow_expired_certificate: "accepting expired certificates is not supported by Outrigger",
  custom_validator_config: "custom certificate validators are not supported by Outrigger",
  ca_certificate_provider_instance: "certificate provider instances are not supported by Outrigger",
  max_verify_depth: "max_verify_depth is not supported by Outrigger",
};

function sdsSecretConfig(v: unknown, path: string, st: DecodeState): SdsSecretConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  const name = str(o.name, at(path, "name"), st);
  if (name === undefined || name === "") return st.error(at(path, "name"), "an SDS secret name is required");
  // sds_config (where the secret comes from) is not kept: every secret reaches the snapshot by name.
  checkFields(o, path, st, ["name", "sds_config"], { secret_config: "inline secret_config in an SdsSecretConfig is not supported" });
  return { name };
}

function validationContext(v: unknown, path: string, st: DecodeState): CertificateValidationContext | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["trusted_ca", "match_subject_alt_names", "match_typed_subject_alt_names", "trust_chain_verification", "only_verify_leaf_cert_crl"], VALIDATION_FATAL, {
    watched_directory: "watched_directory is not supported: files are read when the snapshot is built",
  });
  const c: CertificateValidationContext = {};
  if (o.trusted_ca !== undefined) c.trustedCa = dataSource(o.trusted_ca, at(path, "trusted_ca"), st);
  const sans: NonNullable<CertificateValidationContext["matchTypedSubjectAltNames"]> = [];
  list(o.match_typed_subject_alt_names, at(path, "match_typed_subject_alt_names"), st).forEach((m, i) => {
    const p = at(at(path, "match_typed_subject_alt_names"), i);
    const mo = obj(m, p, st);
    if (mo === undefined) return;
    const t = enumOf(mo.san_type ?? "SAN_TYPE_UNSPECIFIED", SAN_TYPES, at(p, "san_type"), st);
    if (t === "SAN_TYPE_UNSPECIFIED" || t === "OTHER_NAME") return st.error(at(p, "san_type"), `san_type ${t} is not supported (URI, DNS, EMAIL or IP_ADDRESS)`);
    const matcher = stringMatcher(mo.matcher, at(p, "matcher"), st);
    if (t !== undefined && matcher !== undefined) sans.push({ sanType: t, matcher });
  });
  // Deprecated match_subject_alt_names matches a SAN of any of these types: one entry per type says exactly that.
  list(o.match_subject_alt_names, at(path, "match_subject_alt_names"), st).forEach((m, i) => {
    const matcher = stringMatcher(m, at(at(path, "match_subject_alt_names"), i), st);
    if (matcher !== undefined) for (const sanType of ["URI", "DNS", "EMAIL", "IP_ADDRESS"] as SanType[]) sans.push({ sanType, matcher });
  });
  if (sans.length > 0) c.matchTypedSubjectAltNames = sans;
  const trust = enumOf(o.trust_chain_verification, ["VERIFY_TRUST_CHAIN", "ACCEPT_UNTRUSTED"] as const, at(path, "trust_chain_verification"), st);
  if (trust === "ACCEPT_UNTRUSTED") c.trustChainVerification = trust;
  return c;
}

function tlsParams(v: unknown, path: string, st: DecodeState): TlsParameters | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["tls_minimum_protocol_version", "tls_maximum_protocol_version", "cipher_suites", "ecdh_curves"], {}, {
    signature_algorithms: "signature_algorithms is not supported: Node's defaults apply",
  });
  const p: TlsParameters = {};
  const min = enumOf(o.tls_minimum_protocol_version, TLS_VERSIONS, at(path, "tls_minimum_protocol_version"), st);
  const max = enumOf(o.tls_maximum_protocol_version, TLS_VERSIONS, at(path, "tls_maximum_protocol_version"), st);
  if (min !== undefined) p.tlsMinimumProtocolVersion = min;
  if (max !== undefined) p.tlsMaximumProtocolVersion = max;
  const ciphers = strList(o.cipher_suites, at(path, "cipher_suites"), st);
  if (ciphers.length > 0) p.cipherSuites = ciphers;
  const curves = strList(o.ecdh_curves, at(path, "ecdh_curves"), st);
  if (curves.length > 0) p.ecdhCurves = curves;
  return p;
}

function commonTlsContext(v: unknown, path: string, st: DecodeState): CommonTlsContext | undefined {
  const o = obj(v, path, st) ?? {};
  checkFields(
    o,
    path,
    st,
    ["tls_params", "tls_certificates", "tls_certificate_sds_secret_configs", "validation_context", "validation_context_sds_secret_config", "combined_validation_context", "alpn_protocols"],
    {
      tls_certificate_provider_instance: "certificate provider instances are not supported by Outrigger",
      tls_certificate_certificate_provider_instance: "certificate provider instances are not supported by Outrigger",
      validation_context_certificate_provider_instance: "certificate provider instances are not supported by Outrigger",
      custom_handshaker: "custom TLS handshakers are not supported by Outrigger",
      key_log: "TLS key logging is not supported by Outrigger",
      custom_tls_certificate_selector: "custom certificate selectors are not supported by Outrigger",
    },
  );
  const c: CommonTlsContext = {};
  if (o.tls_params !== undefined) c.tlsParams = tlsParams(o.tls_params, at(path, "tls_params"), st);
  const certs: NonNullable<CommonTlsContext["tlsCertificates"]> = [];
  list(o.tls_certificates, at(path, "tls_certificates"), st).forEach((t, i) => {
    const p = at(at(path, "tls_certificates"), i);
    const to = obj(t, p, st);
    if (to === undefined) return;
    checkFields(to, p, st, ["certificate_chain", "private_key"], {
      private_key_provider: "private key providers are not supported by Outrigger",
      pkcs12: "PKCS#12 certificates are not supported by Outrigger",
    });
    const chain = dataSource(to.certificate_chain, at(p, "certificate_chain"), st);
    const key = dataSource(to.private_key, at(p, "private_key"), st);
    if (chain === undefined || key === undefined) return st.error(p, "certificate_chain and private_key are both required");
    certs.push({ certificateChain: chain, privateKey: key });
  });
  if (certs.length > 0) c.tlsCertificates = certs;
  const sds: SdsSecretConfig[] = [];
  list(o.tls_certificate_sds_secret_configs, at(path, "tls_certificate_sds_secret_configs"), st).forEach((s, i) => {
    const x = sdsSecretConfig(s, at(at(path, "tls_certificate_sds_secret_configs"), i), st);
    if (x !== undefined) sds.push(x);
  });
  if (sds.length > 0) c.tlsCertificateSdsSecretConfigs = sds;
  const validations = ["validation_context", "validation_context_sds_secret_config", "combined_validation_context"].filter((k) => o[k] !== undefined);
  if (validations.length > 1) st.error(path, `at most one of ${validations.join(", ")} may be set`);
  if (o.validation_context !== undefined) c.validationContext = validationContext(o.validation_context, at(path, "validation_context"), st);
  if (o.validation_context_sds_secret_config !== undefined) {
    // The trusted CA from a secret with no SAN rules: the combined form with an empty default context.
    const s = sdsSecretConfig(o.validation_context_sds_secret_config, at(path, "validation_context_sds_secret_config"), st);
    if (s !== undefined) c.combinedValidationContext = { defaultValidationContext: {}, validationContextSdsSecretConfig: s };
  }
  if (o.combined_validation_context !== undefined) {
    const p = at(path, "combined_validation_context");
    const co = obj(o.combined_validation_context, p, st);
    if (co !== undefined) {
      checkFields(co, p, st, ["default_validation_context", "validation_context_sds_secret_config"], {
        validation_context_certificate_provider_instance: "certificate provider instances are not supported by Outrigger",
        validation_context_certificate_provider: "certificate providers are not supported by Outrigger",
      });
      const d = validationContext(co.default_validation_context ?? {}, at(p, "default_validation_context"), st);
      const s = sdsSecretConfig(co.validation_context_sds_secret_config, at(p, "validation_context_sds_secret_config"), st);
      if (s === undefined && co.validation_context_sds_secret_config === undefined) st.error(at(p, "validation_context_sds_secret_config"), "required");
      if (d !== undefined && s !== undefined) c.combinedValidationContext = { defaultValidationContext: d, validationContextSdsSecretConfig: s };
    }
  }
  const alpn = strList(o.alpn_protocols, at(path, "alpn_protocols"), st);
  if (alpn.length > 0) c.alpnProtocols = alpn;
  return c;
}

/** DownstreamTlsContext fields (no "@type"), state form. */
export function decodeDownstreamTlsContextInto(o: Json, path: string, st: DecodeState): DownstreamTlsContext | undefined {
  checkFields(o, path, st, ["common_tls_context", "require_client_certificate"], {
    require_sni: "require_sni is not supported by Outrigger",
    ocsp_staple_policy: "OCSP stapling is not supported by Outrigger",
    full_scan_certs_on_sni_mismatch: "full_scan_certs_on_sni_mismatch is not supported by Outrigger",
  }, {
    session_ticket_keys: "session ticket keys are not supported: Node's own ticket keys are used",
    session_ticket_keys_sds_secret_config: "session ticket keys are not supported: Node's own ticket keys are used",
    disable_stateless_session_resumption: "session resumption settings are not supported; ignored",
    disable_stateful_session_resumption: "session resumption settings are not supported; ignored",
    session_timeout: "session_timeout is not supported; ignored",
    prefer_client_ciphers: "prefer_client_ciphers is not supported; ignored",
  });
  const common = commonTlsContext(o.common_tls_context, at(path, "common_tls_context"), st);
  if (common === undefined) return undefined;
  const t: DownstreamTlsContext = { commonTlsContext: common };
  if (bool(o.require_client_certificate, at(path, "require_client_certificate"), st) === true) t.requireClientCertificate = true;
  return t;
}

/** UpstreamTlsContext fields (no "@type"), state form. */
export function decodeUpstreamTlsContextInto(o: Json, path: string, st: DecodeState): UpstreamTlsContext | undefined {
  checkFields(o, path, st, ["common_tls_context", "sni"], {
    allow_renegotiation: "TLS renegotiation is not supported by Outrigger",
    enforce_rsa_key_usage: "enforce_rsa_key_usage is not supported by Outrigger",
  }, {
    max_session_keys: "max_session_keys is not supported: Node's session cache applies",
    auto_host_sni: "auto_host_sni is not supported; the configured sni applies",
    auto_sni_san_validation: "auto_sni_san_validation is not supported; ignored",
  });
  const common = commonTlsContext(o.common_tls_context, at(path, "common_tls_context"), st);
  if (common === undefined) return undefined;
  const t: UpstreamTlsContext = { commonTlsContext: common };
  const sni = str(o.sni, at(path, "sni"), st);
  if (sni !== undefined && sni !== "") t.sni = sni;
  return t;
}

/** An UpstreamTlsContext (proto JSON, with or without its "@type") → the model; for clusters' transport sockets. */
export function decodeUpstreamTlsContext(json: Json, ctx: DecodeContext, path = "typed_config"): Decoded<UpstreamTlsContext> {
  const st = new DecodeState(ctx);
  const { "@type": _t, ...o } = json;
  return st.result(decodeUpstreamTlsContextInto(o, path, st));
}

/** A DownstreamTlsContext (proto JSON, with or without its "@type") → the model. */
export function decodeDownstreamTlsContext(json: Json, ctx: DecodeContext, path = "typed_config"): Decoded<DownstreamTlsContext> {
  const st = new DecodeState(ctx);
  const { "@type": _t, ...o } = json;
  return st.result(decodeDownstreamTlsContextInto(o, path, st));
}

const TLS_TYPES = { downstream: "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext", upstream: "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext" };
/** Istio 1.4-era (v2 API) names of the same messages. */
const TLS_V2_TYPES = { downstream: "envoy.api.v2.auth.DownstreamTlsContext", upstream: "envoy.api.v2.auth.UpstreamTlsContext" };

/**
 * envoy.config.core.v3.TransportSocket, state form: `raw_buffer` → `{name: raw_buffer}` (plaintext, as
 * istiod's auto-mTLS `tlsMode-disabled` match needs it);
 * TLS (any name, the typed_config decides: istiod also names it `tls`) → the context of `side`.
 * Any other transport socket is an error.
 */
export function decodeTransportSocketInto(v: unknown, side: "downstream" | "upstream", path: string, st: DecodeState): TransportSocketConfig | undefined {
  const o = obj(v, path, st);
  if (o === undefined) return undefined;
  checkFields(o, path, st, ["name", "typed_config", "config"]);
  const name = str(o.name, at(path, "name"), st) ?? "";
  if (o.config !== undefined) return st.error(at(path, "config"), "the v2 untyped `config` is not supported; use typed_config");
  const tc = typedConfig(o.typed_config, at(path, "typed_config"), st);
  const type = tc?.type;
  if (type === undefined) {
    if (name === RAW_BUFFER_TRANSPORT_SOCKET || name === "raw_buffer") return { name: RAW_BUFFER_TRANSPORT_SOCKET };
    if (name === TLS_TRANSPORT_SOCKET || name === "tls") return st.error(path, "a TLS transport socket needs a typed_config");
    return st.error(at(path, "name"), `transport socket ${JSON.stringify(name)} is not supported (raw_buffer or tls)`);
  }
  if (type === "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" || type === "envoy.config.transport_socket.raw_buffer.v2.RawBuffer") return { name: RAW_BUFFER_TRANSPORT_SOCKET };
  const tp = at(path, "typed_config");
  if (type === TLS_TYPES[side] || type === TLS_V2_TYPES[side]) {
    const ctx = side === "downstream" ? decodeDownstreamTlsContextInto(tc!.fields, tp, st) : decodeUpstreamTlsContextInto(tc!.fields, tp, st);
    return ctx === undefined ? undefined : { name: TLS_TRANSPORT_SOCKET, typedConfig: ctx };
  }
  if (type === TLS_TYPES.downstream || type === TLS_TYPES.upstream) return st.error(at(tp, "@type"), `a ${side === "downstream" ? "filter chain" : "cluster"} needs a ${side === "downstream" ? "Downstream" : "Upstream"}TlsContext, got ${type}`);
  return st.error(at(tp, "@type"), `transport socket type ${type} is not supported (raw_buffer or tls)`);
}

/** A transport socket (proto JSON) → the model's. For clusters and transport_socket_matches: side "upstream". */
export function decodeTransportSocket(json: Json, side: "downstream" | "upstream", ctx: DecodeContext, path = "transport_socket"): Decoded<TransportSocketConfig> {
  const st = new DecodeState(ctx);
  return st.result(decodeTransportSocketInto(json, side, path, st));
}
