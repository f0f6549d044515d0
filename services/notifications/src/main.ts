// notifications: config → logger → Redis (one connection for requests, one for the blocking
// consumer) → gRPC server and events consumer → graceful shutdown.
import { createLogger, createRedis, exitOnSignal, loadConfigOrExit, startGrpcServer } from "@tracemesh/runtime";
import { startFaults } from "@tracemesh/flags";
import { flushErrorReports, initErrorReporting, shutdownTelemetry } from "@tracemesh/telemetry";
import { loadConfig } from "./config.js";
import { EventsConsumer } from "./consumer.js";
import { createNotificationsServer } from "./server.js";
import { NotificationsStore } from "./store.js";

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
  const consumer = new EventsConsumer(
    new NotificationsStore(consumerRedis, config.consumer.perUserCap),
    logger,
    config.consumer,
    faults,
  );
  const grpc = await startGrpcServer({ port: config.grpcPort, services: [createNotificationsServer({ redis, logger })] });
  consumer.start();
  logger.info({ port: grpc.port }, "listening");
  exitOnSignal(
    logger,
    [
      // In parallel: the consumer finishes its batch (its blocking read returns within blockMs)
      // while gRPC drains.
      {
        name: "stop consumer and drain gRPC",
        run: () => Promise.all([consumer.stop(config.consumer.blockMs + 2_000), grpc.shutdown(8_000)]),
      },
      { name: "quit Redis", run: () => Promise.all([redis.quit(), consumerRedis.quit()]) },
      { name: "close fault flags", run: () => faults.close() },
      { name: "flush error reports", run: () => flushErrorReports(1000) },
      { name: "flush telemetry", run: () => shutdownTelemetry(2000) },
    ],
    // Above the sum of the steps' own bounds (max(8 s, block + 2 s ≤ 7 s) + Redis + 1 s + 2 s).
    14_000,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`notifications failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
