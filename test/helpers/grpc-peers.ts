// Real gRPC peers for tests: @grpc/grpc-js servers and clients with raw-bytes messages (no .proto:
// the proxy never looks inside a message), for unary, server-, client- and bidi-streaming calls.

import * as grpc from "@grpc/grpc-js";

const identity = (b: Buffer): Buffer => b;

type Kind = "unary" | "serverStream" | "clientStream" | "bidi";

/** One method of the test service `pkg.Svc`, by name, with its streaming shape. */
export function method(name: string, kind: Kind): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/pkg.Svc/${name}`,
    requestStream: kind === "clientStream" || kind === "bidi",
    responseStream: kind === "serverStream" || kind === "bidi",
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export interface GrpcTestServer {
  port: number;
  server: grpc.Server;
  close(): Promise<void>;
}

/** A grpc-js server on 127.0.0.1:0 (h2c) serving `pkg.Svc` with the given handlers. */
export async function startGrpcServer(definition: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): Promise<GrpcTestServer> {
  const server = new grpc.Server();
  server.addService(definition, handlers);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port,
    server,
    close: () => new Promise<void>((r) => server.tryShutdown(() => r())).then(() => server.forceShutdown()),
  };
}

/** A generic grpc-js client over h2c to 127.0.0.1:port; `authority` is the :authority it sends. */
export function grpcClient(port: number, authority = "svc"): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.default_authority": authority, "grpc.enable_retries": 0 });
}

export interface UnaryResult {
  error: grpc.ServiceError | null;
  value: Buffer | undefined;
  headers: grpc.Metadata | undefined;
  status: grpc.StatusObject | undefined;
}

/** A unary call: its error or value, the response headers (metadata) and the final status (trailers). */
export function unary(client: grpc.Client, name: string, req: Buffer, o: { metadata?: grpc.Metadata; deadlineMs?: number } = {}): Promise<UnaryResult> {
  const m = method(name, "unary");
  return new Promise((resolve) => {
    const out: UnaryResult = { error: null, value: undefined, headers: undefined, status: undefined };
    let done = 0;
    const finish = (): void => {
      if (++done === 2) resolve(out);
    };
    const opts: grpc.CallOptions = o.deadlineMs !== undefined ? { deadline: Date.now() + o.deadlineMs } : {};
    const call = client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, o.metadata ?? new grpc.Metadata(), opts, (err, value) => {
      out.error = err;
      out.value = value;
      finish();
    });
    call.on("metadata", (md: grpc.Metadata) => (out.headers = md));
    call.on("status", (st: grpc.StatusObject) => {
      out.status = st;
      finish();
    });
  });
}

export { grpc };
