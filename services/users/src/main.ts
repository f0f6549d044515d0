// users: config → logger → Redis → gRPC server → graceful shutdown.
import { createLogger, createRedis, exitOnSignal, loadConfigOrExit, runMain, startGrpcServer } from "@tracemesh/runtime";
import { startFaults } from "@tracemesh/flags";
import { flushErrorReports, initErrorReporting, shutdownTelemetry } from "@tracemesh/telemetry";
import { loadConfig } from "./config.js";
import { createUsersServer } from "./server.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig());
  const logger = createLogger("users", config.logLevel);
  initErrorReporting("users", { logger });
  const faults = await startFaults("users", logger);
  const redis = createRedis(config.redisUrl, logger, { commandTimeoutMs: config.redisCommandTimeoutMs });
  const grpc = await startGrpcServer({
    port: config.grpcPort,
    services: [createUsersServer({ redis, logger, sessionTtlSeconds: config.sessionTtlSeconds, faults })],
  });
  logger.info({ port: grpc.port }, "listening");
  exitOnSignal(
    logger,
    [
      { name: "drain gRPC", run: () => grpc.shutdown(8_000) },
      { name: "quit Redis", run: () => redis.quit() },
      { name: "close fault flags", run: () => faults.close() },
      { name: "flush error reports", run: () => flushErrorReports(1000) },
      { name: "flush telemetry", run: () => shutdownTelemetry(2000) },
    ],
    // Above the sum of the steps' own bounds (8 s + Redis + 1 s + 2 s).
    14_000,
  );
}

runMain("users", main);
