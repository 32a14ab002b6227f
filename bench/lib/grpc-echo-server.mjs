// The gRPC bench's server (its own process): grpc-js, one unary method /bench.Echo/Unary echoing its
// request bytes (raw serialisers: the bench measures the proxy, not JSON). Prints "ready <port>".
import * as grpc from '@grpc/grpc-js';

const port = Number(process.argv[2] ?? 0);
const raw = (b) => b;
const server = new grpc.Server();
server.addService(
  { Unary: { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw } },
  { Unary: (call, cb) => cb(null, call.request) },
);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => {
  if (e) throw e;
  process.stdout.write(`ready ${p}\n`);
});
