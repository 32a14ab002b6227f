// peerChainPem walks Node's issuerCertificate links from the leaf, stops at the self-linked root,
// and writes each certificate as PEM (64-column base64, as X509Certificate.toString()).

import { describe, expect, it } from "vitest";
import { X509Certificate } from "node:crypto";
import type { TLSSocket } from "node:tls";
import { peerChainPem } from "../../../src/tls/peer-chain-pem.js";
import { issueLeaf, makeIntermediateCa, makeRootCa, pkiDir } from "../../helpers/pki.js";

describe("peerChainPem", () => {
  const dir = pkiDir();
  const root = makeRootCa(dir);
  const inter = makeIntermediateCa(root);
  const leaf = issueLeaf(inter, { spiffe: "spiffe://td/ns/a/sa/b" });
  const raw = (pem: string): Buffer => new X509Certificate(pem).raw;
  const sock = (chain: unknown): TLSSocket => ({ getPeerCertificate: () => chain }) as unknown as TLSSocket;

  it("leaf, intermediate, root (self-linked) in order", () => {
    const r: Record<string, unknown> = { raw: raw(root.certPem) };
    r.issuerCertificate = r;
    const i = { raw: raw(inter.certPem), issuerCertificate: r };
    const l = { raw: raw(leaf.certPem), issuerCertificate: i };
    const want = [leaf.certPem, inter.certPem, root.certPem].map((p) => new X509Certificate(p).toString()).join("");
    expect(peerChainPem(sock(l))).toBe(want);
  });

  it("the leaf alone when Node links no issuer; '' without a peer certificate", () => {
    expect(peerChainPem(sock({ raw: raw(leaf.certPem) }))).toBe(new X509Certificate(leaf.certPem).toString());
    expect(peerChainPem(sock({}))).toBe("");
  });
});
