// A minimal certificate authority on disk, the shape istiod's self-signed CA uses: a root with
// O=<trust domain> valid 10 years, and workload certificates with an empty subject, the SPIFFE
// URI SAN (critical), serverAuth + clientAuth, backdated by Istio's clock-skew grace period.
// Used by `outrigger ca` and the tests' fake Istio CA.

import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from "node:crypto";
import { buildCertificate, subjectDerOf, toPem } from "./x509-der.js";

export type KeyType = "ec" | "rsa";

/** Istio's SelfSignedCACertTTL default: 10 years. */
export const ROOT_TTL_MS = 3650 * 86_400_000;
/** Istio's ClockSkewGracePeriod: certificates start 2 minutes in the past. */
export const CLOCK_SKEW_GRACE_MS = 2 * 60_000;

export function generateKey(type: KeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  return type === "ec" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: "pkcs8", format: "pem" }) as string;
}

export interface LocalCa {
  certPem: string;
  keyPem: string;
}

/** A self-signed root: O=<org> (istiod: the trust domain), CA:TRUE, keyCertSign + cRLSign. */
export function createRootCa(o: { org: string; keyType: KeyType; now: number; ttlMs?: number }): LocalCa {
  const { privateKey, publicKey } = generateKey(o.keyType);
  const der = buildCertificate({
    subjectKey: publicKey,
    subject: [{ type: "O", value: o.org }],
    issuer: [{ type: "O", value: o.org }],
    issuerKey: privateKey,
    issuerPublicKey: publicKey,
    notBefore: new Date(o.now - CLOCK_SKEW_GRACE_MS),
    notAfter: new Date(o.now + (o.ttlMs ?? ROOT_TTL_MS)),
    profile: { ca: true },
  });
  return { certPem: toPem(der, "CERTIFICATE"), keyPem: privateKeyPem(privateKey) };
}

/** Signs a workload certificate for `subjectKey` (PEM). Throws when the CA's key does not match its certificate. */
export function signWorkload(ca: LocalCa, o: { subjectKey: KeyObject; uris: string[]; dnsNames?: string[]; ttlMs: number; now: number }): string {
  const caCert = new X509Certificate(ca.certPem);
  const caKey = createPrivateKey(ca.keyPem);
  const caPub = createPublicKey(caKey);
  if (!caPub.export({ type: "spki", format: "der" }).equals(caCert.publicKey.export({ type: "spki", format: "der" }))) throw new Error("the CA key does not match the CA certificate");
  const der = buildCertificate({
    subjectKey: o.subjectKey,
    subject: [],
    issuer: { der: subjectDerOf(caCert.raw) },
    issuerKey: caKey,
    issuerPublicKey: caPub,
    notBefore: new Date(o.now - CLOCK_SKEW_GRACE_MS),
    notAfter: new Date(o.now + o.ttlMs),
    profile: { ca: false, uris: o.uris, dnsNames: o.dnsNames ?? [] },
  });
  return toPem(der, "CERTIFICATE");
}
