import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { decodeOtlpProtobuf } from "../../../src/observability/tracing/otlp-proto-decoder.js";
import { batchPrefix, SpanBatch, type SpanRecord } from "../../../src/observability/tracing/otlp-span-encoder.js";

const attrs: Array<[string, string]> = [
  ["node_id", "sidecar~10.1.0.5~web-1.shop~shop.svc.cluster.local"],
  ["http.url", "http://reviews:9080/api/é?x=1"],
  ["http.status_code", "200"],
  ["user_agent", "x".repeat(300)],
  ["ключ", "значение"],
];

function record(over: Partial<SpanRecord> = {}): SpanRecord {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    parentSpanId: "53995c3f42cd8ad8",
    traceState: "vendor=a",
    name: "reviews.shop.svc.cluster.local:9080/*",
    kind: 3,
    startMs: 1_764_522_000_123.25,
    endMs: 1_764_522_000_130.5,
    statusCode: 2,
    attrCount: attrs.length,
    attrKeys: attrs.map(([k]) => k),
    attrValues: attrs.map(([, v]) => v),
    ...over,
  };
}

/** The same span as the OpenTelemetry SDK hands its exporter (a ReadableSpan). */
function readableSpan(): unknown {
  const r = record();
  const hr = (ms: number): [number, number] => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
  return {
    name: r.name,
    kind: 2, // api SpanKind.CLIENT
    spanContext: () => ({ traceId: r.traceId, spanId: r.spanId, traceFlags: 1, traceState: { serialize: () => r.traceState } }),
    parentSpanContext: { traceId: r.traceId, spanId: r.parentSpanId, traceFlags: 1, isRemote: true },
    startTime: hr(r.startMs),
    endTime: hr(r.endMs),
    status: { code: 2 },
    attributes: Object.fromEntries(attrs),
    links: [],
    events: [],
    duration: [0, 0],
    ended: true,
    resource: { attributes: { "service.name": "web.shop" }, merge: () => undefined },
    instrumentationScope: { name: "outrigger", version: "" },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

describe("OTLP protobuf span encoding", () => {
  it("decodes to the same spans as the OpenTelemetry SDK's own protobuf serializer produces", () => {
    const batch = new SpanBatch(undefined, 64);
    batch.add(record());
    const ours = batch.request(batchPrefix({ "service.name": "web.shop" }, { name: "outrigger", version: "" }));
    const theirs = Buffer.from(ProtobufTraceSerializer.serializeRequest([readableSpan()] as never)!);
    const a = decodeOtlpProtobuf(ours);
    const b = decodeOtlpProtobuf(theirs);
    expect(a).toHaveLength(1);
    expect(a).toEqual(b);
    expect(a[0]).toMatchObject({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      parentSpanId: "53995c3f42cd8ad8",
      traceState: "vendor=a",
      kind: "CLIENT",
      startTimeUnixNano: 1_764_522_000_123_250_000n,
      endTimeUnixNano: 1_764_522_000_130_500_000n,
      status: { code: "ERROR", message: "" },
      resource: { "service.name": "web.shop" },
      scope: { name: "outrigger", version: "" },
      attributes: Object.fromEntries(attrs),
    });
  });

  it("times are exact nanoseconds, far from the epoch and with sub-ms fractions", () => {
    for (const ms of [0, 1, 1_764_522_000_123.25, 1_764_522_000_999.999, 4_102_444_800_000.5]) {
      const batch = new SpanBatch();
      batch.add(record({ startMs: ms, endMs: ms }));
      const [s] = decodeOtlpProtobuf(batch.request(batchPrefix({}, { name: "o", version: "" })));
      const whole = Math.floor(ms);
      expect(s!.startTimeUnixNano).toBe(BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6)));
    }
  });

  it("a batch of many spans (buffer growth, multi-byte lengths), root spans and UNSET status", () => {
    const batch = new SpanBatch(undefined, 16);
    for (let i = 0; i < 300; i++) batch.add(record({ spanId: (i + 1).toString(16).padStart(16, "0"), parentSpanId: i % 2 === 0 ? "" : "53995c3f42cd8ad8", traceState: "", statusCode: 0 }));
    expect(batch.count).toBe(300);
    const spans = decodeOtlpProtobuf(batch.request(batchPrefix({ "service.name": "s" }, { name: "outrigger", version: "1" })));
    expect(spans).toHaveLength(300);
    expect(spans[299]).toMatchObject({ spanId: "000000000000012c", parentSpanId: "53995c3f42cd8ad8", traceState: "", status: { code: "UNSET" }, scope: { name: "outrigger", version: "1" } });
    expect(spans[0]!.parentSpanId).toBe("");
    expect(spans[0]!.attributes["ключ"]).toBe("значение");
  });
});
