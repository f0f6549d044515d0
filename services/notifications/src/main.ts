// notifications: config → logger → Redis (one connection for requests, one for the blocking
// consumer) and the users client → gRPC server and events consumer → graceful shutdown.
import { UsersServiceClient } from "@tracemesh/proto";
import { createClient, createLogger, createRedis, exitOnSignal, loadConfigOrExit, runMain, startGrpcServer } from "@tracemesh/runtime";
import { startFaults } from "@tracemesh/flags";
import { flushErrorReports, initErrorReporting, shutdownTelemetry } from "@tracemesh/telemetry";
import { loadConfig } from "./config.js";
import { EventsConsumer } from "./consumer.js";
import { createNotificationsServer } from "./server.js";
import { NotificationsStore } from "./store.js";
import { knownUsersFrom } from "./users.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig());
  const logger = createLogger("notifications", config.logLevel);
  initErrorReporting("notifications", { logger });
  const faults = await startFaults("notifications", logger);
  const redis = createRedis(config.redisUrl, logger, { commandTimeoutMs: config.redisCommandTimeoutMs });
  // XREADGROUP BLOCK holds its connection: give it its own, with a timeout longer than the block.
  const consumerRedis = createRedis(config.redisUrl, logger, {
    commandTimeoutMs: config.consumer.blockMs + 3_000,
  });
  const users = createClient(UsersServiceClient, config.usersAddr);
  const consumer = new EventsConsumer(
    new NotificationsStore(consumerRedis, config.consumer.perUserCap),
    knownUsersFrom(users, config.usersDeadlineMs),
    logger,
    config.consumer,
    faults,
  );
  const grpc = await startGrpcServer({ port: config.grpcPort, services: [createNotificationsServer({ redis, logger })] });
  consumer.start();
  logger.info({ port: grpc.port, users: config.usersAddr }, "listening");
  exitOnSignal(
    logger,
    [
      // In parallel: the consumer finishes its batch (its blocking read returns within blockMs)
      // while gRPC drains.
      {
        name: "stop consumer and drain gRPC",
        run: () => Promise.all([consumer.stop(config.consumer.blockMs + 2_000), grpc.shutdown(8_000)]),
      },
      { name: "close users client", run: async () => users.close() },
      { name: "quit Redis", run: () => Promise.all([redis.quit(), consumerRedis.quit()]) },
      { name: "close fault flags", run: () => faults.close() },
      { name: "flush error reports", run: () => flushErrorReports(1000) },
      { name: "flush telemetry", run: () => shutdownTelemetry(2000) },
    ],
    // Above the sum of the steps' own bounds (max(8 s, block + 2 s ≤ 7 s) + Redis + 1 s + 2 s).
    14_000,
  );
}

runMain("notifications", main);
