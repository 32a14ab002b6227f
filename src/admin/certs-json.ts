// `/certs` in Envoy's admin.v3.Certificates JSON: for the workload certificate, the mesh root
// (`ca_cert`, from ROOTCA) and the leaf (`cert_chain`, from `default`) with serial, SANs, days
// until expiration and validity. Secrets arrive over SDS, so `path` is Envoy's `<inline>`.

import { X509Certificate } from "node:crypto";
import { ROOT_CA_SECRET, WORKLOAD_SECRET, type Secret } from "../config/model/types.js";
import { splitPemCertificates } from "../security/workload-secrets.js";

type Json = Record<string, unknown>;

const DAY_MS = 86_400_000;

/** Envoy's CertificateDetails of one PEM certificate. */
export function certificateDetails(pem: string, nowMs: number): Json {
  const c = new X509Certificate(pem);
  const validTo = new Date(c.validTo);
  const sans = (c.subjectAltName ?? "")
    .split(", ")
    .filter((s) => s !== "")
    .flatMap((s): Json[] => (s.startsWith("URI:") ? [{ uri: s.slice(4) }] : s.startsWith("DNS:") ? [{ dns: s.slice(4) }] : s.startsWith("IP Address:") ? [{ ip_address: s.slice(11) }] : []));
  const out: Json = {
    path: "<inline>",
    // Envoy prints the serial as lower-case hex.
    serial_number: c.serialNumber.toLowerCase(),
    days_until_expiration: String(Math.max(0, Math.floor((validTo.getTime() - nowMs) / DAY_MS))),
    valid_from: new Date(c.validFrom).toISOString().replace(".000Z", "Z"),
    expiration_time: validTo.toISOString().replace(".000Z", "Z"),
  };
  if (sans.length > 0) out["subject_alt_names"] = sans;
  return out;
}

/** `{certificates: [...]}` from the snapshot's secrets; none when there is no workload certificate. */
export function certsJson(secrets: Readonly<Record<string, Secret>> | undefined, nowMs: number): Json {
  const leafPem = splitPemCertificates(secrets?.[WORKLOAD_SECRET]?.tlsCertificate?.certificateChain ?? "")[0];
  const roots = splitPemCertificates(secrets?.[ROOT_CA_SECRET]?.validationContext?.trustedCa ?? "");
  if (leafPem === undefined && roots.length === 0) return { certificates: [] };
  return {
    certificates: [
      {
        ca_cert: roots.map((r) => certificateDetails(r, nowMs)),
        cert_chain: leafPem !== undefined ? [certificateDetails(leafPem, nowMs)] : [],
      },
    ],
  };
}
