import path from "node:path";

export * from "./gen/tracemesh/v1/users.js";
export * from "./gen/tracemesh/v1/activities.js";
export * from "./gen/tracemesh/v1/notifications.js";

/** Root of the .proto tree, for server reflection and tools such as grpcurl. */
export const PROTO_ROOT = path.join(__dirname, "..", "proto");

/** Every .proto file of the tracemesh.v1 package, relative to PROTO_ROOT. */
export const PROTO_FILES = [
  "tracemesh/v1/users.proto",
  "tracemesh/v1/activities.proto",
  "tracemesh/v1/notifications.proto",
];
