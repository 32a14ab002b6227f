// The certificate chain a TLS peer presented, leaf first, in PEM (Envoy's
// urlEncodedPemEncodedPeerCertificateChain before the URL encoding: XFCC `Chain=`).

import type { TLSSocket, DetailedPeerCertificate } from "node:tls";

function pem(der: Buffer): string {
  const b64 = der.toString("base64");
  let out = "-----BEGIN CERTIFICATE-----\n";
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END CERTIFICATE-----\n`;
}

/**
 * The peer's chain: the leaf, then each issuer Node links (OpenSSL's SSL_get_peer_cert_chain, the
 * certificates the peer sent, completed by Node up to a self-signed root from the trust store when
 * the peer did not send the root). "" without a peer certificate.
 */
export function peerChainPem(tls: TLSSocket): string {
  let cert: DetailedPeerCertificate | undefined = tls.getPeerCertificate(true);
  if (cert === undefined || cert.raw === undefined) return "";
  let out = "";
  const seen = new Set<DetailedPeerCertificate>();
  while (cert !== undefined && cert.raw !== undefined && !seen.has(cert)) {
    seen.add(cert);
    out += pem(cert.raw);
    // A self-signed root is its own issuer (Node links it to itself).
    cert = cert.issuerCertificate;
  }
  return out;
}
