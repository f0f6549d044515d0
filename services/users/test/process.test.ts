// tools: redis
// users as a real process: health, reflection, SIGTERM and invalid configuration (the checks every
// gRPC service shares live in @tracemesh/devkit).
import path from "node:path";
import { describeGrpcServiceProcess } from "@tracemesh/devkit/testing";

describeGrpcServiceProcess({
  name: "users",
  grpcService: "tracemesh.v1.UsersService",
  packageDir: path.resolve(__dirname, "..", ".."),
  invalidConfig: [
    ["GRPC_PORT", "abc"],
    ["SESSION_TTL_SECONDS", "0"],
    ["REDIS_URL", "http://x"],
  ],
});
