// tools: redis
// activities as a real process: health, reflection, SIGTERM and invalid configuration (the checks every
// gRPC service shares live in @tracemesh/devkit).
import path from "node:path";
import { describeGrpcServiceProcess } from "@tracemesh/devkit/testing";

describeGrpcServiceProcess({
  name: "activities",
  grpcService: "tracemesh.v1.ActivitiesService",
  packageDir: path.resolve(__dirname, "..", ".."),
  env: { USERS_ADDR: "127.0.0.1:1" },
  invalidConfig: [
    ["GRPC_PORT", "abc"],
    ["USERS_ADDR", "not an address"],
    ["REDIS_URL", "http://x"],
    ["MODERATION_URL", "ftp://moderation:8090"],
  ],
});
