// jwt_authn over real sockets: a RequestAuthentication's jwtRules built as istiod builds them,
// in an inbound connection manager in front of an echo upstream; Istio's sample tokens and keys.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildJwtAuthentication, buildJwtProvider, type JwtRule } from "../../src/config/istio/request-authentication.js";
import { insertHttpFilter } from "../../src/config/istio/http-filter-order.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { HTTP_JWT_AUTHN_FILTER, type Snapshot } from "../../src/config/model/types.js";
import { hcmOfListener } from "../helpers/model.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { StatsStore } from "../../src/observability/stats/stats-store.js";
import { ManualTimers } from "../helpers/manual-timers.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { demoJwt, groupsScopeJwt, ISTIO_ISSUER, istioJwks, keyPair, signJwt } from "../helpers/jwt-tokens.js";

const NOW_S = Date.UTC(2026, 0, 1) / 1000;

async function jwtSnapshot(upstreamPort: number, rules: JwtRule[], pendingUri?: string): Promise<Snapshot> {
  const port = await freePort();
  const l = httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" });
  const providers = rules.map((r) => buildJwtProvider(r, pendingUri !== undefined ? { lookup: () => ({ pending: "first fetch in progress" }) } : undefined, () => {}));
  insertHttpFilter(hcmOfListener(l), { name: HTTP_JWT_AUTHN_FILTER, typedConfig: buildJwtAuthentication(providers) });
  return {
    version: "jwt/1",
    listeners: [l],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "app" } as never })] }] } },
    clusters: { app: cluster("app", [upstreamPort]) },
  };
}

interface Reply {
  status: number;
  body: string;
  headers: Headers;
}

