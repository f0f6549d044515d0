export * from "./config.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./grpc.js";
export * from "./keys.js";
export * from "./lifecycle.js";
export * from "./logger.js";
export * from "./redis.js";
