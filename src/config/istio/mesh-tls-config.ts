// MeshConfig `meshMTLS` and `tlsDefaults` (MeshConfig.TLSConfig), validated as istiod does and
// checked against what Node's OpenSSL can do, so a name Envoy would NACK is refused at its line:
// - meshMTLS: minProtocolVersion (TLS_AUTO = TLSV1_2, TLSV1_3) and cipherSuites go to every inbound
//   mTLS DownstreamTlsContext (istiod BuildInboundTLS); ecdhCurves is refused ("mesh TLS does not
//   support ECDH curves configuration", istiod ValidateMeshTLSConfig).
// - tlsDefaults: ecdhCurves and cipherSuites go to DestinationRule SIMPLE / MUTUAL upstream
//   contexts (istiod applyTLSDefaults; ISTIO_MUTUAL keeps istiod's own), minProtocolVersion only to
//   Gateway/Sidecar-ingress server TLS, which Outrigger does not build (accepted, unused).

import { createSecureContext } from "node:tls";
import type { TlsProtocolVersion } from "../model/types.js";
import type { DocIssues, FieldPath } from "./doc-issues.js";
import { typeName, type Obj } from "./spec-reader.js";
import type { MessageReader } from "./mesh-config.js";

export interface MeshTlsConfig {
  /** The Envoy minimum version it sets (TLS_AUTO → TLSv1_2, as istiod's GetMinTLSVersion). */
  minProtocolVersion?: TlsProtocolVersion;
  ecdhCurves?: string[];
  cipherSuites?: string[];
}

/** istiod's ValidECDHCurves (BoringSSL's key share names). */
const VALID_ECDH_CURVES = new Set(["P-224", "P-256", "P-521", "P-384", "X25519", "X25519Kyber768Draft00", "X25519MLKEM768"]);

/** istiod's ValidCipherSuites (`bssl ciphers -openssl-name ALL`, no PSK). */
const VALID_CIPHER_SUITES = new Set([
  "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
  "ECDHE-RSA-AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA", "DES-CBC3-SHA",
]);

const TLS_CONFIG_FIELDS = ["minProtocolVersion", "ecdhCurves", "cipherSuites"] as const;

/** MeshConfig.TLSConfig.TLSProtocol (protobuf JSON: name or number). */
function minVersion(v: unknown, issues: DocIssues, path: FieldPath): TlsProtocolVersion | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === "TLS_AUTO" || v === 0 || v === "TLSV1_2" || v === 1) return "TLSv1_2";
  if (v === "TLSV1_3" || v === 2) return "TLSv1_3";
  issues.error(path, `unsupported value ${typeName(v)}, must be TLS_AUTO, TLSV1_2 or TLSV1_3`);
  return undefined;
}

/** Whether Node's OpenSSL accepts this option (the list Envoy would load); the error otherwise. */
function opensslRefuses(opts: { ecdhCurve?: string; ciphers?: string }): string | undefined {
  try {
    createSecureContext({ ...opts, minVersion: "TLSv1.2", maxVersion: "TLSv1.2" });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

function names(r: MessageReader, o: Obj, key: "ecdhCurves" | "cipherSuites", path: FieldPath): string[] | undefined {
  const list = r.strArr(o, key, path);
  if (list === undefined) return undefined;
  const valid = key === "ecdhCurves" ? VALID_ECDH_CURVES : VALID_CIPHER_SUITES;
  const what = key === "ecdhCurves" ? "ECDH curve" : "cipher suite";
  const out: string[] = [];
  const seen = new Set<string>();
  list.forEach((n, i) => {
    const at = [...path, key, i];
    if (!valid.has(n)) {
      r.issues.error(at, `unrecognized ${what} "${n}" (Envoy would refuse it); valid: ${[...valid].join(", ")}`);
      return;
    }
    const refused = opensslRefuses(key === "ecdhCurves" ? { ecdhCurve: n } : { ciphers: n });
    if (refused !== undefined) {
      r.issues.error(at, `${what} "${n}" is not available in this Node's OpenSSL (${refused})`);
      return;
    }
    if (seen.has(n)) {
      r.issues.warn(at, `duplicate ${what} "${n}"`);
      return;
    }
    seen.add(n);
    out.push(n);
  });
  return out.length > 0 ? out : undefined;
}

/** `meshMTLS` or `tlsDefaults`; undefined when absent or empty. */
export function parseMeshTlsConfig(r: MessageReader, value: unknown, field: "meshMTLS" | "tlsDefaults"): MeshTlsConfig | undefined {
  const path = [field];
  const o = r.msg(value, path, TLS_CONFIG_FIELDS);
  if (!o) return undefined;
  const out: MeshTlsConfig = {};
  const v = minVersion(o["minProtocolVersion"], r.issues, [field, "minProtocolVersion"]);
  if (v !== undefined) out.minProtocolVersion = v;
  if (field === "meshMTLS" && o["ecdhCurves"] !== undefined && o["ecdhCurves"] !== null) {
    r.issues.error([field, "ecdhCurves"], "mesh TLS does not support ECDH curves configuration");
  } else {
    const curves = names(r, o, "ecdhCurves", path);
    if (curves !== undefined) out.ecdhCurves = curves;
  }
  const ciphers = names(r, o, "cipherSuites", path);
  if (ciphers !== undefined) out.cipherSuites = ciphers;
  return out;
}
