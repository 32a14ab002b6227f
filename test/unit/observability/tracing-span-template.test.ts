// A chain's fixed tags are encoded once per snapshot and copied into each span; when a custom tag
// reuses a standard tag's name (or another custom tag's), every tag goes through the record so the
// later one replaces the earlier — one attribute per name either way, in the same order.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../src/common/logger.js";
import type { TracingConfig } from "../../../src/config/model/types.js";
import { HeaderList } from "../../../src/http/header-list.js";
import { nodeIdentity } from "../../../src/observability/node-identity.js";
import { StatsStore } from "../../../src/observability/stats/stats-store.js";
import { StreamInfoBuilder } from "../../../src/observability/stream-info.js";
import { decodeOtlpProtobuf } from "../../../src/observability/tracing/otlp-proto-decoder.js";
import { spanTemplate, workerTracing } from "../../../src/observability/tracing/tracing-factory.js";
import { waitFor } from "../../helpers/wait.js";

const node = nodeIdentity({ env: { POD_NAME: "web-7d4f8b-x2k9z", ISTIO_META_MESH_ID: "mesh1" }, namespace: "shop", labels: { app: "web" }, domainSuffix: "cluster.local" });
const chain = { kind: "http" as const, direction: "OUTBOUND" as const, listenerName: "l", statPrefix: "s" };
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function config(endpoint: string, customTags: TracingConfig["customTags"]): TracingConfig {
  return { provider: { name: "envoy.tracers.opentelemetry", serviceName: "web.shop", endpoint, headers: {}, timeoutMs: 2_000 }, randomSamplingPercentage: 100, customTags, maxPathTagLength: 256 };
}

/** Exports one finished span for `customTags` and returns the raw body the collector got. */
async function exportOne(customTags: TracingConfig["customTags"], headers: Array<[string, string]> = []): Promise<Buffer> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(Buffer.concat(chunks));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  const tracing = workerTracing({ node, stats: new StatsStore(), log: createLogger("off"), env: { STAGE: "prod" }, batch: { scheduledDelayMillis: 5 } });
  closers.push(() => tracing.close());
  const tracer = tracing.tracer(config(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`, customTags), chain);
  const h = HeaderList.from([["host", "reviews:9080"], ["user-agent", "ua/1"], ...headers]);
  const si = new StreamInfoBuilder({ now: () => 1_764_522_000_000, monotonic: () => 0 });
  const span = tracer.startSpan({ method: "GET", path: "/", authority: "reviews:9080", scheme: "http", protocol: "HTTP/1.1", headers: h, upgrade: false }, "OUTBOUND", si)!;
  si.responseCode = 200;
  si.clusterName = "outbound|9080||reviews.shop.svc.cluster.local";
  span.finish(si.finish(1));
  await waitFor(() => bodies.length === 1, 5_000, "the export");
  return bodies[0]!;
}

/** How many `Span.attributes` entries carry `key` (the decoder's object would hide duplicates). */
function occurrences(body: Buffer, key: string): number {
  const needle = Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(key)]), Buffer.from(key)]);
  let n = 0;
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + 1)) n++;
  return n;
}

describe("span template: fixed tags and collisions", () => {
  it("no collision: node_id/zone first, request tags, then istio.* and literal/environment tags, each once", async () => {
    const t = spanTemplate(config("http://c/v1/traces", [{ tag: "team", literal: "checkout" }]), chain, node, {});
    expect(t.customTagsMayCollide).toBe(false);
    const body = await exportOne([
      { tag: "team", literal: "checkout" },
      { tag: "stage", environment: { name: "STAGE" } },
      { tag: "tenant", requestHeader: { name: "x-tenant" } },
    ], [["x-tenant", "acme"]]);
    const [span] = decodeOtlpProtobuf(body);
    const keys = Object.keys(span!.attributes);
    expect(keys.slice(0, 2)).toEqual(["node_id", "zone"]);
    // Header custom tags right after the standard tags; the fixed ones (Istio's, then the config's) last.
    expect(keys.slice(-8)).toEqual(["tenant", "istio.canonical_revision", "istio.canonical_service", "istio.cluster_id", "istio.mesh_id", "istio.namespace", "team", "stage"]);
    expect(span!.attributes).toMatchObject({ team: "checkout", stage: "prod", tenant: "acme", "istio.mesh_id": "mesh1", component: "proxy" });
    for (const k of keys) expect(occurrences(body, k)).toBe(1);
  });

  it("custom tags named like standard tags (or each other) replace them: one attribute per name, last set wins", async () => {
    const tags: TracingConfig["customTags"] = [
      { tag: "user_agent", requestHeader: { name: "x-ua" } },
      { tag: "component", literal: "mine" },
      { tag: "istio.namespace", literal: "override" },
    ];
    expect(spanTemplate(config("http://c/v1/traces", tags), chain, node, {}).customTagsMayCollide).toBe(true);
    const body = await exportOne(tags, [["x-ua", "from-header"]]);
    const [span] = decodeOtlpProtobuf(body);
    expect(span!.attributes).toMatchObject({ user_agent: "from-header", component: "mine", "istio.namespace": "override", node_id: expect.stringContaining("sidecar~") });
    for (const k of ["user_agent", "component", "istio.namespace", "node_id", "zone"]) expect(occurrences(body, k)).toBe(1);
    // A header tag whose header is absent (no default) leaves the standard tag alone.
    const [kept] = decodeOtlpProtobuf(await exportOne(tags));
    expect(kept!.attributes.user_agent).toBe("ua/1");
  });
});
