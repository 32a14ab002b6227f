// Certificates and CSRs as DER, built with node-forge's ASN.1 codec and signed with node:crypto.
// node-forge's own certificate/CSR signing knows only RSA keys; istio-agent's workload keys are
// ECDSA P-256 as often as RSA, so the structures (RFC 5280 TBSCertificate, RFC 2986
// CertificationRequestInfo) are assembled here and the signature comes from node:crypto.

import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from "node:crypto";
import { createRequire } from "node:module";
import type * as Forge from "node-forge";

// node-forge is CommonJS whose exports are assigned at run time: import it through require.
const forge = createRequire(import.meta.url)("node-forge") as typeof Forge;

const { asn1 } = forge;
type Asn1 = Forge.asn1.Asn1;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  organization: "2.5.4.10",
  commonName: "2.5.4.3",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  extensionRequest: "1.2.840.113549.1.9.14",
};

const seq = (v: Asn1[]): Asn1 => asn1.create(U, T.SEQUENCE, true, v);
const oid = (o: string): Asn1 => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
const bin = (b: Buffer): string => b.toString("binary");
const buf = (s: string): Buffer => Buffer.from(s, "binary");
const der = (a: Asn1): Buffer => buf(asn1.toDer(a).getBytes());

/** A distinguished name from (OID, value) pairs; [] = the empty subject of Istio workload certificates. */
export type NameParts = Array<{ type: "O" | "CN"; value: string }>;

function name(parts: NameParts): Asn1 {
  return seq(parts.map((p) => asn1.create(U, T.SET, true, [seq([oid(p.type === "O" ? OID.organization : OID.commonName), asn1.create(U, T.UTF8, false, forge.util.encodeUtf8(p.value))])])));
}

/** What a certificate's extensions say (only the ones Istio's CA and root use). */
export interface CertificateProfile {
  /** A CA (root): CA:TRUE, keyCertSign + cRLSign. Else a workload leaf: digitalSignature + keyEncipherment, serverAuth + clientAuth. */
  ca: boolean;
  uris?: string[];
  dnsNames?: string[];
}

function keyUsageBits(ca: boolean): Asn1 {
  // BIT STRING: digitalSignature(0) keyEncipherment(2) → 0xa0, 5 unused bits; keyCertSign(5) cRLSign(6) → 0x06, 1 unused bit.
  return asn1.create(U, T.BITSTRING, false, ca ? "\x01\x06" : "\x05\xa0");
}

function sanExtension(uris: string[], dnsNames: string[]): Asn1 {
  const names = [...uris.map((u) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, u)), ...dnsNames.map((d) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, d))];
  // Critical when the subject is empty (RFC 5280 4.2.1.6), as Istio's workload certificates are.
  return extension(OID.subjectAltName, true, seq(names));
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  return seq([oid(id), ...(critical ? [asn1.create(U, T.BOOLEAN, false, "\xff")] : []), asn1.create(U, T.OCTETSTRING, false, asn1.toDer(value).getBytes())]);
}

/** The SubjectPublicKeyInfo of a key, as node:crypto encodes it. */
function spkiOf(key: KeyObject): Asn1 {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return asn1.fromDer(bin(pub.export({ type: "spki", format: "der" })));
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Asn1): string {
  const bits = (spki.value as Asn1[])[1]!.value as string;
  return createHash("sha1").update(buf(bits).subarray(1)).digest("binary");
}

function signatureAlgorithm(key: KeyObject): { asn: Asn1; digest: "sha256" } {
  const ec = key.asymmetricKeyType === "ec";
  if (!ec && key.asymmetricKeyType !== "rsa") throw new Error(`unsupported signing key type ${key.asymmetricKeyType}`);
  return { asn: seq(ec ? [oid(OID.ecdsaWithSha256)] : [oid(OID.sha256WithRsa), asn1.create(U, T.NULL, false, "")]), digest: "sha256" };
}

function signed(body: Asn1, signer: KeyObject): Buffer {
  const alg = signatureAlgorithm(signer);
  const sig = sign(alg.digest, der(body), signer);
  return der(seq([body, alg.asn, asn1.create(U, T.BITSTRING, false, "\x00" + bin(sig))]));
}

