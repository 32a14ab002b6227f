// The in-process OTLP/HTTP receiver: decodes OTLP/JSON and refuses what it cannot read; and the
// pieces of a span that need no socket (name, peer address, URL, config validation).

import { afterEach, describe, expect, it } from "vitest";
import { decodeOtlpJson, startOtlpReceiver, type OtlpReceiver } from "../../../src/observability/tracing/otlp-receiver.js";
import { addressIp, httpUrl, spanName } from "../../../src/observability/tracing/span-attributes.js";
import { defaultTracingServiceName, validateTracingConfig } from "../../../src/observability/tracing/tracing-factory.js";
import { nodeIdentity } from "../../../src/observability/node-identity.js";
import type { TracingConfig } from "../../../src/config/model/types.js";

let rx: OtlpReceiver | undefined;
afterEach(async () => {
  await rx?.close();
  rx = undefined;
});

describe("OTLP receiver", () => {
  it("decodes an OTLP/JSON export (hex ids, string nanos, enum numbers or names, nested values)", async () => {
    rx = await startOtlpReceiver();
    const seen: string[] = [];
    rx.onSpans((s) => seen.push(...s.map((x) => x.name)));
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
          scopeSpans: [
            {
              scope: { name: "outrigger", version: "1" },
              spans: [
                { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", name: "a", kind: 3, startTimeUnixNano: "1767225600000000000", endTimeUnixNano: 1767225600250000000, attributes: [{ key: "n", value: { intValue: "7" } }, { key: "b", value: { boolValue: true } }, { key: "l", value: { arrayValue: { values: [{ stringValue: "x" }] } } }], status: { code: 2, message: "bad" } },
                { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b8", parentSpanId: "00f067aa0ba902b7", name: "b", kind: "SPAN_KIND_SERVER", status: { code: "STATUS_CODE_OK" } },
              ],
            },
          ],
        },
      ],
    };
    const res = await fetch(rx.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    const [a, b] = await rx.waitForSpans(2);
    expect(a).toMatchObject({ name: "a", kind: "CLIENT", startTimeUnixNano: 1767225600000000000n, attributes: { n: 7, b: true, l: ["x"] }, status: { code: "ERROR", message: "bad" }, resource: { "service.name": "svc" }, scope: { name: "outrigger", version: "1" }, parentSpanId: "" });
    expect(b).toMatchObject({ kind: "SERVER", parentSpanId: "00f067aa0ba902b7", status: { code: "OK" } });
    expect(seen).toEqual(["a", "b"]);
    expect(rx.exports).toBe(1);
  });

  it("refuses other paths (404), other content types (415), bad JSON and bad protobuf (400)", async () => {
    rx = await startOtlpReceiver();
    expect((await fetch(rx.url.replace("/v1/traces", "/v1/metrics"), { method: "POST", body: "{}" })).status).toBe(404);
    const text = await fetch(rx.url, { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
    expect(text.status).toBe(415);
    expect(await text.text()).toContain("OTLP/JSON and OTLP/protobuf");
    // An empty ExportTraceServiceRequest is fine; a length past the end is not.
    expect((await fetch(rx.url, { method: "POST", headers: { "content-type": "application/x-protobuf" }, body: new Uint8Array([0x0a, 0x00]) })).status).toBe(200);
    const truncated = await fetch(rx.url, { method: "POST", headers: { "content-type": "application/x-protobuf" }, body: new Uint8Array([0x0a, 0x05, 0x12]) });
    expect(truncated.status).toBe(400);
    expect(await truncated.text()).toContain("bad OTLP/protobuf: truncated length-delimited field");
    expect((await fetch(rx.url, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" })).status).toBe(400);
    expect((await fetch(rx.url, { method: "POST", headers: { "content-type": "application/json" }, body: "[]" })).status).toBe(400);
    expect(rx.spans).toHaveLength(0);
  });

  it("waitForSpans fails (does not hang) when spans never come", async () => {
    rx = await startOtlpReceiver();
    await expect(rx.waitForSpans(1, 50)).rejects.toThrow("0 of 1 spans after 50 ms");
  });

  it("decodeOtlpJson of an empty request is no spans", () => {
    expect(decodeOtlpJson({})).toEqual([]);
  });
});

describe("span pieces", () => {
  it("names: Istio's route operation for an outbound Istio cluster, else Envoy's egress/ingress", () => {
    expect(spanName(true, "outbound|9080|v1|reviews.shop.svc.cluster.local", "reviews:9080")).toBe("reviews.shop.svc.cluster.local:9080/*");
    expect(spanName(true, "PassthroughCluster", "example.com")).toBe("egress example.com");
    expect(spanName(true, undefined, "a:1")).toBe("egress a:1");
    expect(spanName(false, "inbound|8080||", "reviews:9080")).toBe("ingress");
  });

  it("peer.address is the IP alone; http.url truncates the path only", () => {
    expect(addressIp("10.0.0.1:5000")).toBe("10.0.0.1");
    expect(addressIp("[::1]:5000")).toBe("::1");
    expect(addressIp("::1")).toBe("::1");
    expect(httpUrl("https", "h:1", "/abcdef", 3)).toBe("https://h:1/ab");
    expect(httpUrl("http", "h", "/a?b", 256)).toBe("http://h/a?b");
  });

  it("Istio's default service.name: <app>.<namespace>, else <workload>.<namespace>", () => {
    const withApp = nodeIdentity({ env: { POD_NAME: "reviews-v1-abc-xyz" }, namespace: "shop", labels: { app: "reviews" }, domainSuffix: "cluster.local" });
    expect(defaultTracingServiceName(withApp)).toBe("reviews.shop");
    const noApp = nodeIdentity({ env: { POD_NAME: "reviews-v1-abc-xyz" }, namespace: "shop", labels: {}, domainSuffix: "cluster.local" });
    expect(defaultTracingServiceName(noApp)).toBe("reviews-v1.shop");
  });
});

describe("tracing config validation", () => {
  const good: TracingConfig = { provider: { name: "envoy.tracers.opentelemetry", serviceName: "s", endpoint: "http://c:4318/v1/traces", headers: {}, timeoutMs: 1000 }, randomSamplingPercentage: 1, customTags: [], maxPathTagLength: 256 };
  it.each<[string, (c: TracingConfig) => void, string]>([
    ["endpoint", (c) => (c.provider.endpoint = "grpc://c:4317"), "must be http:// or https://"],
    ["endpoint", (c) => (c.provider.endpoint = "::"), "is not a URL"],
    ["timeout", (c) => (c.provider.timeoutMs = 0), "tracing.provider.timeoutMs: 0"],
    ["sampling", (c) => (c.randomSamplingPercentage = 101), "tracing.randomSamplingPercentage: 101 must be between 0 and 100"],
    ["path length", (c) => (c.maxPathTagLength = 0), "tracing.maxPathTagLength: 0"],
    ["service name", (c) => (c.provider.serviceName = ""), "serviceName: must not be empty"],
    ["tag", (c) => (c.customTags = [{ tag: "", literal: "x" }]), "a tag has an empty name"],
  ])("refuses a bad %s", (_what, mutate, message) => {
    const c = structuredClone(good);
    mutate(c);
    expect(() => validateTracingConfig(c)).toThrow(message);
  });

  it("accepts a good config", () => {
    expect(() => validateTracingConfig(good)).not.toThrow();
  });
});
