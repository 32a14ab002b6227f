// The checks Envoy's DefaultCertValidator runs on a downstream peer, in its order, after the
// handshake (Node is told never to reject, so refusals are counted and explained here):
// no certificate → fail_verify_no_cert when one is required (else the connection goes on without a
// peer); trust chain to the trusted CA (OpenSSL's own chain building: the peer may send
// intermediates and the root) → fail_verify_error; SAN matchers → fail_verify_san.
// Everything after the chain check depends only on the certificate and the factory's matchers, so it
// is computed once per certificate (PeerVerificationCache, keyed by the SHA-256 fingerprint OpenSSL
// computes natively) and shared by every connection presenting it: callers must not mutate it.

import type { TLSSocket } from "node:tls";
import type { PeerCertificateInfo } from "../listener/connection-info.js";
import type { X509Certificate } from "node:crypto";
import type { PeerVerificationCache } from "./peer-verification-cache.js";
import { peerCertificateInfo, sansMatch, spiffePrincipal, parseSubjectAltNames, type ResolvedTlsContext } from "./tls-context.js";

export interface DownstreamVerification {
  failure?: { reason: string; counter: "failVerifyNoCert" | "failVerifyError" | "failVerifySan" };
  peer?: PeerCertificateInfo;
  principal?: string;
}

export function verifyDownstreamPeer(tls: TLSSocket, ctx: ResolvedTlsContext, requireClientCert: boolean, cache?: PeerVerificationCache): DownstreamVerification {
  const validation = ctx.validation;
  const x509 = validation !== undefined ? tls.getPeerX509Certificate() : undefined;
  if (x509 === undefined) {
    if (requireClientCert) return { failure: { reason: "the client sent no certificate and one is required", counter: "failVerifyNoCert" } };
    return {};
  }
  if (validation!.verifyTrustChain) {
    if (validation!.trustedCa === "") return { failure: { reason: "no trusted CA to verify the client certificate against", counter: "failVerifyError" } };
    // `authorized` is only computed for sockets of a tls.Server; ask OpenSSL's verify result directly.
    const err = (tls as unknown as { ssl: { verifyError(): Error | null } | null }).ssl?.verifyError() ?? null;
    if (err !== null) return { failure: { reason: `client certificate verification failed: ${err.message}`, counter: "failVerifyError" } };
  }
  if (cache === undefined) return checkCertificate(x509, validation!);
  const fingerprint = x509.fingerprint256;
  let v = cache.get(fingerprint);
  if (v === undefined) cache.set(fingerprint, (v = checkCertificate(x509, validation!)));
  return v;
}

/** The certificate's facts and the SAN matchers' verdict (the same for every connection presenting it). */
function checkCertificate(x509: X509Certificate, validation: NonNullable<ResolvedTlsContext["validation"]>): DownstreamVerification {
  const { x509: _x509, ...peer } = peerCertificateInfo(x509.raw);
  void _x509;
  if (!sansMatch(validation, peer, parseSubjectAltNames(x509.subjectAltName).ip)) {
    return { failure: { reason: `client certificate SANs (${x509.subjectAltName ?? "none"}) match none of the subject alt name matchers`, counter: "failVerifySan" } };
  }
  const principal = spiffePrincipal(peer.uriSans);
  return principal !== undefined ? { peer, principal } : { peer };
}