function time(d: Date): Asn1 {
  // RFC 5280: UTCTime through 2049, GeneralizedTime after.
  return d.getUTCFullYear() < 2050 ? asn1.create(U, T.UTCTIME, false, asn1.dateToUtcTime(d)) : asn1.create(U, T.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

export interface CertificateRequest {
  /** The certified key (public or private). */
  subjectKey: KeyObject;
  subject: NameParts | { der: Buffer };
  issuer: NameParts | { der: Buffer };
  /** The issuer's key (signs); for a self-signed root, the subject's private key. */
  issuerKey: KeyObject;
  /** The issuer's SubjectPublicKeyInfo source, for the authority key identifier. */
  issuerPublicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  profile: CertificateProfile;
}

/** A signed X.509 v3 certificate (DER). */
export function buildCertificate(r: CertificateRequest): Buffer {
  const spki = spkiOf(r.subjectKey);
  const issuerSpki = spkiOf(r.issuerPublicKey);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f; // positive INTEGER
  const exts: Asn1[] = [
    extension(OID.keyUsage, true, keyUsageBits(r.profile.ca)),
    ...(r.profile.ca ? [] : [extension(OID.extKeyUsage, false, seq([oid(OID.serverAuth), oid(OID.clientAuth)]))]),
    extension(OID.basicConstraints, true, seq(r.profile.ca ? [asn1.create(U, T.BOOLEAN, false, "\xff")] : [])),
    ...(r.profile.ca ? [extension(OID.subjectKeyIdentifier, false, asn1.create(U, T.OCTETSTRING, false, keyIdentifier(spki)))] : []),
    extension(OID.authorityKeyIdentifier, false, seq([asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, keyIdentifier(issuerSpki))])),
  ];
  const uris = r.profile.uris ?? [];
  const dns = r.profile.dnsNames ?? [];
  if (uris.length + dns.length > 0) exts.push(sanExtension(uris, dns));
  const nameAsn = (n: NameParts | { der: Buffer }): Asn1 => ("der" in n ? asn1.fromDer(bin(n.der)) : name(n));
  const tbs = seq([
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(U, T.INTEGER, false, "\x02")]),
    asn1.create(U, T.INTEGER, false, bin(serial)),
    signatureAlgorithm(r.issuerKey).asn,
    nameAsn(r.issuer),
    seq([time(r.notBefore), time(r.notAfter)]),
    nameAsn(r.subject),
    spki,
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 3, true, [seq(exts)]),
  ]);
  return signed(tbs, r.issuerKey);
}

/** A PKCS#10 CSR (DER) for `key` with an empty subject and the SPIFFE URI SAN, as istio-agent sends. */
export function buildCsr(key: KeyObject, uris: string[], dnsNames: string[] = []): Buffer {
  const exts = seq([sanExtension(uris, dnsNames)]);
  const info = seq([
    asn1.create(U, T.INTEGER, false, "\x00"),
    name([]),
    spkiOf(key),
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [seq([oid(OID.extensionRequest), asn1.create(U, T.SET, true, [exts])])]),
  ]);
  return signed(info, key);
}

/** A certificate's subject Name as DER (the issuer of what it signs). */
export function subjectDerOf(certDer: Buffer): Buffer {
  const tbs = (asn1.fromDer(bin(certDer)).value as Asn1[])[0]!.value as Asn1[];
  // With the explicit [0] version first, the subject is the sixth element.
  return der(tbs[5]!);
}

/** What a CSR asks for: its public key and the URI / DNS SANs of its extension request. */
export function parseCsr(csrDer: Buffer): { publicKey: KeyObject; uris: string[]; dnsNames: string[] } {
  const info = (asn1.fromDer(bin(csrDer)).value as Asn1[])[0]!.value as Asn1[];
  const publicKey = createPublicKey({ key: der(info[2]!), format: "der", type: "spki" });
  const uris: string[] = [];
  const dnsNames: string[] = [];
  for (const attr of (info[3]?.value as Asn1[] | undefined) ?? []) {
    const [id, values] = attr.value as Asn1[];
    if (asn1.derToOid(forge.util.createBuffer(id!.value as string)) !== OID.extensionRequest) continue;
    for (const ext of ((values!.value as Asn1[])[0]!.value as Asn1[])) {
      const parts = ext.value as Asn1[];
      if (asn1.derToOid(forge.util.createBuffer(parts[0]!.value as string)) !== OID.subjectAltName) continue;
      const san = asn1.fromDer(parts[parts.length - 1]!.value as string);
      for (const gn of san.value as Asn1[]) {
        if (gn.type === 6) uris.push(gn.value as string);
        else if (gn.type === 2) dnsNames.push(gn.value as string);
      }
    }
  }
  return { publicKey, uris, dnsNames };
}

/** DER → PEM with the given label. */
export function toPem(derBytes: Buffer, label: "CERTIFICATE" | "CERTIFICATE REQUEST"): string {
  const b64 = derBytes.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}
