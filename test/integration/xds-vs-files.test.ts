// One decoder for both sources, end to end: the same intent (Outrigger's demo mesh plus Istio's
// AuthorizationPolicy task, for an intercepting sidecar) read from Istio YAML files, and served as Envoy v3 resources by a
// control plane (the fake istiod, over a Unix socket, through the real xDS client, proto JSON
// mapping and decoders, state of the world and delta), yields deep-equal snapshots.

import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { envoyResources } from "../../src/admin/config-dump/envoy-resources.js";
import { createLogger } from "../../src/common/logger.js";
import { decodeResource } from "../../src/config/envoy/decode-resource.js";
import { anyToJson } from "../../src/config/envoy/proto-json.js";
import { resourceTypeOfUrl } from "../../src/config/envoy/type-urls.js";
import type { Json } from "../../src/config/envoy/decoded.js";
import type { ResourceType } from "../../src/config/source/config-source.js";
import { defaultInterception } from "../../src/config/istio/interception.js";
import { IstioFileSource } from "../../src/config/source/istio-file-source.js";
import { createXdsSource } from "../../src/xds/xds-source.js";
import { FakeXdsServer } from "../helpers/fake-xds-server.js";
import { repoRoot } from "../helpers/cli-process.js";
import { storeSink } from "../helpers/memory-source.js";
import { sharedPath } from "../helpers/shared-dir.js";

const closers: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const PATHS = [join(repoRoot, "examples/demo"), sharedPath("istio-samples/istio.io/docs-tasks/authz-http")];

describe("the YAML path and the xDS path", () => {
  for (const mode of ["sotw", "delta"] as const) {
    it(`yield deep-equal models for the same intent (${mode})`, async () => {
      const files = new IstioFileSource(PATHS, { namespace: "default", proxyLabels: { app: "productpage" }, domainSuffix: "cluster.local", defaultOutbound: null, intercept: defaultInterception() }, createLogger("off"));
      const fromFiles = storeSink("v");
      const first = await files.start(fromFiles.sink);
      expect(first.errors).toEqual([]);
      const snap = fromFiles.store.snapshot!;
      // The intent exercises RBAC, retries, weighted routes and subsets — not a trivial mesh.
      expect(JSON.stringify(snap)).toContain("envoy.filters.http.rbac");
      expect(Object.keys(snap.clusters).length).toBeGreaterThan(3);

      const istiod = await FakeXdsServer.start();
      closers.push(() => istiod.close());
      const byType = new Map<ResourceType, Json[]>();
      for (const r of envoyResources(snap)) {
        const t = resourceTypeOfUrl(String(r["@type"]))!;
        byType.set(t, [...(byType.get(t) ?? []), r]);
      }
      for (const [t, rs] of byType) istiod.set(t, rs);

      const xds = createXdsSource({
        ads: { target: istiod.target, clusterName: "xds-grpc" },
        mode,
        node: { id: "sidecar~10.0.0.1~productpage-v1.default~default.svc.cluster.local", cluster: "productpage.default" },
        setNodeOnFirstMessageOnly: true,
        codec: { anyToJson, decode: (t, j) => decodeResource(t, j, { origin: "xds" }) },
        initialFetchTimeoutMs: { cds: 0, lds: 0, eds: 0, rds: 0, sds: 0 },
        log: createLogger("off"),
      });
      closers.push(() => xds.close());
      const fromXds = storeSink("v");
      const r = await xds.start(fromXds.sink);
      expect(r.errors).toEqual([]);
      expect(istiod.nacks("cluster").concat(istiod.nacks("listener"), istiod.nacks("routeConfiguration"))).toEqual([]);
      const got = fromXds.store.snapshot!;
      // Listeners are keyed by address: their order in the snapshot means nothing (delta pushes arrive in any order).
      const byName = <T extends { name: string }>(xs: T[]): T[] => [...xs].sort((a, b) => a.name.localeCompare(b.name));
      expect(byName(got.listeners)).toEqual(byName(snap.listeners));
      expect(got.routeConfigs).toEqual(snap.routeConfigs);
      expect(got.clusters).toEqual(snap.clusters);
    });
  }
});
