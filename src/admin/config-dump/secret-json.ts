// An SDS Secret in Envoy's proto3 JSON (envoy.extensions.transport_sockets.tls.v3.Secret), as
// `/config_dump` shows istio-agent's `default` and `ROOTCA`: PEM as base64 `inline_bytes`, and the
// private key replaced by the bytes `[redacted]` as Envoy's MessageUtil::redact does
// (`redact: false` keeps it, for a resource meant to be decoded again).

import type { Secret } from "../../config/model/types.js";
import { typeUrl, type Json } from "./envoy-json.js";

/** base64("[redacted]"): what Envoy prints for a private key's inline_bytes. */
export const REDACTED_BYTES = Buffer.from("[redacted]").toString("base64");

const b64 = (pem: string): string => Buffer.from(pem).toString("base64");

export interface SecretJsonOptions {
  /** false: the private key as it is (a bootstrap or SDS resource to decode again); default true, as /config_dump shows it. */
  redact?: boolean;
}

export function secretJson(s: Secret, options: SecretJsonOptions = {}): Json {
  const out: Json = { "@type": typeUrl("envoy.extensions.transport_sockets.tls.v3.Secret"), name: s.name };
  const key = options.redact === false && s.tlsCertificate !== undefined ? b64(s.tlsCertificate.privateKey) : REDACTED_BYTES;
  if (s.tlsCertificate !== undefined) out["tls_certificate"] = { certificate_chain: { inline_bytes: b64(s.tlsCertificate.certificateChain) }, private_key: { inline_bytes: key } };
  if (s.validationContext !== undefined) out["validation_context"] = { trusted_ca: { inline_bytes: b64(s.validationContext.trustedCa) } };
  return out;
}
