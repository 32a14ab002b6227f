// envoy.extensions.transport_sockets.tls.v3.Secret (SDS, or the bootstrap's static secrets) → the
// model's Secret: a certificate chain with its private key, or a validation context's trusted CAs,
// as PEM text. DataSources given as files are read now (relative paths against ctx.cwd, as Envoy
// resolves them), so the snapshot carries the PEM; an unreadable file is an error.

import { readFileSync } from "node:fs";
import type { Secret } from "../model/types.js";
import { at, checkFields, dataSource, obj, str, DecodeState } from "./decode-common.js";
import type { DecodeContext, Decoded, Json } from "./decoded.js";

function pem(v: unknown, path: string, st: DecodeState): string | undefined {
  if (v === undefined) return st.error(path, "required");
  const d = dataSource(v, path, st);
  if (d === undefined) return undefined;
  if (d.filename !== undefined) {
    try {
      return readFileSync(d.filename, "utf8");
    } catch (e) {
      return st.error(at(path, "filename"), `cannot read ${d.filename}: ${(e as Error).message}`);
    }
  }
  return d.inlineString;
}

export function decodeSecret(json: Json, ctx: DecodeContext): Decoded<Secret> {
  const st = new DecodeState(ctx);
  checkFields(json, "", st, ["name", "tls_certificate", "validation_context"], {
    session_ticket_keys: "session ticket key secrets are not supported by Outrigger",
    generic_secret: "generic secrets are not supported by Outrigger",
  });
  const name = str(json.name, "name", st);
  if (name === undefined || name === "") return st.result<Secret>(st.error("name", "a secret name is required"));
  const s: Secret = { name };
  const tc = obj(json.tls_certificate, "tls_certificate", st);
  if (tc !== undefined) {
    checkFields(tc, "tls_certificate", st, ["certificate_chain", "private_key"], {
      password: "encrypted private keys are not supported by Outrigger",
      private_key_provider: "private key providers are not supported by Outrigger",
      pkcs12: "PKCS#12 certificates are not supported by Outrigger (PEM only)",
      watched_directory: "watched directories are not supported by Outrigger",
      ocsp_staple: "OCSP stapling is not supported by Outrigger",
      signed_certificate_timestamp: "signed certificate timestamps are not supported by Outrigger",
    });
    const certificateChain = pem(tc.certificate_chain, "tls_certificate.certificate_chain", st);
    const privateKey = pem(tc.private_key, "tls_certificate.private_key", st);
    if (certificateChain !== undefined && privateKey !== undefined) s.tlsCertificate = { certificateChain, privateKey };
  }
  const vc = obj(json.validation_context, "validation_context", st);
  if (vc !== undefined) {
    // Only the trusted CAs: SAN rules and the rest live in the transport socket's own validation context.
    checkFields(vc, "validation_context", st, ["trusted_ca"], Object.fromEntries(Object.keys(vc).filter((k) => k !== "trusted_ca").map((k) => [k, "only trusted_ca is supported in an SDS validation context by Outrigger"])));
    const trustedCa = pem(vc.trusted_ca, "validation_context.trusted_ca", st);
    if (trustedCa !== undefined) s.validationContext = { trustedCa };
  }
  if (tc === undefined && vc === undefined && st.errors.length === 0) st.error("secret", "one of tls_certificate, validation_context is required");
  return st.result(s);
}
