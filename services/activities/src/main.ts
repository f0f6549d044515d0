// activities: config → logger → Redis and the users client → gRPC server → graceful shutdown.
import { UsersServiceClient } from "@tracemesh/proto";
import { createClient, createLogger, createRedis, exitOnSignal, loadConfigOrExit, runMain, startGrpcServer } from "@tracemesh/runtime";
import { startFaults } from "@tracemesh/flags";
import { flushErrorReports, initErrorReporting, shutdownTelemetry } from "@tracemesh/telemetry";
import { loadConfig } from "./config.js";
import { createModerationClient } from "./moderation.js";
import { createActivitiesServer } from "./server.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig());
  const logger = createLogger("activities", config.logLevel);
  initErrorReporting("activities", { logger });
  const faults = await startFaults("activities", logger);
  const redis = createRedis(config.redisUrl, logger, { commandTimeoutMs: config.redisCommandTimeoutMs });
  const users = createClient(UsersServiceClient, config.usersAddr);
  const grpc = await startGrpcServer({
    port: config.grpcPort,
    services: [
      createActivitiesServer({
        redis,
        logger,
        users,
        usersDeadlineMs: config.usersDeadlineMs,
        eventsMaxLen: config.eventsMaxLen,
        moderation: config.moderationUrl ? createModerationClient(config.moderationUrl) : undefined,
        moderationDeadlineMs: config.moderationDeadlineMs,
        faults,
      }),
    ],
  });
  logger.info({ port: grpc.port, moderation: config.moderationUrl ?? "off" }, "listening");
  exitOnSignal(
    logger,
    [
      { name: "drain gRPC", run: () => grpc.shutdown(8_000) },
      { name: "close users client", run: async () => users.close() },
      { name: "quit Redis", run: () => redis.quit() },
      { name: "close fault flags", run: () => faults.close() },
      { name: "flush error reports", run: () => flushErrorReports(1000) },
      { name: "flush telemetry", run: () => shutdownTelemetry(2000) },
    ],
    // Above the sum of the steps' own bounds (8 s + Redis + 1 s + 2 s).
    14_000,
  );
}

runMain("activities", main);
