// A gRPC echo service for the e2e tests, made with @grpc/grpc-js alone (no protoc): the service
// definition is written by hand with JSON serialisers (and raw-bytes ones for the large-body
// methods), so client and server are real grpc-js on both sides of the proxy.
//
// Methods of /outrigger.test.Echo:
// - Unary {text, fail?: {code, message}, hold?: true} → {text, metadata}: echoes the `x-*` request
//   metadata in its answer, sends initial metadata `x-initial: yes` and trailers `x-trailer: yes`
//   (plus each `x-echo-*` request entry back as a trailer); `fail` answers that status (with
//   trailer `x-trailer: failed`); `hold` never answers (the server records the call's cancellation);
//   `failFirst: {key, times, code, trailersOnly}` fails the first `times` calls with that key
//   (trailers-only: no initial metadata first, so the status is in the response headers).
// - ServerStream {count, text, pause?: true} → count messages {i, text}; with `pause`, the second
//   half waits for `releaseStreams()` (a call the test keeps in flight across an event).
// - ClientStream stream {text} → {count, joined}.
// - Bidi stream {text} → each message back as {text}; the server ends when the client does.
// - Upload stream of raw bytes → {sha256, length} (JSON).
// - Download {bytes} (JSON) → the pattern body in 64 KiB messages (test/helpers/pattern-bytes.ts).

import * as grpc from "@grpc/grpc-js";
import { connect as h2connect, type IncomingHttpHeaders } from "node:http2";
import { BodyDigest, patternChunks } from "./pattern-bytes.js";

type Json = Record<string, unknown>;
const json = { serialize: (v: unknown): Buffer => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer): Json => JSON.parse(b.toString()) as Json };
const raw = { serialize: (v: Buffer): Buffer => v, deserialize: (b: Buffer): Buffer => b };

