// A TLS context from the model (Envoy's CommonTlsContext) and the snapshot's secrets, made once per
// snapshot: the Node SecureContext (certificate, key, trusted CAs, versions, ciphers), the ALPN
// list, and the peer checks Envoy runs (trust chain, SAN matchers). Shared by the downstream
// (filter chain) and upstream (cluster) TLS transport sockets.

import { createHash, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContext, type SecureVersion } from "node:tls";
import type { CertificateValidationContext, CommonTlsContext, DataSource, SanType, Secret, TlsProtocolVersion } from "../config/model/types.js";
import type { PeerCertificateInfo } from "../listener/connection-info.js";
import { compileStringMatcher, type StringPredicate } from "../router/string-matcher.js";

/** What a connection needs from its TLS context. */
export interface ResolvedTlsContext {
  secureContext: SecureContext;
  /** ALPN to offer (client) or accept (server); [] = none. */
  alpn: string[];
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** The peer checks; undefined = the peer is not validated (no validation context). */
  validation: PeerValidation | undefined;
  /** Our certificate's URI SANs (XFCC `By=`); [] without a certificate. */
  localUriSans: string[];
  /** Our certificate's DNS SANs and RFC 2253 subject ([] / "" without a certificate). */
  localDnsSans: string[];
  localSubject: string;
  /** Serial of our certificate (hex), for /certs and logs; "" without one. */
  localSerial: string;
  /** Digest of everything that shapes a connection made with this context (pool keying). */
  hashKey: string;
}

export interface PeerValidation {
  /** false: ACCEPT_UNTRUSTED (the chain is not checked, SANs still are). */
  verifyTrustChain: boolean;
  /** Trusted CAs (PEM), as given to the SecureContext; "" when none (then the chain cannot verify). */
  trustedCa: string;
  /** Any one must match; [] = any SAN. */
  sanMatchers: Array<{ sanType: SanType; matches: StringPredicate }>;
}

const VERSIONS: Record<Exclude<TlsProtocolVersion, "TLS_AUTO">, SecureVersion> = {
  TLSv1_0: "TLSv1",
  TLSv1_1: "TLSv1.1",
  TLSv1_2: "TLSv1.2",
  TLSv1_3: "TLSv1.3",
};

function version(v: TlsProtocolVersion | undefined, dflt: SecureVersion): SecureVersion {
  return v === undefined || v === "TLS_AUTO" ? dflt : VERSIONS[v];
}

