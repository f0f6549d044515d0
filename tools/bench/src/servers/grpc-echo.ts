// A tiny grpc-js server with one unary method that echoes its bytes: the raw gRPC round trip of the
// per-hop benchmark. Runs as its own process; prints {"port":N} once serving on 127.0.0.1.
import * as grpc from "@grpc/grpc-js";

export const ECHO_SERVICE: grpc.ServiceDefinition = {
  echo: {
    path: "/bench.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

if (require.main === module) {
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      process.stderr.write(`bind failed: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(JSON.stringify({ port }) + "\n");
  });
  process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
}
