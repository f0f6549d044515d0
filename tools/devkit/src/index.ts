// @tracemesh/devkit — the test harness: free ports, bounded waits, managed processes, a real redis-server, the
// real Collector, and local stand-ins for the SaaS we cannot reach (Honeycomb, X-Ray, Rollbar). The gRPC
// service process suite is @tracemesh/devkit/testing (it loads node:test).
export * from "./paths.js";
export * from "./ports.js";
export * from "./wait.js";
export * from "./steps.js";
export * from "./process.js";
export * from "./redis-server.js";
export * from "./grpc-health.js";
export * from "./sinks/index.js";
export * from "./collector.js";
export * from "./fluent-bit.js";