/** A DataSource's text: the file read now (a missing file is an error naming it), or the inline string. */
export function readDataSource(d: DataSource, what: string): string {
  if (d.inlineString !== undefined) return d.inlineString;
  if (d.filename !== undefined) {
    try {
      return readFileSync(d.filename, "utf8");
    } catch (e) {
      throw new Error(`${what}: cannot read ${d.filename}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  throw new Error(`${what}: neither filename nor inlineString is set`);
}

function secretNamed(secrets: Readonly<Record<string, Secret>>, name: string, what: string): Secret {
  const s = secrets[name];
  if (s === undefined) throw new Error(`${what}: secret ${JSON.stringify(name)} is not available (no workload certificate: run with --certs DIR or --ca-address)`);
  return s;
}

/**
 * Resolves a CommonTlsContext against the snapshot's secrets. Throws with a clear message when a
 * secret is missing, a file cannot be read, or the key does not match the certificate.
 * `where` prefixes messages (`filter chain X`, `cluster Y`).
 */
export function resolveTlsContext(ctx: CommonTlsContext, secrets: Readonly<Record<string, Secret>>, where: string): ResolvedTlsContext {
  let cert: string | undefined;
  let key: string | undefined;
  const sds = ctx.tlsCertificateSdsSecretConfigs ?? [];
  const files = ctx.tlsCertificates ?? [];
  if (sds.length + files.length > 1) throw new Error(`${where}: only one TLS certificate per context is supported`);
  if (sds.length === 1) {
    const s = secretNamed(secrets, sds[0]!.name, where);
    if (s.tlsCertificate === undefined) throw new Error(`${where}: secret ${JSON.stringify(s.name)} holds no tls_certificate`);
    cert = s.tlsCertificate.certificateChain;
    key = s.tlsCertificate.privateKey;
  } else if (files.length === 1) {
    cert = readDataSource(files[0]!.certificateChain, `${where}: certificate_chain`);
    key = readDataSource(files[0]!.privateKey, `${where}: private_key`);
  }

  let validation: PeerValidation | undefined;
  let rules: CertificateValidationContext | undefined;
  let trustedCa = "";
  if (ctx.combinedValidationContext !== undefined) {
    rules = ctx.combinedValidationContext.defaultValidationContext;
    const s = secretNamed(secrets, ctx.combinedValidationContext.validationContextSdsSecretConfig.name, where);
    if (s.validationContext === undefined) throw new Error(`${where}: secret ${JSON.stringify(s.name)} holds no validation_context`);
    trustedCa = s.validationContext.trustedCa;
  } else if (ctx.validationContext !== undefined) {
    rules = ctx.validationContext;
  }
  if (rules !== undefined) {
    if (rules.trustedCa !== undefined) trustedCa = readDataSource(rules.trustedCa, `${where}: trusted_ca`);
    validation = {
      verifyTrustChain: rules.trustChainVerification !== "ACCEPT_UNTRUSTED",
      trustedCa,
      sanMatchers: (rules.matchTypedSubjectAltNames ?? []).map((m) => ({ sanType: m.sanType, matches: compileStringMatcher(m.matcher, `${where}: subject alt name matcher`) })),
    };
  }

  const p = ctx.tlsParams ?? {};
  const minVersion = version(p.tlsMinimumProtocolVersion, "TLSv1.2");
  const maxVersion = version(p.tlsMaximumProtocolVersion, "TLSv1.3");
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext({
      ...(cert !== undefined ? { cert, key } : {}),
      ...(trustedCa !== "" ? { ca: trustedCa } : {}),
      minVersion,
      maxVersion,
      ...(p.cipherSuites !== undefined && p.cipherSuites.length > 0 ? { ciphers: p.cipherSuites.join(":") } : {}),
      ...(p.ecdhCurves !== undefined && p.ecdhCurves.length > 0 ? { ecdhCurve: p.ecdhCurves.join(":") } : {}),
    });
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
  let localUriSans: string[] = [];
  let localDnsSans: string[] = [];
  let localSubject = "";
  let localSerial = "";
  if (cert !== undefined) {
    const leaf = new X509Certificate(cert);
    const sans = parseSubjectAltNames(leaf.subjectAltName);
    localUriSans = sans.uri;
    localDnsSans = sans.dns;
    localSubject = rfc2253Name(leaf.subject);
    localSerial = leaf.serialNumber.toLowerCase();
  }
  const hashKey = createHash("sha256")
    .update(JSON.stringify([cert ?? "", trustedCa, ctx.alpnProtocols ?? [], minVersion, maxVersion, p, rules ?? null]))
    .digest("hex")
    .slice(0, 16);
  return { secureContext, alpn: ctx.alpnProtocols ?? [], minVersion, maxVersion, validation, localUriSans, localDnsSans, localSubject, localSerial, hashKey };
}

/**
 * Node's subjectAltName text (`URI:spiffe://a, DNS:b`; values with special characters are
 * JSON-quoted) split by type.
 */
export function parseSubjectAltNames(text: string | undefined): { uri: string[]; dns: string[]; email: string[]; ip: string[] } {
  const out = { uri: [] as string[], dns: [] as string[], email: [] as string[], ip: [] as string[] };
  if (text === undefined || text === "") return out;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(":", i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote (skipping escapes).
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      next = text.indexOf(", ", j + 1);
    } else {
      next = text.indexOf(", ", colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    if (type === "URI") out.uri.push(value);
    else if (type === "DNS") out.dns.push(value);
    else if (type === "email") out.email.push(value);
    else if (type === "IP Address") out.ip.push(value);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

/** The facts of a peer certificate (DER) that filters, XFCC and telemetry use. */
export function peerCertificateInfo(der: Buffer): PeerCertificateInfo & { x509: X509Certificate } {
  const x509 = new X509Certificate(der);
  const sans = parseSubjectAltNames(x509.subjectAltName);
  return {
    x509,
    uriSans: sans.uri,
    dnsSans: sans.dns,
    subject: rfc2253Name(x509.subject),
    sha256: createHash("sha256").update(der).digest("hex"),
    serial: x509.serialNumber.toLowerCase(),
    pem: x509.toString(),
    issuer: rfc2253Name(x509.issuer),
    validFrom: Date.parse(x509.validFrom),
    validTo: Date.parse(x509.validTo),
  };
}

/** Node prints a name one `K=V` per line, most significant first; RFC 2253 is the reverse, comma-joined. */
export function rfc2253Name(subject: string | undefined): string {
  if (subject === undefined || subject === "") return "";
  return subject
    .split("\n")
    .filter((l) => l !== "")
    .reverse()
    .map((l) => l.replace(/([,+"\\<>;])/g, "\\$1"))
    .join(",");
}

/** Istio's principal of a peer: its first `spiffe://` URI SAN without the scheme. */
export function spiffePrincipal(uriSans: readonly string[]): string | undefined {
  for (const u of uriSans) if (u.startsWith("spiffe://")) return u.slice("spiffe://".length);
  return undefined;
}

/** Whether the peer's SANs satisfy the validation's SAN matchers (any one of them). */
export function sansMatch(v: PeerValidation, peer: PeerCertificateInfo, ipSans: readonly string[] = []): boolean {
  if (v.sanMatchers.length === 0) return true;
  for (const m of v.sanMatchers) {
    const values = m.sanType === "URI" ? peer.uriSans : m.sanType === "DNS" ? peer.dnsSans : m.sanType === "IP_ADDRESS" ? ipSans : [];
    for (const s of values) if (m.matches(s)) return true;
  }
  return false;
}

/**
 * Envoy's transport failure reason for a TLS handshake that failed verification (BoringSSL's
 * packed error as Envoy prints it).
 */
export const TLS_CERTIFICATE_VERIFY_FAILED = "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end";
