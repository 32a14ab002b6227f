// Route configurations decoded from Envoy's JSON, served over real sockets: a route to a cluster the
// snapshot lacks answers as Envoy does (503, empty body, NC, cluster_not_found); a decoded
// ignore_port_in_host_matching sends `reviews:<port>` to the portless domain.

import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { decodeCluster } from "../../src/config/envoy/decode-cluster.js";
import { decodeRouteConfiguration } from "../../src/config/envoy/decode-route-config.js";
import type { Decoded } from "../../src/config/envoy/decoded.js";
import { snapshotWith, startProxy, type TestProxy } from "../helpers/proxy.js";
import { startEchoUpstream } from "../helpers/upstreams.js";
import { waitFor } from "../helpers/wait.js";

let proxy: TestProxy | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

function value<T>(d: Decoded<T>): T {
  if (!d.ok) throw new Error(d.errors.join("; "));
  return d.value;
}

const ctx = { origin: "xds" as const };

describe("decoded route configurations on the data path", () => {
  it("a route to a cluster absent from the snapshot: 503, empty body, NC, cluster_not_found", async () => {
    const rc = value(decodeRouteConfiguration({ name: "rc", virtual_hosts: [{ name: "vh", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "outbound|9080||missing.default.svc.cluster.local", timeout: "0s" } }] }] }, ctx));
    proxy = await startProxy(await snapshotWith(rc.virtualHosts, []));
    const res = await fetch(proxy.url("/"));
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("");
    await waitFor(() => proxy!.streams.length === 1);
    expect(proxy.streams[0]).toMatchObject({ responseCode: 503, responseFlags: ["NC"], responseCodeDetails: "cluster_not_found", clusterName: "outbound|9080||missing.default.svc.cluster.local" });
  });

  it("ignore_port_in_host_matching: Host reviews:<port> reaches the portless domain's route", async () => {
    const echo = await startEchoUpstream("reviews");
    cleanups.push(() => echo.close());
    const cluster = value(decodeCluster({ name: "reviews", type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: "reviews", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: echo.port } } } }] }] } }, ctx));
    const rc = value(decodeRouteConfiguration({ name: "rc", ignore_port_in_host_matching: true, virtual_hosts: [{ name: "reviews", domains: ["reviews"], routes: [{ match: { prefix: "/" }, route: { cluster: "reviews" } }] }] }, ctx));
    expect(rc.ignorePortInHostMatching).toBe(true);
    const snap = await snapshotWith(rc.virtualHosts, [cluster]);
    snap.routeConfigs["rc"] = { ...rc, name: "rc" };
    proxy = await startProxy(snap);
    // fetch() may not set Host: a plain HTTP/1.1 request does.
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const r = request(proxy!.url("/"), { headers: { host } }, (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        });
        r.on("error", reject);
        r.end();
      });
    expect(await status("reviews:9080")).toBe(200);
    expect(await status("ratings:9080")).toBe(404);
    expect(echo.requests).toHaveLength(1);
  });
});