function method(name: string, requestStream: boolean, responseStream: boolean, req: typeof json | typeof raw, res: typeof json | typeof raw): grpc.MethodDefinition<unknown, unknown> {
  return {
    path: `/outrigger.test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: req.serialize as (v: unknown) => Buffer,
    requestDeserialize: req.deserialize,
    responseSerialize: res.serialize as (v: unknown) => Buffer,
    responseDeserialize: res.deserialize,
    originalName: name,
  };
}

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  Unary: method("Unary", false, false, json, json),
  ServerStream: method("ServerStream", false, true, json, json),
  ClientStream: method("ClientStream", true, false, json, json),
  Bidi: method("Bidi", true, true, json, json),
  Upload: method("Upload", true, false, raw, json),
  Download: method("Download", false, true, json, raw),
};

/** The generic client class of the echo service: `new EchoClient(address, credentials, options)`. */
export const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
export type EchoClientT = InstanceType<typeof EchoClient> & Record<string, (...args: unknown[]) => unknown>;

export interface EchoServer {
  port: number;
  /** Calls received, by method. */
  calls: Record<string, number>;
  /** Unary calls by failFirst key. */
  attempts: Record<string, number>;
  /** Request metadata of every call, in arrival order. */
  metadata: Array<Record<string, unknown>>;
  /** Held unary calls: resolves when the call was cancelled (client or proxy reset). */
  held: Array<{ cancelled: Promise<void> }>;
  /** Lets paused server-streaming calls send their second half. */
  releaseStreams(): void;
  close(): Promise<void>;
}

function xMetadata(md: grpc.Metadata): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(md.getMap())) if (k.startsWith("x-")) out[k] = Buffer.isBuffer(v) ? v.toString() : v;
  return out;
}

export async function startEchoServer(): Promise<EchoServer> {
  const server = new grpc.Server();
  const pausedStreams: Array<() => void> = [];
  const s: EchoServer = {
    port: 0,
    calls: {},
    attempts: {},
    metadata: [],
    held: [],
    releaseStreams: () => {
      for (const go of pausedStreams.splice(0)) go();
    },
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()),
  };
  const count = (name: string, md: grpc.Metadata): void => {
    s.calls[name] = (s.calls[name] ?? 0) + 1;
    s.metadata.push(md.getMap());
  };
  server.addService(ECHO_SERVICE, {
    Unary(call: grpc.ServerUnaryCall<Json, Json>, cb: grpc.sendUnaryData<Json>) {
      count("Unary", call.metadata);
      const req = call.request;
      const ff = req.failFirst as { key: string; times: number; code: number; trailersOnly: boolean } | undefined;
      if (ff) {
        const n = (s.attempts[ff.key] = (s.attempts[ff.key] ?? 0) + 1);
        if (n <= ff.times) {
          if (!ff.trailersOnly) call.sendMetadata(new grpc.Metadata());
          return cb({ code: ff.code, details: `attempt ${n} fails` });
        }
      }
      if (req.hold) {
        s.held.push({ cancelled: new Promise<void>((r) => call.on("cancelled", () => r())) });
        return;
      }
      const initial = new grpc.Metadata();
      initial.set("x-initial", "yes");
      call.sendMetadata(initial);
      const trailers = new grpc.Metadata();
      for (const [k, v] of Object.entries(call.metadata.getMap())) if (k.startsWith("x-echo-")) trailers.set(k, String(v));
      const fail = req.fail as { code: number; message: string } | undefined;
      if (fail) {
        trailers.set("x-trailer", "failed");
        return cb({ code: fail.code, details: fail.message, metadata: trailers });
      }
      trailers.set("x-trailer", "yes");
      cb(null, { text: req.text, metadata: xMetadata(call.metadata) }, trailers);
    },
    ServerStream(call: grpc.ServerWritableStream<Json, Json>) {
      count("ServerStream", call.metadata);
      const n = Number(call.request.count);
      const half = call.request.pause ? Math.floor(n / 2) : n;
      for (let i = 0; i < half; i++) call.write({ i, text: call.request.text });
      const rest = (): void => {
        for (let i = half; i < n; i++) call.write({ i, text: call.request.text });
        call.end();
      };
      if (half < n) pausedStreams.push(rest);
      else rest();
    },
    ClientStream(call: grpc.ServerReadableStream<Json, Json>, cb: grpc.sendUnaryData<Json>) {
      count("ClientStream", call.metadata);
      const parts: string[] = [];
      call.on("data", (m: Json) => parts.push(String(m.text)));
      call.on("end", () => cb(null, { count: parts.length, joined: parts.join(",") }));
    },
    Bidi(call: grpc.ServerDuplexStream<Json, Json>) {
      count("Bidi", call.metadata);
      call.on("data", (m: Json) => call.write({ text: m.text }));
      call.on("end", () => call.end());
    },
    Upload(call: grpc.ServerReadableStream<Buffer, Json>, cb: grpc.sendUnaryData<Json>) {
      count("Upload", call.metadata);
      const d = new BodyDigest();
      call.on("data", (b: Buffer) => d.update(b));
      call.on("end", () => cb(null, { sha256: d.hex(), length: d.length }));
    },
    Download(call: grpc.ServerWritableStream<Json, Buffer>) {
      count("Download", call.metadata);
      const chunks = patternChunks(Number(call.request.bytes));
      // Back-pressure: write until the stream says stop, go on at 'drain'.
      const pump = (): void => {
        for (let n = chunks.next(); !n.done; n = chunks.next()) {
          if (call.cancelled) return;
          if (!call.write(n.value)) return void call.once("drain", pump);
        }
        call.end();
      };
      pump();
    },
  });
  s.port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
  return s;
}

/** A client of the echo service at `127.0.0.1:port`, presenting `authority` (the mesh host:port) when given. */
export function echoClient(port: number, authority?: string, options: grpc.ChannelOptions = {}): EchoClientT {
  return new EchoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    ...(authority ? { "grpc.default_authority": authority } : {}),
    "grpc.max_receive_message_length": 8 * 1024 * 1024,
    ...options,
  }) as EchoClientT;
}

export interface UnaryOutcome {
  error?: grpc.ServiceError;
  response?: Json;
  initial?: Json;
  trailers?: Json;
}

/** One unary call; resolves with the answer or the error, the initial metadata and the trailers. */
export function unary(client: EchoClientT, request: Json, opts: { metadata?: Record<string, string>; deadlineMs?: number; onCall?: (call: grpc.ClientUnaryCall) => void } = {}): Promise<UnaryOutcome> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md.set(k, v);
  const callOpts: grpc.CallOptions = opts.deadlineMs !== undefined ? { deadline: Date.now() + opts.deadlineMs } : {};
  return new Promise((resolve) => {
    const out: UnaryOutcome = {};
    const call = client.makeUnaryRequest(
      ECHO_SERVICE.Unary!.path,
      json.serialize,
      json.deserialize,
      request,
      md,
      callOpts,
      (err: grpc.ServiceError | null, res?: Json) => {
        if (err) out.error = err;
        else out.response = res;
      },
    );
    opts.onCall?.(call);
    call.on("metadata", (m: grpc.Metadata) => (out.initial = m.getMap() as Json));
    call.on("status", (st: grpc.StatusObject) => {
      out.trailers = st.metadata.getMap() as Json;
      // grpc-js runs the callback before it emits 'status': both are in.
      resolve(out);
    });
  });
}

export { grpc };

/**
 * A unary call by hand over node:http2 (no grpc-js, so no client timer and no status mapping of its
 * own): the response headers and trailers as they came, to tell a trailers-only gRPC answer
 * (`:status` 200 with `grpc-status` in the one HEADERS frame) from a plain HTTP error.
 */
export async function rawUnary(port: number, authority: string, request: Json, headers: Record<string, string> = {}, path = ECHO_SERVICE.Unary!.path, timeoutMs = 10_000): Promise<{ head: IncomingHttpHeaders; trailers: IncomingHttpHeaders | undefined; body: Buffer }> {
  const s = h2connect(`http://127.0.0.1:${port}`);
  s.on("error", () => {});
  try {
    const msg = json.serialize(request);
    const frame = Buffer.alloc(5 + msg.length);
    frame.writeUInt32BE(msg.length, 1);
    msg.copy(frame, 5);
    const req = s.request({ ":method": "POST", ":path": path, ":authority": authority, "content-type": "application/grpc", te: "trailers", ...headers });
    req.end(frame);
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      let head: IncomingHttpHeaders = {};
      let trailers: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      req.on("response", (h) => (head = h));
      req.on("trailers", (t) => (trailers = t));
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("error", (e) => (clearTimeout(timer), reject(e)));
      req.on("close", () => (clearTimeout(timer), resolve({ head, trailers, body: Buffer.concat(chunks) })));
    });
  } finally {
    s.destroy();
  }
}
