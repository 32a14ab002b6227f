// A small in-process OTLP/HTTP trace receiver (POST /v1/traces, OTLP/protobuf as Outrigger and
// Envoy send it, or OTLP/JSON) that decodes each export into plain span objects. Tests assert on it and
// `outrigger demo` prints what it receives. Not on the data path: node:http is fine here.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeOtlpProtobuf } from "./otlp-proto-decoder.js";

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export type ReceivedSpanKind = "UNSPECIFIED" | "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  traceState: string;
  name: string;
  kind: ReceivedSpanKind;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  status: { code: "UNSET" | "OK" | "ERROR"; message: string };
  /** The resource the span was exported under (`service.name`, …). */
  resource: Record<string, AttributeValue>;
  scope: { name: string; version: string };
}

export interface OtlpReceiverOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Answer every export with this status instead of 200 (tests of a refusing collector). */
  status?: number;
}

export interface OtlpReceiver {
  port: number;
  /** The traces endpoint to configure exporters with: `http://<host>:<port>/v1/traces`. */
  url: string;
  /** Every span received so far, in arrival order. */
  readonly spans: ReceivedSpan[];
  /** Export requests received (answered or refused). */
  readonly exports: number;
  /** The HTTP headers of each export request, in arrival order. */
  readonly exportHeaders: IncomingMessage["headers"][];
  /** Calls `cb` with the spans of each export as it arrives; returns an unsubscribe function. */
  onSpans(cb: (spans: ReceivedSpan[]) => void): () => void;
  /** Resolves once at least `n` spans have arrived; rejects after `timeoutMs`. */
  waitForSpans(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

/** 16 MiB: an export bigger than this is refused (413), as collectors cap request size. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function startOtlpReceiver(opts: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const listeners = new Set<(s: ReceivedSpan[]) => void>();
  let exports = 0;
  const exportHeaders: IncomingMessage["headers"][] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch(() => reply(res, 500, { message: "internal error" }));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== "/v1/traces") return reply(res, 404, { message: "only POST /v1/traces" });
    const body = await readBody(req);
    if (body === undefined) return reply(res, 413, { message: "request too large" });
    exports++;
    exportHeaders.push(req.headers);
    if (opts.status !== undefined && opts.status !== 200) return reply(res, opts.status, { message: "refused by configuration" });
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json" && type !== "application/x-protobuf") {
      return reply(res, 415, { message: `unsupported content-type ${JSON.stringify(type)}: this receiver decodes OTLP/JSON and OTLP/protobuf` });
    }
    const proto = type === "application/x-protobuf";
    let decoded: ReceivedSpan[];
    try {
      decoded = proto ? decodeOtlpProtobuf(body) : decodeOtlpJson(JSON.parse(body.toString("utf8")));
    } catch (e) {
      return reply(res, 400, { message: `bad OTLP/${proto ? "protobuf" : "JSON"}: ${(e as Error).message}` });
    }
    spans.push(...decoded);
    reply(res, 200, {});
    for (const l of listeners) l(decoded);
  };
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  const onSpans = (cb: (s: ReceivedSpan[]) => void): (() => void) => {
    listeners.add(cb);
    return () => listeners.delete(cb);
  };
  return {
    port: addr.port,
    url: `http://${host}:${addr.port}/v1/traces`,
    spans,
    get exports() {
      return exports;
    },
    exportHeaders,
    onSpans,
    waitForSpans(n, timeoutMs = 10_000) {
      if (spans.length >= n) return Promise.resolve(spans.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`OTLP receiver: ${spans.length} of ${n} spans after ${timeoutMs} ms`));
        }, timeoutMs);
        const off = onSpans(() => {
          if (spans.length < n) return;
          clearTimeout(timer);
          off();
          resolve(spans.slice());
        });
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function reply(res: ServerResponse, status: number, body: object): void {
  const s = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(s) });
  res.end(s);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) over = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const KINDS: ReceivedSpanKind[] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
const STATUS: Array<ReceivedSpan["status"]["code"]> = ["UNSET", "OK", "ERROR"];

/**
 * Decodes an OTLP/JSON ExportTraceServiceRequest. Ids are hex (OTLP/JSON's rule); times may be
 * strings or numbers of nanoseconds; enums numbers (or their proto names).
 */
export function decodeOtlpJson(doc: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of arr(obj(doc, "request").resourceSpans)) {
    const r = obj(rs, "resourceSpans[]");
    const resource = attributes(r.resource === undefined ? [] : obj(r.resource, "resource").attributes);
    for (const ss of arr(r.scopeSpans)) {
      const s = obj(ss, "scopeSpans[]");
      const scopeObj = s.scope === undefined ? {} : obj(s.scope, "scope");
      const scope = { name: str(scopeObj.name), version: str(scopeObj.version) };
      for (const sp of arr(s.spans)) {
        const span = obj(sp, "spans[]");
        const status = span.status === undefined ? {} : obj(span.status, "status");
        out.push({
          traceId: str(span.traceId),
          spanId: str(span.spanId),
          parentSpanId: str(span.parentSpanId),
          traceState: str(span.traceState),
          name: str(span.name),
          kind: enumValue(span.kind, KINDS, "SPAN_KIND_", "UNSPECIFIED"),
          startTimeUnixNano: nanos(span.startTimeUnixNano),
          endTimeUnixNano: nanos(span.endTimeUnixNano),
          attributes: attributes(span.attributes),
          status: { code: enumValue(status.code, STATUS, "STATUS_CODE_", "UNSET"), message: str(status.message) },
          resource,
          scope,
        });
      }
    }
  }
  return out;
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function nanos(v: unknown): bigint {
  if (typeof v === "string" && /^\d+$/.test(v)) return BigInt(v);
  if (typeof v === "number" && Number.isFinite(v)) return BigInt(Math.round(v));
  return 0n;
}

function enumValue<T extends string>(v: unknown, names: T[], prefix: string, dflt: T): T {
  if (typeof v === "number") return names[v] ?? dflt;
  if (typeof v === "string") {
    const n = v.startsWith(prefix) ? v.slice(prefix.length) : v;
    return (names as string[]).includes(n) ? (n as T) : dflt;
  }
  return dflt;
}

function attributes(v: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of arr(v)) {
    const o = obj(kv, "attribute");
    out[str(o.key)] = anyValue(o.value);
  }
  return out;
}

function anyValue(v: unknown): AttributeValue {
  if (typeof v !== "object" || v === null) return null;
  const o = v as Record<string, unknown>;
  if ("stringValue" in o) return str(o.stringValue);
  if ("boolValue" in o) return o.boolValue === true;
  if ("intValue" in o) return Number(o.intValue);
  if ("doubleValue" in o) return Number(o.doubleValue);
  if ("arrayValue" in o) return arr((o.arrayValue as { values?: unknown } | null)?.values).map(anyValue);
  if ("kvlistValue" in o) return attributes((o.kvlistValue as { values?: unknown } | null)?.values);
  if ("bytesValue" in o) return str(o.bytesValue);
  return null;
}
