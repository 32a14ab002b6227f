// The workload identity as the snapshot's SDS secrets: `default` (certificate chain + key) and
// `ROOTCA` (the mesh root), checked before they are handed to the data path: a key that does not
// match its certificate (mid-rotation), garbled PEM, or a certificate outside its validity period
// is refused, so the last good pair keeps serving.

import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { ROOT_CA_SECRET, WORKLOAD_SECRET, type Secret } from "../config/model/types.js";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The PEM certificates of a bundle, in order (text outside the blocks is ignored, as OpenSSL does). */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(PEM_CERT) ?? [];
}

/** A workload certificate's material, PEM text as read from disk or returned by a CA. */
export interface WorkloadMaterial {
  /** Leaf first; may carry intermediates and the root at the end (Istio's cert-chain.pem). */
  certificateChain: string;
  privateKey: string;
  /** The trusted root(s) (root-cert.pem). */
  rootCert: string;
}

/** What a checked pair says about itself (logs, `/certs`, the default service account). */
export interface WorkloadIdentity {
  /** spiffe://… URI SANs of the leaf. */
  uriSans: string[];
  serialNumber: string;
  validFrom: Date;
  validTo: Date;
}

export class WorkloadSecretError extends Error {}

/**
 * Checks the material and returns the `default` and `ROOTCA` secrets, or throws
 * WorkloadSecretError saying why (`which` names the files or the CA in the message).
 */
export function workloadSecrets(m: WorkloadMaterial, nowMs: number, which: { chain: string; key: string; root: string }): { secrets: Record<string, Secret>; identity: WorkloadIdentity } {
  const chain = splitPemCertificates(m.certificateChain);
  if (chain.length === 0) throw new WorkloadSecretError(`${which.chain}: no PEM certificate found`);
  const roots = splitPemCertificates(m.rootCert);
  if (roots.length === 0) throw new WorkloadSecretError(`${which.root}: no PEM certificate found`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0] as string);
    for (const c of [...chain.slice(1), ...roots]) new X509Certificate(c);
  } catch (e) {
    throw new WorkloadSecretError(`${which.chain} / ${which.root}: unreadable certificate: ${(e as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(m.privateKey);
  } catch (e) {
    throw new WorkloadSecretError(`${which.key}: unreadable private key: ${(e as Error).message}`);
  }
  // Compare public keys: a key from another rotation than the certificate fails every handshake.
  const fromKey = createPublicKey(key).export({ type: "spki", format: "der" });
  const fromCert = leaf.publicKey.export({ type: "spki", format: "der" });
  if (!fromKey.equals(fromCert)) throw new WorkloadSecretError(`${which.key} does not match the certificate in ${which.chain} (serial ${leaf.serialNumber})`);
  const validFrom = new Date(leaf.validFrom);
  const validTo = new Date(leaf.validTo);
  if (nowMs < validFrom.getTime()) throw new WorkloadSecretError(`${which.chain}: certificate (serial ${leaf.serialNumber}) is not valid before ${validFrom.toISOString()}`);
  if (nowMs > validTo.getTime()) throw new WorkloadSecretError(`${which.chain}: certificate (serial ${leaf.serialNumber}) expired at ${validTo.toISOString()}`);
  const uriSans = (leaf.subjectAltName ?? "")
    .split(", ")
    .filter((s) => s.startsWith("URI:"))
    .map((s) => s.slice(4));
  return {
    secrets: {
      [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tlsCertificate: { certificateChain: m.certificateChain, privateKey: m.privateKey } },
      [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validationContext: { trustedCa: m.rootCert } },
    },
    identity: { uriSans, serialNumber: leaf.serialNumber, validFrom, validTo },
  };
}

/** `spiffe://TD/ns/NS/sa/SA` → its parts; undefined for any other URI. */
export function parseSpiffeId(uri: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  return m === null ? undefined : { trustDomain: m[1] as string, namespace: m[2] as string, serviceAccount: m[3] as string };
}