async function get(proxy: TestProxy, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(proxy.url(path), { headers });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe("jwt_authn (RequestAuthentication) on an inbound listener", () => {
  let app: EchoUpstream;
  let proxy: TestProxy;
  const timers = new ManualTimers();
  const stats = new StatsStore();
  let snap: Snapshot;
  const ec = keyPair("ec256", "ec-1");
  const ed = keyPair("ed25519", "ed-1");

  beforeAll(async () => {
    app = await startEchoUpstream("app");
    const rules: JwtRule[] = [
      { issuer: ISTIO_ISSUER, jwks: istioJwks(), outputPayloadToHeader: "x-jwt-payload", outputClaimToHeaders: [{ header: "x-jwt-foo", claim: "foo" }, { header: "x-jwt-nested", claim: "a.b" }] },
      { issuer: "aud@example.com", audiences: ["https://api.example.com/"], jwks: istioJwks(), forwardOriginalToken: true },
      { issuer: "ec@example.com", jwks: JSON.stringify({ keys: [ec.jwk, ed.jwk] }), fromHeaders: [{ name: "x-jwt", prefix: "Token " }], fromParams: ["tok"], fromCookies: ["session"] },
    ];
    snap = await jwtSnapshot(app.port, rules);
    proxy = await startProxy(snap, { timers, clock: timers, runtime: { stats } });
  });
  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  const last = () => app.requests[app.requests.length - 1]!;

  it("passes Istio's demo token, removes it, and sets request.auth and the payload/claim headers", async () => {
    const n = app.requests.length;
    const r = await get(proxy, "/ok", { authorization: `Bearer ${demoJwt()}` });
    expect(r.status).toBe(200);
    expect(app.requests.length).toBe(n + 1);
    const h = last().headers;
    expect(h["authorization"]).toBeUndefined();
    expect(h["x-jwt-payload"]).toBe(demoJwt().split(".")[1]);
    expect(h["x-jwt-foo"]).toBe("bar");
    const si = proxy.streams[proxy.streams.length - 1]!;
    expect(si.requestAuth).toMatchObject({ principal: `${ISTIO_ISSUER}/${ISTIO_ISSUER}`, issuer: ISTIO_ISSUER, subject: ISTIO_ISSUER, audiences: [], presenter: "" });
    expect(si.requestAuth?.claims["foo"]).toBe("bar");
  });

  it("copies nested and non-string claims into headers, and skips object claims", async () => {
    const tok = signJwt({ iss: ISTIO_ISSUER, sub: "s", foo: 7, a: { b: "deep" } });
    expect((await get(proxy, "/claims", { authorization: `Bearer ${tok}` })).status).toBe(200);
    expect(last().headers["x-jwt-foo"]).toBe("7");
    expect(last().headers["x-jwt-nested"]).toBe("deep");
    const tok2 = signJwt({ iss: ISTIO_ISSUER, sub: "s", a: { b: { c: 1 } } });
    expect((await get(proxy, "/claims2", { authorization: `Bearer ${tok2}`, "x-jwt-nested": "client" })).status).toBe(200);
    expect(last().headers["x-jwt-nested"]).toBeUndefined();
  });

  it("removes client-sent payload and claim headers (only a verified token sets them), with or without a token", async () => {
    await get(proxy, "/spoof", { "x-jwt-payload": "forged", "x-jwt-foo": "forged", "x-other": "kept" });
    expect(last().headers["x-jwt-payload"]).toBeUndefined();
    expect(last().headers["x-jwt-foo"]).toBeUndefined();
    expect(last().headers["x-other"]).toBe("kept");
    await get(proxy, "/spoof2", { authorization: `Bearer ${demoJwt()}`, "x-jwt-payload": "forged" });
    expect(last().headers["x-jwt-payload"]).toBe(demoJwt().split(".")[1]);
  });

  it("passes the groups-scope token with list claims in request.auth.claims; a space-delimited scope becomes a list", async () => {
    const r = await get(proxy, "/groups", { authorization: `Bearer ${groupsScopeJwt()}` });
    expect(r.status).toBe(200);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth?.claims["groups"]).toEqual(["group1", "group2"]);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth?.claims["scope"]).toEqual(["scope1", "scope2"]);
    expect((await get(proxy, "/scope", { authorization: `Bearer ${signJwt({ iss: ISTIO_ISSUER, sub: "s", scope: "read  write", permission: "p1 p2", other: "a b" })}` })).status).toBe(200);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth?.claims).toMatchObject({ scope: ["read", "write"], permission: ["p1", "p2"], other: "a b" });
  });

  it("lets a request without a token through to authorization, with no request.auth", async () => {
    const r = await get(proxy, "/none");
    expect(r.status).toBe(200);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth).toBeUndefined();
    // A header without the Bearer prefix is no token either.
    expect((await get(proxy, "/basic", { authorization: "Basic Zm9vOmJhcg==" })).status).toBe(200);
  });

  async function denied(path: string, headers: Record<string, string>, status: number, body: string): Promise<void> {
    const n = app.requests.length;
    const r = await get(proxy, path, headers);
    expect(r.status).toBe(status);
    expect(r.body).toBe(body);
    expect(r.headers.get("www-authenticate")).toBe(`Bearer realm="http://127.0.0.1:${proxy.port}${path}", error="invalid_token"`);
    expect(app.requests.length).toBe(n);
    const si = proxy.streams[proxy.streams.length - 1]!;
    expect(si.responseCodeDetails).toBe(`jwt_authn_access_denied{${body.replace(/ /g, "_")}}`);
    expect(si.requestAuth).toBeUndefined();
  }

  it("refuses a token with a bad signature: 401 Jwt verification fails", async () => {
    const [h, p] = demoJwt().split(".");
    const other = signJwt({ iss: ISTIO_ISSUER, sub: "x" }).split(".")[2];
    await denied("/bad-sig", { authorization: `Bearer ${h}.${p}.${other}` }, 401, "Jwt verification fails");
  });

  it("refuses an expired token (beyond the 60 s skew) and accepts one within it", async () => {
    await denied("/expired", { authorization: `Bearer ${signJwt({ iss: ISTIO_ISSUER, sub: "s", exp: NOW_S - 61 })}` }, 401, "Jwt is expired");
    expect((await get(proxy, "/skew", { authorization: `Bearer ${signJwt({ iss: ISTIO_ISSUER, sub: "s", exp: NOW_S - 59 })}` })).status).toBe(200);
  });

  it("follows the injected clock: a token valid now is expired once time moves on", async () => {
    const tok = signJwt({ iss: ISTIO_ISSUER, sub: "s", exp: Math.floor(timers.now() / 1000) + 100 });
    expect((await get(proxy, "/later", { authorization: `Bearer ${tok}` })).status).toBe(200);
    timers.advance(200_000);
    await denied("/later", { authorization: `Bearer ${tok}` }, 401, "Jwt is expired");
  });

  it("refuses a token not yet valid: 401 Jwt not yet valid", async () => {
    const now = Math.floor(timers.now() / 1000);
    await denied("/nbf", { authorization: `Bearer ${signJwt({ iss: ISTIO_ISSUER, sub: "s", nbf: now + 120 })}` }, 401, "Jwt not yet valid");
  });

  it("refuses an unknown issuer: 401 Jwt issuer is not configured", async () => {
    await denied("/issuer", { authorization: `Bearer ${signJwt({ iss: "other@example.com", sub: "s" })}` }, 401, "Jwt issuer is not configured");
  });

  it("refuses audiences that are not allowed with 403, accepts a listed one (scheme and trailing slash ignored), keeps the token when forwardOriginalToken", async () => {
    await denied("/aud", { authorization: `Bearer ${signJwt({ iss: "aud@example.com", sub: "s", aud: "other" })}` }, 403, "Audiences in Jwt are not allowed");
    const tok = signJwt({ iss: "aud@example.com", sub: "s", aud: ["x", "api.example.com"], azp: "client-1" });
    expect((await get(proxy, "/aud-ok", { authorization: `Bearer ${tok}` })).status).toBe(200);
    expect(last().headers["authorization"]).toBe(`Bearer ${tok}`);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth).toMatchObject({ audiences: ["x", "api.example.com"], presenter: "client-1" });
  });

  it("refuses malformed tokens with jwt_verify_lib's reasons", async () => {
    await denied("/m1", { authorization: "Bearer abc" }, 401, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    await denied("/m2", { authorization: "Bearer a.b.c" }, 401, "Jwt header is an invalid JSON");
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(`{"iss":"${ISTIO_ISSUER}"}`).toString("base64url")}.`;
    await denied("/none-alg", { authorization: `Bearer ${none}` }, 401, "Jwt header [alg] is not supported");
    await denied("/kid", { authorization: `Bearer ${signJwt({ iss: ISTIO_ISSUER, sub: "s" }, { kid: "unknown-kid" })}` }, 401, "Jwks doesn't have key to match kid or alg from Jwt");
  });

  it("reads ES256 / EdDSA tokens from a custom header prefix, a query parameter and a cookie", async () => {
    const es = signJwt({ iss: "ec@example.com", sub: "e" }, { key: ec.privateKey, alg: "ES256", kid: "ec-1" });
    const edTok = signJwt({ iss: "ec@example.com", sub: "d" }, { key: ed.privateKey, alg: "EdDSA", kid: "ed-1" });
    expect((await get(proxy, "/h", { "x-jwt": `Token ${es}` })).status).toBe(200);
    expect(last().headers["x-jwt"]).toBeUndefined();
    expect((await get(proxy, `/q?tok=${edTok}`)).status).toBe(200);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth?.subject).toBe("d");
    expect((await get(proxy, "/c", { cookie: `a=1; session=${es}` })).status).toBe(200);
    expect(proxy.streams[proxy.streams.length - 1]!.requestAuth?.subject).toBe("e");
    // The ES key's token signed by the Ed25519 key: no key of the right type with that kid.
    await denied("/wrongkey", { "x-jwt": `Token ${signJwt({ iss: "ec@example.com", sub: "e" }, { key: ed.privateKey, alg: "EdDSA", kid: "ec-1" })}` }, 401, "Jwks doesn't have key to match kid or alg from Jwt");
    // A token of this issuer in the Authorization header: that location is not this provider's.
    await denied("/loc", { authorization: `Bearer ${es}` }, 401, "Jwt issuer is not configured");
  });

  it("cuts the realm's path at 256 characters, as Envoy", async () => {
    const long = `/${"p".repeat(300)}`;
    const r = await get(proxy, long, { authorization: "Bearer abc" });
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toBe(`Bearer realm="http://127.0.0.1:${proxy.port}${long.slice(0, 256)}", error="invalid_token"`);
  });

  it("counts allowed (tokens and no tokens), denied and CORS-bypassed requests under http.<stat prefix>.jwt_authn", async () => {
    const prefix = hcmOfListener(snap.listeners[0]!).statPrefix;
    const count = (n: string) => stats.snapshot().counters[`http.${prefix}.jwt_authn.${n}`] ?? 0;
    const [a, d, c] = [count("allowed"), count("denied"), count("cors_preflight_bypassed")];
    await get(proxy, "/s1");
    await get(proxy, "/s2", { authorization: `Bearer ${demoJwt()}` });
    await get(proxy, "/s3", { authorization: "Bearer abc" });
    const res = await fetch(proxy.url("/cors"), { method: "OPTIONS", headers: { origin: "http://a", "access-control-request-method": "GET", authorization: "Bearer abc" } });
    // The preflight passes even with a malformed token.
    expect(res.status).toBe(200);
    expect([count("allowed") - a, count("denied") - d, count("cors_preflight_bypassed") - c]).toEqual([3, 1, 1]);
  });
});

describe("jwt_authn with a jwksUri whose keys are not fetched yet", () => {
  it("lets that issuer's tokens through unverified (never refused for timing), token kept for the app", async () => {
    const app = await startEchoUpstream("app");
    const proxy = await startProxy(await jwtSnapshot(app.port, [{ issuer: ISTIO_ISSUER, jwksUri: "http://127.0.0.1:1/jwks.json" }], "pending"));
    try {
      const r = await get(proxy, "/p", { authorization: `Bearer ${demoJwt()}` });
      expect(r.status).toBe(200);
      expect(app.requests[0]!.headers["authorization"]).toBe(`Bearer ${demoJwt()}`);
      expect(proxy.streams[0]!.requestAuth).toBeUndefined();
      // Other issuers are still unknown.
      expect((await get(proxy, "/o", { authorization: `Bearer ${signJwt({ iss: "other", sub: "s" })}` })).status).toBe(401);
    } finally {
      await proxy.close();
      await app.close();
    }
  });
});
