// x-forwarded-client-cert as Envoy's HTTP connection manager writes it
// (ConnectionManagerUtility::mutateXfccRequestHeader), before any HTTP filter runs:
// ALWAYS_FORWARD_ONLY keeps the header as it came; SANITIZE (the default) and every connection
// without a client certificate remove it; FORWARD_ONLY keeps it; APPEND_FORWARD appends this hop's
// element after `,`; SANITIZE_SET replaces it. This hop's element: `By=<our URI SAN>` (each),
// `Hash=<hex sha256 of the client certificate>`, then the set_current_client_cert_details fields
// in Envoy's order Cert, Chain, Subject, URI, DNS — e.g. istiod's inbound
// `By=spiffe://cluster.local/ns/shop/sa/reviews;Hash=…;Subject="";URI=spiffe://cluster.local/ns/shop/sa/productpage`.

import type { ForwardClientCertDetails, HttpConnectionManager } from "../config/model/types.js";
import type { DownstreamTlsInfo, PeerCertificateInfo } from "../listener/connection-info.js";
import type { HeaderList } from "./header-list.js";

export const XFCC = "x-forwarded-client-cert";

type Detail = "Cert" | "Chain" | "Subject" | "URI" | "DNS";

/** An HCM's XFCC handling, compiled once per snapshot. */
export interface XfccConfig {
  mode: ForwardClientCertDetails;
  details: readonly Detail[];
  /**
   * This hop's element per peer certificate (with the `By=` list it was made with): the downstream
   * TLS factory shares one PeerCertificateInfo among the connections presenting the same
   * certificate, so the element (a URL-encoded PEM with `Cert`) is built once, not per request.
   */
  elements: WeakMap<PeerCertificateInfo, { by: readonly string[]; value: string }>;
  /** `Chain` is configured: elements are per connection (its chain), in connectionElements. */
  chain: boolean;
  connectionElements: WeakMap<DownstreamTlsInfo, string>;
}

export function compileXfcc(hcm: HttpConnectionManager): XfccConfig {
  const s = hcm.setCurrentClientCertDetails ?? {};
  const details: Detail[] = [];
  if (s.cert === true) details.push("Cert");
  if (s.chain === true) details.push("Chain");
  if (s.subject === true) details.push("Subject");
  if (s.uri === true) details.push("URI");
  if (s.dns === true) details.push("DNS");
  return { mode: hcm.forwardClientCertDetails ?? "SANITIZE", details, elements: new WeakMap(), chain: s.chain === true, connectionElements: new WeakMap() };
}

/** Applies the HCM's XFCC handling to a request's headers on a connection with `tls` (undefined = plaintext). */
export function mutateXfcc(headers: HeaderList, cfg: XfccConfig, tls: DownstreamTlsInfo | undefined): void {
  const mode = cfg.mode;
  if (mode === "ALWAYS_FORWARD_ONLY") return;
  const peer = tls?.peerCertificate;
  if (mode === "SANITIZE" || peer === undefined) {
    headers.remove(XFCC);
    return;
  }
  if (mode === "FORWARD_ONLY") return;
  const by = tls!.localUriSans;
  let value: string;
  if (cfg.chain) {
    // The chain is the connection's (two clients may send one leaf with different intermediates):
    // the element is made once per connection, not per certificate.
    let v = cfg.connectionElements.get(tls!);
    if (v === undefined) cfg.connectionElements.set(tls!, (v = element(cfg.details, by, peer, tls!.peerChainPem || peer.pem)));
    value = v;
  } else {
    let e = cfg.elements.get(peer);
    if (e === undefined || e.by !== by) cfg.elements.set(peer, (e = { by, value: element(cfg.details, by, peer) }));
    value = e.value;
  }
  if (mode === "APPEND_FORWARD") {
    // Envoy's appendForwardedClientCert: onto the existing value (all instances joined) with ",".
    const existing = headers.getJoined(XFCC);
    if (existing !== undefined && existing !== "") {
      headers.set(XFCC, `${existing},${value}`);
      return;
    }
  }
  headers.set(XFCC, value);
}

/** This hop's element: `By=…;Hash=…` then the configured details. */
function element(details: readonly Detail[], localUriSans: readonly string[], peer: PeerCertificateInfo, chainPem = peer.pem): string {
  const parts: string[] = [];
  for (const by of localUriSans) parts.push(`By=${by}`);
  if (peer.sha256 !== "") parts.push(`Hash=${peer.sha256}`);
  for (const d of details) {
    switch (d) {
      case "Cert":
        if (peer.pem !== "") parts.push(`Cert="${encodeURIComponent(peer.pem)}"`);
        break;
      case "Chain":
        // The certificates the client sent, leaf first (the leaf alone when the chain is unknown).
        if (chainPem !== "") parts.push(`Chain="${encodeURIComponent(chainPem)}"`);
        break;
      case "Subject":
        // Present even when the subject is empty (Istio workload certificates): `Subject=""`.
        parts.push(`Subject="${peer.subject}"`);
        break;
      case "URI":
        if (peer.uriSans.length === 0) parts.push("URI=");
        else for (const u of peer.uriSans) parts.push(`URI=${u}`);
        break;
      case "DNS":
        for (const n of peer.dnsSans) parts.push(`DNS=${n}`);
        break;
    }
  }
  return parts.join(";");
}
