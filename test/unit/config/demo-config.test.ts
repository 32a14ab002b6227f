import { describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { loadConfigSources } from "../../../src/config/load/load-sources.js";
import { translate } from "../../../src/config/istio/translate.js";
import { formatConfigError } from "../../../src/config/model/config-error.js";
import { hcmOfListener as hcm } from "../../helpers/model.js";

const demoDir = fileURLToPath(new URL("../../../examples/demo", import.meta.url));
const opts = { namespace: "demo", proxyLabels: { app: "productpage" }, domainSuffix: "cluster.local", defaultOutbound: { address: "127.0.0.1", port: 15001 } };

describe("examples/demo", () => {
  it("translates with zero errors and zero warnings", async () => {
    const { documents, errors } = await loadConfigSources([demoDir]);
    expect(errors).toEqual([]);
    const r = translate(documents, opts);
    expect([...r.errors, ...r.warnings].map(formatConfigError)).toEqual([]);
    if (process.env["DUMP"]) console.log(JSON.stringify(r, null, 1));
  });

  it("produces the listeners, routes and clusters the demo upstreams expect", async () => {
    const { documents } = await loadConfigSources([demoDir]);
    const r = translate(documents, opts);
    const s = r.snapshot;
    expect(s.listeners.map((l) => [l.name, l.trafficDirection, hcm(l).routeConfigName])).toEqual([
      ["127.0.0.1_15080", "INBOUND", "inbound|15080||"],
      ["127.0.0.1_9080", "OUTBOUND", "9080"],
      ["127.0.0.1_15001", "OUTBOUND", "outbound_http_proxy"],
    ]);
    const ports = (name: string) => s.clusters[name]!.loadAssignment.endpoints.flatMap((l) => l.lbEndpoints.map((e) => `${e.address}:${e.port}`));
    expect(ports("outbound|9080||reviews.demo.svc.cluster.local")).toEqual(["127.0.0.1:19081", "127.0.0.1:19082", "127.0.0.1:19083"]);
    expect(ports("outbound|9080|v1|reviews.demo.svc.cluster.local")).toEqual(["127.0.0.1:19081"]);
    expect(ports("outbound|9080|v2|reviews.demo.svc.cluster.local")).toEqual(["127.0.0.1:19082"]);
    expect(ports("outbound|9080|v3|reviews.demo.svc.cluster.local")).toEqual(["127.0.0.1:19083"]);
    expect(ports("outbound|9080||ratings.demo.svc.cluster.local")).toEqual(["127.0.0.1:19091"]);
    expect(ports("inbound|15080||")).toEqual(["127.0.0.1:19080"]);

    const reviews = s.routeConfigs["9080"]!.virtualHosts.find((v) => v.name === "reviews.demo.svc.cluster.local:9080")!;
    expect(reviews.domains).toContain("reviews:9080");
    expect(reviews.routes.map((x) => x.name)).toEqual(["jason", "legacy-redirect", "v3-preview", "default"]);
    const [jason, legacy, preview, dflt] = reviews.routes;
    expect(jason!.match.headers).toEqual([{ name: "end-user", stringMatch: { exact: "jason" } }]);
    expect(jason!.route).toMatchObject({ cluster: "outbound|9080|v2|reviews.demo.svc.cluster.local", timeoutMs: 0 });
    expect(jason!.responseHeadersToAdd).toEqual([{ key: "x-demo-rule", value: "jason", appendAction: "OVERWRITE_IF_EXISTS_OR_ADD" }]);
    expect(legacy!.redirect).toEqual({ responseCode: 301, pathRedirect: "/new/" });
    expect(preview!.route).toMatchObject({ prefixRewrite: "/", cluster: "outbound|9080|v3|reviews.demo.svc.cluster.local" });
    expect(dflt!.route?.weightedClusters?.map((w) => [w.name, w.weight])).toEqual([
      ["outbound|9080|v1|reviews.demo.svc.cluster.local", 80],
      ["outbound|9080|v3|reviews.demo.svc.cluster.local", 20],
    ]);
    expect(dflt!.requestHeadersToAdd).toEqual([{ key: "x-demo", value: "outrigger", appendAction: "APPEND_IF_EXISTS_OR_ADD" }]);
    expect(r.summary).toEqual([
      "ServiceEntry demo/reviews: hosts reviews.demo.svc.cluster.local, ports 9080/HTTP, STATIC, 3 endpoints",
      "ServiceEntry demo/ratings: hosts ratings.demo.svc.cluster.local, ports 9080/HTTP, STATIC, 1 endpoints",
      "DestinationRule demo/reviews: host reviews.demo.svc.cluster.local, 3 subsets (v1, v2, v3)",
      "VirtualService demo/reviews: hosts reviews.demo.svc.cluster.local, 4 http rules",
      "Sidecar demo/default: 1 ingress, 1 egress (applies to this proxy)",
      "auto mTLS: off (no workload certificate: upstream connections are plaintext unless a DestinationRule sets SIMPLE or MUTUAL)",
    ]);
  });
});
