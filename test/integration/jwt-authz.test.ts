// RequestAuthentication + AuthorizationPolicy together, as in Istio's "require JWT" task: jwt_authn
// verifies the token and fills request.auth, RBAC (after it) requires a request principal and a
// claim. Real filters, real sockets, Istio's sample tokens.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRbacConfigs, type ParsedAuthorizationPolicy } from "../../src/config/istio/authorization-policy.js";
import type { AuthzRule } from "../../src/config/istio/authz-rbac-builder.js";
import { insertHttpFilter } from "../../src/config/istio/http-filter-order.js";
import { buildJwtAuthentication, buildJwtProvider } from "../../src/config/istio/request-authentication.js";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import { HTTP_JWT_AUTHN_FILTER, HTTP_RBAC_FILTER, type Snapshot } from "../../src/config/model/types.js";
import { hcmOfListener } from "../helpers/model.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";
import { demoJwt, groupsScopeJwt, ISTIO_ISSUER, istioJwks, signJwt } from "../helpers/jwt-tokens.js";

const policy = (name: string, rules: Array<Partial<AuthzRule>>): ParsedAuthorizationPolicy => ({
  ref: { kind: "AuthorizationPolicy", name, namespace: "foo", file: "t.yaml" },
  action: "ALLOW",
  rules: rules.map((r) => ({ from: [], to: [], when: [], ...r })),
});

describe("jwt_authn then RBAC (Istio's authz-jwt task)", () => {
  let app: EchoUpstream;
  let proxy: TestProxy;

  beforeAll(async () => {
    app = await startEchoUpstream("app");
    const port = await freePort();
    const l = httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" });
    const hcm = hcmOfListener(l);
    insertHttpFilter(hcm, { name: HTTP_JWT_AUTHN_FILTER, typedConfig: buildJwtAuthentication([buildJwtProvider({ issuer: ISTIO_ISSUER, jwks: istioJwks() }, undefined, () => {})]) });
    // authorizationpolicy-require-jwt.yaml + the group1 variant: a principal from the issuer, and on /headers a group claim.
    const [rbac] = buildRbacConfigs(
      [
        policy("require-jwt", [
          { from: [{ requestPrincipals: [`${ISTIO_ISSUER}/${ISTIO_ISSUER}`] }], to: [{ paths: ["/ip"] }] },
          { from: [{ requestPrincipals: [`${ISTIO_ISSUER}/*`] }], to: [{ paths: ["/headers"] }], when: [{ key: "request.auth.claims[groups]", values: ["group1"] }] },
        ]),
      ],
      false,
    );
    insertHttpFilter(hcm, { name: HTTP_RBAC_FILTER, typedConfig: rbac! });
    expect(hcm.httpFilters.map((f) => f.name).indexOf(HTTP_JWT_AUTHN_FILTER)).toBeLessThan(hcm.httpFilters.map((f) => f.name).indexOf(HTTP_RBAC_FILTER));
    const snap: Snapshot = {
      version: "jwt-authz/1",
      listeners: [l],
      routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("r", { route: { cluster: "app" } as never })] }] } },
      clusters: { app: cluster("app", [app.port]) },
    };
    proxy = await startProxy(snap);
  });
  afterAll(async () => {
    await proxy.close();
    await app.close();
  });

  const get = async (path: string, token?: string): Promise<[number, string]> => {
    const r = await fetch(proxy.url(path), token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {});
    return [r.status, await r.text()];
  };

  it("no token: jwt_authn lets it through, RBAC denies it (403 RBAC: access denied)", async () => {
    expect(await get("/ip")).toEqual([403, "RBAC: access denied"]);
  });

  it("a valid token with the required principal reaches the app", async () => {
    expect((await get("/ip", demoJwt()))[0]).toBe(200);
  });

  it("an invalid token is refused by jwt_authn (401) before RBAC", async () => {
    expect(await get("/ip", signJwt({ iss: ISTIO_ISSUER, sub: ISTIO_ISSUER, exp: 1 }))).toEqual([401, "Jwt is expired"]);
  });

  it("a claim condition: groups-scope.jwt (groups [group1, group2]) passes, demo.jwt (no groups) is denied", async () => {
    expect((await get("/headers", groupsScopeJwt()))[0]).toBe(200);
    expect(await get("/headers", demoJwt())).toEqual([403, "RBAC: access denied"]);
  });
});
