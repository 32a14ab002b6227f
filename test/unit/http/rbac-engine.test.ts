// The RBAC engine on hand-made connections and requests: principals from the peer certificate
// (mTLS facts as the TLS transport fills them), JWT facts from StreamInfo.requestAuth, addresses,
// ports, SNI, headers; and the policies istiod generates from AuthorizationPolicy rules.

import { describe, expect, it } from "vitest";
import { buildRbacRules, type ParsedAuthorizationPolicy } from "../../../src/config/istio/authorization-policy.js";
import type { AuthzRule } from "../../../src/config/istio/authz-rbac-builder.js";
import type { RbacRules } from "../../../src/config/model/rbac.js";
import { RbacEngine, RbacInput } from "../../../src/http/filters/rbac/rbac-engine.js";
import { HeaderList } from "../../../src/http/header-list.js";
import type { ConnectionInfo } from "../../../src/listener/connection-info.js";
import type { RequestAuthInfo } from "../../../src/observability/stream-info.js";

function conn(over: Partial<ConnectionInfo> = {}, spiffe?: string): ConnectionInfo {
  return {
    remoteIp: "10.0.0.5",
    remotePort: 40000,
    directRemoteIp: "10.0.0.5",
    localIp: "10.0.0.9",
    localPort: 8080,
    serverName: "",
    transportProtocol: spiffe === undefined ? "raw_buffer" : "tls",
    applicationProtocols: [],
    ...(spiffe !== undefined
      ? {
          tls: {
            version: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
            alpn: "istio-http/1.1",
            sni: "outbound_.8080_._.httpbin.foo.svc.cluster.local",
            sessionReused: false,
            localUriSans: ["spiffe://cluster.local/ns/foo/sa/httpbin"],
            peerCertificate: { uriSans: [spiffe], dnsSans: [], subject: "O=cluster.local", sha256: "00", serial: "01", pem: "" },
            peerPrincipal: spiffe.replace(/^spiffe:\/\//, ""),
          },
        }
      : {}),
    ...over,
  };
}

function req(method: string, path: string, authority = "httpbin.foo:8000", headers: Array<[string, string]> = []) {
  const h = new HeaderList();
  for (const [k, v] of headers) h.add(k, v);
  return { method, path, authority, scheme: "http" as const, headers: h };
}

const jwt: RequestAuthInfo = {
  principal: "testing@secure.istio.io/testing@secure.istio.io",
  issuer: "testing@secure.istio.io",
  subject: "testing@secure.istio.io",
  audiences: ["a1", "a2"],
  presenter: "",
  claims: { groups: ["group1", "group2"], scope: "read", nested: { key: "v" } },
};

function engineFor(action: "ALLOW" | "DENY", rules: AuthzRule[], forTCP = false): RbacEngine {
  const p: ParsedAuthorizationPolicy = { ref: { kind: "AuthorizationPolicy", name: "p", namespace: "foo", file: "t.yaml" }, action, rules };
  return new RbacEngine(buildRbacRules([p], action, forTCP)!);
}
const rule = (r: Partial<AuthzRule>): AuthzRule => ({ from: [], to: [], when: [], ...r });

describe("RBAC engine", () => {
  const input = new RbacInput();
  const http = (c: ConnectionInfo, r = req("GET", "/"), auth?: RequestAuthInfo) => input.resetRequest(c, r, c.remoteIp, auth);

  it("principals: the peer certificate's first URI SAN (spiffe://…), exact / prefix / suffix / any; plaintext never matches", () => {
    const e = engineFor("ALLOW", [rule({ from: [{ principals: ["cluster.local/ns/default/sa/sleep"] }] })]);
    expect(e.evaluate(http(conn({}, "spiffe://cluster.local/ns/default/sa/sleep")))).toEqual({ allowed: true, policy: "ns[foo]-policy[p]-rule[0]" });
    expect(e.evaluate(http(conn({}, "spiffe://cluster.local/ns/default/sa/other"))).allowed).toBe(false);
    expect(e.evaluate(http(conn())).allowed).toBe(false);
    const wild = engineFor("ALLOW", [rule({ from: [{ principals: ["*"] }] })]);
    expect(wild.evaluate(http(conn({}, "spiffe://x/ns/y/sa/z"))).allowed).toBe(true);
    expect(wild.evaluate(http(conn())).allowed).toBe(false);
    const suffix = engineFor("ALLOW", [rule({ from: [{ principals: ["*/sa/sleep"] }] })]);
    expect(suffix.evaluate(http(conn({}, "spiffe://cluster.local/ns/a/sa/sleep"))).allowed).toBe(true);
    expect(suffix.evaluate(http(conn({}, "spiffe://cluster.local/ns/a/sa/sleepy"))).allowed).toBe(false);
    const not = engineFor("DENY", [rule({ from: [{ notPrincipals: ["cluster.local/ns/default/*"] }] })]);
    expect(not.evaluate(http(conn({}, "spiffe://cluster.local/ns/default/sa/a"))).allowed).toBe(true);
    expect(not.evaluate(http(conn({}, "spiffe://cluster.local/ns/evil/sa/a"))).allowed).toBe(false);
    // notPrincipals also denies plaintext (no principal is "not" any listed one).
    expect(not.evaluate(http(conn())).allowed).toBe(false);
  });

  it("namespaces (and wildcards) match the principal's /ns/<ns>/ segment", () => {
    const e = engineFor("ALLOW", [rule({ from: [{ namespaces: ["prod-*"] }] })]);
    expect(e.evaluate(http(conn({}, "spiffe://cluster.local/ns/prod-eu/sa/a"))).allowed).toBe(true);
    expect(e.evaluate(http(conn({}, "spiffe://cluster.local/ns/dev/sa/a"))).allowed).toBe(false);
    const w = engineFor("ALLOW", [rule({ when: [{ key: "source.namespace", values: ["dev"] }] })]);
    expect(w.evaluate(http(conn({}, "spiffe://cluster.local/ns/dev/sa/a"))).allowed).toBe(true);
  });

  it("request principals, audiences, presenter and claims (nested, list or string) from StreamInfo.requestAuth; none without a JWT", () => {
    const e = engineFor("ALLOW", [rule({ from: [{ requestPrincipals: ["testing@secure.istio.io/*"] }], when: [{ key: "request.auth.claims[groups]", values: ["group1"] }] })]);
    expect(e.evaluate(http(conn(), req("GET", "/"), jwt)).allowed).toBe(true);
    expect(e.evaluate(http(conn(), req("GET", "/"))).allowed).toBe(false);
    expect(e.evaluate(http(conn(), req("GET", "/"), { ...jwt, claims: { groups: ["group2"] } })).allowed).toBe(false);
    const aud = engineFor("ALLOW", [rule({ when: [{ key: "request.auth.audiences", values: ["a2"] }] })]);
    expect(aud.evaluate(http(conn(), req("GET", "/"), jwt)).allowed).toBe(true);
    const presenter = engineFor("ALLOW", [rule({ when: [{ key: "request.auth.presenter", values: ["*"] }] })]);
    expect(presenter.evaluate(http(conn(), req("GET", "/"), jwt)).allowed).toBe(false);
    expect(presenter.evaluate(http(conn(), req("GET", "/"), { ...jwt, presenter: "client" })).allowed).toBe(true);
    const scope = engineFor("ALLOW", [rule({ when: [{ key: "request.auth.claims[scope]", values: ["read"] }, { key: "request.auth.claims[nested][key]", values: ["v"] }] })]);
    expect(scope.evaluate(http(conn(), req("GET", "/"), jwt)).allowed).toBe(true);
    const anyJwt = engineFor("ALLOW", [rule({ from: [{ requestPrincipals: ["*"] }] })]);
    expect(anyJwt.evaluate(http(conn(), req("GET", "/"))).allowed).toBe(false);
    expect(anyJwt.evaluate(http(conn(), req("GET", "/"), jwt)).allowed).toBe(true);
  });

  it("operations: methods, paths without the query, hosts case-insensitively, ports; headers from when", () => {
    const e = engineFor("ALLOW", [rule({ to: [{ methods: ["GET"], paths: ["/api/*"], hosts: ["HTTPBIN.foo:8000"], ports: ["8080"] }], when: [{ key: "request.headers[x-token]", values: ["admin"] }] })]);
    const tok: Array<[string, string]> = [["x-token", "admin"]];
    expect(e.evaluate(http(conn(), req("GET", "/api/x?q=/other", "httpbin.FOO:8000", tok))).allowed).toBe(true);
    expect(e.evaluate(http(conn(), req("POST", "/api/x", "httpbin.foo:8000", tok))).allowed).toBe(false);
    expect(e.evaluate(http(conn(), req("GET", "/other?/api/", "httpbin.foo:8000", tok))).allowed).toBe(false);
    expect(e.evaluate(http(conn(), req("GET", "/api/x", "other:8000", tok))).allowed).toBe(false);
    expect(e.evaluate(http(conn({ localPort: 9090 }), req("GET", "/api/x", "httpbin.foo:8000", tok))).allowed).toBe(false);
    expect(e.evaluate(http(conn(), req("GET", "/api/x", "httpbin.foo:8000"))).allowed).toBe(false);
  });

  it("addresses: ipBlocks on the socket peer, remoteIpBlocks on the client address, destination.ip on the local address; SNI", () => {
    const src = engineFor("ALLOW", [rule({ from: [{ ipBlocks: ["10.0.0.0/24"] }] })]);
    expect(src.evaluate(http(conn())).allowed).toBe(true);
    expect(src.evaluate(http(conn({ directRemoteIp: "10.0.1.5" }))).allowed).toBe(false);
    const remote = engineFor("ALLOW", [rule({ from: [{ remoteIpBlocks: ["192.168.0.1"] }] })]);
    expect(remote.evaluate(input.resetRequest(conn(), req("GET", "/"), "192.168.0.1", undefined)).allowed).toBe(true);
    expect(remote.evaluate(input.resetRequest(conn(), req("GET", "/"), "192.168.0.2", undefined)).allowed).toBe(false);
    // The last x-forwarded-for entry is the client address (use_remote_address false, no trusted hops).
    expect(remote.evaluate(http(conn(), req("GET", "/", "h", [["x-forwarded-for", "8.8.8.8, 192.168.0.1"]]))).allowed).toBe(true);
    expect(remote.evaluate(http(conn(), req("GET", "/", "h", [["x-forwarded-for", "192.168.0.1, 8.8.8.8"]]))).allowed).toBe(false);
    // ipBlocks stay on the socket peer whatever x-forwarded-for says.
    expect(src.evaluate(http(conn(), req("GET", "/", "h", [["x-forwarded-for", "1.1.1.1"]]))).allowed).toBe(true);
    const dst = engineFor("ALLOW", [rule({ when: [{ key: "destination.ip", values: ["10.0.0.9"] }, { key: "destination.port", values: ["8080"] }] })]);
    expect(dst.evaluate(http(conn())).allowed).toBe(true);
    expect(dst.evaluate(http(conn({ localIp: "10.0.0.8" }))).allowed).toBe(false);
    const sni = engineFor("ALLOW", [rule({ when: [{ key: "connection.sni", values: ["*.svc.cluster.local"] }] })]);
    expect(sni.evaluate(http(conn({}, "spiffe://a/ns/b/sa/c"))).allowed).toBe(true);
    expect(sni.evaluate(http(conn())).allowed).toBe(false);
  });

  it("network checks: header and metadata matchers never match; first matching policy is reported", () => {
    const rules: RbacRules = {
      action: "DENY",
      policies: {
        hdr: { permissions: [{ header: { name: ":method", presentMatch: true } }], principals: [{ any: true }] },
        port: { permissions: [{ destinationPort: 8080 }], principals: [{ any: true }] },
      },
    };
    const e = new RbacEngine(rules);
    expect(e.evaluate(input.resetConnection(conn()))).toEqual({ allowed: false, policy: "port" });
    expect(e.evaluate(http(conn()))).toEqual({ allowed: false, policy: "hdr" });
  });

  it("refuses what it cannot evaluate with the policy's name", () => {
    expect(() => new RbacEngine({ action: "ALLOW", policies: { p: { permissions: [{ metadata: { filter: "envoy.filters.http.jwt_authn", path: ["x"], value: { presentMatch: true } } }], principals: [{ any: true }] } } })).toThrow(
      'rbac policy p: metadata matcher on filter "envoy.filters.http.jwt_authn" is not supported (only istio_authn)',
    );
    expect(() => new RbacEngine({ action: "ALLOW", policies: { p: { permissions: [{}], principals: [{ any: true }] } } })).toThrow("rbac policy p: permission has no rule set");
  });
});
