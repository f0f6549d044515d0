export * from "./ports.js";
export * from "./wait.js";
export * from "./process.js";
export * from "./redis-server.js";
export * from "./grpc-health.js";
