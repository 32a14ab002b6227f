// `outrigger config-dump --envoy`: the translated config as the Envoy v3 resources istiod pushes,
// in its push order, each accepted by jsonToAny (so it decodes with Envoy's protos).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envoyResources } from "../../../src/admin/config-dump/envoy-resources.js";
import { anyToJson, jsonToAny } from "../../../src/config/envoy/proto-json.js";
import { httpListener } from "../../../src/config/model/listener-defaults.js";
import { cluster, route } from "../../helpers/proxy.js";
import { sharedPath } from "../../helpers/shared-dir.js";
import { harness } from "./cli-harness.js";

const services = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  endpoints:
  - {address: 10.0.0.1, ports: {http: 9080}, labels: {version: v1}}
  - {address: 10.0.0.2, ports: {http: 9080}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: httpbin-ext, namespace: default}
spec:
  hosts: [httpbin.org]
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {number: 80, name: http, protocol: HTTP}
`;

const ORDER = [
  "envoy.config.cluster.v3.Cluster",
  "envoy.config.endpoint.v3.ClusterLoadAssignment",
  "envoy.config.listener.v3.Listener",
  "envoy.config.route.v3.RouteConfiguration",
  "envoy.extensions.transport_sockets.tls.v3.Secret",
].map((t) => "type.googleapis.com/" + t);

describe("outrigger config-dump --envoy", () => {
  it("prints {resources: [Any…]} in istiod's push order, each accepted by jsonToAny and decoding back unchanged", async () => {
    const d = mkdtempSync(join(tmpdir(), "outrigger-envoy-dump-"));
    writeFileSync(join(d, "services.yaml"), services);
    const samples = sharedPath("istio-samples", "istio", "samples", "bookinfo", "networking");
    const r = await harness().run(["config-dump", "--envoy", "--config", d, "--config", join(samples, "destination-rule-all.yaml"), "--config", join(samples, "virtual-service-reviews-jason-v2-v3.yaml")]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { resources: Array<Record<string, unknown>> };
    expect(Object.keys(out)).toEqual(["resources"]);
    const types = out.resources.map((x) => String(x["@type"]));
    // Sorted by push order, and the types a sidecar needs are there.
    expect([...types].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))).toEqual(types);
    // (No EDS cluster here: the translator gives ServiceEntry endpoints inline, so no load assignment; no SDS secret without --certs.)
    expect(new Set(types)).toEqual(new Set([ORDER[0], ORDER[2], ORDER[3]]));
    const eds = out.resources.filter((x) => x["@type"] === ORDER[0] && x["type"] === "EDS").map((x) => x["name"]);
    expect(out.resources.filter((x) => x["@type"] === ORDER[1]).map((x) => x["cluster_name"])).toEqual(eds);
    for (const res of out.resources) {
      const any = jsonToAny(res);
      expect(any.type_url).toBe(res["@type"]);
      expect(anyToJson(any.type_url, any.value)).toEqual(res);
    }
  });

  it("--help documents --envoy", async () => {
    const r = await harness().run(["config-dump", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--envoy");
  });

  it("every type in push order: clusters, EDS load assignments, listeners, routes, secrets (key redacted)", () => {
    const res = envoyResources({
      version: "v",
      secrets: { ROOTCA: { name: "ROOTCA", validationContext: { trustedCa: "PEM" } }, default: { name: "default", tlsCertificate: { certificateChain: "CERT", privateKey: "KEY" } } },
      routeConfigs: { "80": { name: "80", virtualHosts: [{ name: "a:80", domains: ["a"], routes: [route("default", { route: { cluster: "a" } })] }] } },
      listeners: [httpListener({ address: "0.0.0.0", port: 80, direction: "OUTBOUND", routeConfigName: "80" })],
      clusters: { a: cluster("a", [1], { type: "EDS" }), b: cluster("b", [2]) },
    });
    expect(res.map((r) => [String(r["@type"]).split(".").at(-1), r["name"] ?? r["cluster_name"]])).toEqual([
      ["Cluster", "a"],
      ["Cluster", "b"],
      ["ClusterLoadAssignment", "a"],
      ["Listener", "0.0.0.0_80"],
      ["RouteConfiguration", "80"],
      ["Secret", "ROOTCA"],
      ["Secret", "default"],
    ]);
    expect(JSON.stringify(res)).not.toContain(Buffer.from("KEY").toString("base64"));
    for (const r of res) expect(anyToJson(jsonToAny(r).type_url, jsonToAny(r).value)).toEqual(r);
  });
});
