// tools: redis
// notifications as a real process: health, reflection, SIGTERM and invalid configuration (the checks every
// gRPC service shares live in @tracemesh/devkit).
import path from "node:path";
import { describeGrpcServiceProcess } from "@tracemesh/devkit/testing";

describeGrpcServiceProcess({
  name: "notifications",
  grpcService: "tracemesh.v1.NotificationsService",
  packageDir: path.resolve(__dirname, "..", ".."),
  invalidConfig: [
    ["GRPC_PORT", "abc"],
    ["EVENTS_MAX_DELIVERIES", "five"],
    ["REDIS_URL", "http://x"],
    ["USERS_ADDR", "not an address"],
  ],
});
