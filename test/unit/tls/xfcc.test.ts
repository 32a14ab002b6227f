// x-forwarded-client-cert mutation in isolation: every forward_client_cert_details value, the
// detail order Envoy uses (Cert, Chain, Subject, URI, DNS) whatever order the config lists, the
// empty-URI and multi-SAN cases, and repeated incoming headers under APPEND_FORWARD.

import { describe, expect, it } from "vitest";
import type { HttpConnectionManager } from "../../../src/config/model/types.js";
import type { DownstreamTlsInfo } from "../../../src/listener/connection-info.js";
import { HeaderList } from "../../../src/http/header-list.js";
import { compileXfcc, mutateXfcc } from "../../../src/http/xfcc.js";

const tls = (over: Partial<NonNullable<DownstreamTlsInfo["peerCertificate"]>> = {}): DownstreamTlsInfo => ({
  version: "TLSv1.3",
  cipher: "TLS_AES_128_GCM_SHA256",
  alpn: "",
  sni: "",
  sessionReused: false,
  localUriSans: ["spiffe://td/ns/a/sa/server"],
  peerCertificate: { uriSans: ["spiffe://td/ns/b/sa/client"], dnsSans: [], subject: "", sha256: "ab12", serial: "01", pem: "-----BEGIN CERTIFICATE-----\nQUJD+/=\n-----END CERTIFICATE-----\n", ...over },
  peerPrincipal: "td/ns/b/sa/client",
});

function hcm(mode: HttpConnectionManager["forwardClientCertDetails"], details: HttpConnectionManager["setCurrentClientCertDetails"] = {}): ReturnType<typeof compileXfcc> {
  return compileXfcc({ statPrefix: "s", routeConfigName: "r", httpFilters: [], ...(mode !== undefined ? { forwardClientCertDetails: mode } : {}), setCurrentClientCertDetails: details });
}

function run(cfg: ReturnType<typeof compileXfcc>, t: DownstreamTlsInfo | undefined, incoming: string[] = []): string[] {
  const h = new HeaderList();
  for (const v of incoming) h.add("X-Forwarded-Client-Cert", v);
  mutateXfcc(h, cfg, t);
  return h.getAll("x-forwarded-client-cert");
}

describe("mutateXfcc", () => {
  it("details in Envoy's order whatever the config's key order; URI= even without a URI SAN; each DNS SAN", () => {
    const cfg = hcm("SANITIZE_SET", { dns: true, uri: true, subject: true, chain: true, cert: true });
    const pemEnc = "-----BEGIN%20CERTIFICATE-----%0AQUJD%2B%2F%3D%0A-----END%20CERTIFICATE-----%0A";
    expect(run(cfg, tls({ uriSans: [], dnsSans: ["a.example", "b.example"], subject: "CN=client,O=mesh" }))).toEqual([
      `By=spiffe://td/ns/a/sa/server;Hash=ab12;Cert="${pemEnc}";Chain="${pemEnc}";Subject="CN=client,O=mesh";URI=;DNS=a.example;DNS=b.example`,
    ]);
  });

  it("APPEND_FORWARD joins repeated incoming headers and appends with ','", () => {
    expect(run(hcm("APPEND_FORWARD", { uri: true }), tls(), ["By=x", "By=y"])).toEqual(["By=x,By=y,By=spiffe://td/ns/a/sa/server;Hash=ab12;URI=spiffe://td/ns/b/sa/client"]);
  });

  it("no local URI SAN: no By=; several: one By= each", () => {
    expect(run(hcm("SANITIZE_SET"), { ...tls(), localUriSans: [] })).toEqual(["Hash=ab12"]);
    expect(run(hcm("SANITIZE_SET"), { ...tls(), localUriSans: ["spiffe://a", "spiffe://b"] })).toEqual(["By=spiffe://a;By=spiffe://b;Hash=ab12"]);
  });

  it("absent mode is SANITIZE; TLS without a client certificate removes it in every mode but ALWAYS_FORWARD_ONLY", () => {
    expect(run(hcm(undefined), tls(), ["By=forged"])).toEqual([]);
    const { peerCertificate: _peer, ...noPeer } = tls();
    void _peer;
    for (const m of ["FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET"] as const) expect(run(hcm(m), noPeer, ["By=forged"])).toEqual([]);
    expect(run(hcm("ALWAYS_FORWARD_ONLY"), undefined, ["By=up"])).toEqual(["By=up"]);
    expect(run(hcm("FORWARD_ONLY"), tls(), ["By=up"])).toEqual(["By=up"]);
  });

  it("the element is made once per certificate and reused, per local identity and per certificate", () => {
    const cfg = hcm("SANITIZE_SET", { uri: true });
    const t = tls();
    expect(run(cfg, t)).toEqual(["By=spiffe://td/ns/a/sa/server;Hash=ab12;URI=spiffe://td/ns/b/sa/client"]);
    // Another connection presenting the same certificate (the factory shares its facts object).
    expect(run(cfg, { ...t })).toEqual(["By=spiffe://td/ns/a/sa/server;Hash=ab12;URI=spiffe://td/ns/b/sa/client"]);
    // The same certificate on a chain with another local identity gets its own By=.
    expect(run(cfg, { ...t, localUriSans: ["spiffe://td/ns/a/sa/other"] })).toEqual(["By=spiffe://td/ns/a/sa/other;Hash=ab12;URI=spiffe://td/ns/b/sa/client"]);
    // Another certificate gets its own element.
    expect(run(cfg, tls({ sha256: "cd34", uriSans: ["spiffe://td/ns/c/sa/x"] }))).toEqual(["By=spiffe://td/ns/a/sa/server;Hash=cd34;URI=spiffe://td/ns/c/sa/x"]);
    // APPEND_FORWARD still appends the cached element to what arrived.
    const append = hcm("APPEND_FORWARD", { uri: true });
    expect(run(append, t, ["By=x"])).toEqual(["By=x,By=spiffe://td/ns/a/sa/server;Hash=ab12;URI=spiffe://td/ns/b/sa/client"]);
    expect(run(append, t, ["By=y"])).toEqual(["By=y,By=spiffe://td/ns/a/sa/server;Hash=ab12;URI=spiffe://td/ns/b/sa/client"]);
  });
});

describe("mutateXfcc Chain", () => {
  it("is the connection's chain (one leaf, two chains: two elements), made once per connection", () => {
    const cfg = hcm("SANITIZE_SET", { chain: true });
    const peer = tls().peerCertificate!;
    let reads = 0;
    const conn = (chain: string): DownstreamTlsInfo => ({
      ...tls(),
      peerCertificate: peer,
      get peerChainPem() {
        reads++;
        return chain;
      },
    });
    const a = conn("A\n");
    const b = conn("B\n");
    expect(run(cfg, a)).toEqual(['By=spiffe://td/ns/a/sa/server;Hash=ab12;Chain="A%0A"']);
    expect(run(cfg, a)).toEqual(['By=spiffe://td/ns/a/sa/server;Hash=ab12;Chain="A%0A"']);
    expect(run(cfg, b)).toEqual(['By=spiffe://td/ns/a/sa/server;Hash=ab12;Chain="B%0A"']);
    expect(reads).toBe(2);
    // No chain known (plain info): the leaf alone.
    expect(run(cfg, tls())).toEqual([`By=spiffe://td/ns/a/sa/server;Hash=ab12;Chain="${encodeURIComponent(peer.pem)}"`]);
  });
});
