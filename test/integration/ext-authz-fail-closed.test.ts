// istiod's CUSTOM AuthorizationPolicy on the data path: a shadow RBAC filter (stat prefix
// `istio_ext_authz_`, DENY rules naming the policy) writes Envoy's dynamic metadata
// (`istio_ext_authz_shadow_effective_policy_id`), and `envoy.filters.http.ext_authz`, scoped by
// filter_enabled_metadata to that id, refuses the requests the policy selects fail-closed (Outrigger
// calls no authorizer): status_on_error (403 by default), empty body, flag UAEX, details
// `ext_authz_error`. Other requests pass; failure_mode_allow lets everything through.

import { afterEach, describe, expect, it } from "vitest";
import { httpListener } from "../../src/config/model/listener-defaults.js";
import type { ExtAuthzConfig, HttpConnectionManager, Snapshot } from "../../src/config/model/types.js";
import { cluster, route, startProxy, type TestProxy } from "../helpers/proxy.js";
import { freePort, startEchoUpstream, type EchoUpstream } from "../helpers/upstreams.js";

let proxy: TestProxy | undefined;
let up: EchoUpstream | undefined;
afterEach(async () => {
  await proxy?.close();
  await up?.close();
  proxy = undefined;
});

async function start(ext: Omit<ExtAuthzConfig, "original">): Promise<number> {
  up = await startEchoUpstream("app");
  const port = await freePort();
  const l = httpListener({ address: "127.0.0.1", port, direction: "INBOUND", routeConfigName: "rc" });
  const hcm = l.filterChains[0]!.filters[0]!.typedConfig as HttpConnectionManager;
  hcm.httpFilters.unshift(
    {
      name: "envoy.filters.http.rbac",
      typedConfig: {
        shadowRulesStatPrefix: "istio_ext_authz_",
        shadowRules: { action: "DENY", policies: { "istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]": { permissions: [{ urlPath: { path: { prefix: "/secure" } } }], principals: [{ any: true }] } } },
      },
    },
    { name: "envoy.filters.http.ext_authz", typedConfig: { ...ext, original: { "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz" } } },
  );
  const snap: Snapshot = {
    version: "t",
    listeners: [l],
    routeConfigs: { rc: { name: "rc", virtualHosts: [{ name: "vh", domains: ["*"], routes: [route("default", { route: { cluster: "app" } })] }] } },
    clusters: { app: cluster("app", [up.port]) },
  };
  proxy = await startProxy(snap);
  return port;
}

const ISTIOD_SCOPE = { filter: "envoy.filters.http.rbac", key: "istio_ext_authz_shadow_effective_policy_id", matcher: { prefix: "istio-ext-authz" } };

describe("ext_authz (CUSTOM policies), fail closed", () => {
  it("refuses what the CUSTOM policy selects (403, UAEX, ext_authz_error), passes the rest", async () => {
    const port = await start({ filterEnabledMetadata: ISTIOD_SCOPE });
    const denied = await fetch(`http://127.0.0.1:${port}/secure/x`);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("");
    const open = await fetch(`http://127.0.0.1:${port}/open`);
    expect(open.status).toBe(200);
    expect(up!.requests.map((r) => r.url)).toEqual(["/open"]);
    const [d, o] = proxy!.streams;
    expect(d).toMatchObject({ responseCode: 403, responseFlags: ["UAEX"], responseCodeDetails: "ext_authz_error" });
    expect(d!.dynamicMetadata).toEqual({ "envoy.filters.http.rbac": { istio_ext_authz_shadow_effective_policy_id: "istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]", istio_ext_authz_shadow_engine_result: "denied" } });
    expect(o!.dynamicMetadata).toEqual({ "envoy.filters.http.rbac": { istio_ext_authz_shadow_engine_result: "allowed" } });
  });

  it("status_on_error sets the status; failure_mode_allow lets everything through; no scope = every request", async () => {
    let port = await start({ filterEnabledMetadata: ISTIOD_SCOPE, statusOnError: 503 });
    expect((await fetch(`http://127.0.0.1:${port}/secure`)).status).toBe(503);
    await proxy!.close();
    await up!.close();
    port = await start({ filterEnabledMetadata: ISTIOD_SCOPE, failureModeAllow: true });
    expect((await fetch(`http://127.0.0.1:${port}/secure`)).status).toBe(200);
    await proxy!.close();
    await up!.close();
    port = await start({});
    expect((await fetch(`http://127.0.0.1:${port}/open`)).status).toBe(403);
  });
});
