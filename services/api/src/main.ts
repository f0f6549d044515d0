// api: config → logger → clients → HTTP server → graceful shutdown on SIGTERM/SIGINT.
import fs from "node:fs";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { createLogger, createRedis, drainHttpServer, exitOnSignal, loadConfigOrExit, runMain } from "@tracemesh/runtime";
import { startFaults } from "@tracemesh/flags";
import { Backends } from "./clients.js";
import { loadConfig } from "./config.js";
import { buildRouter } from "./handlers.js";
import { MemoryLeak } from "./leak.js";
import { createServer } from "./server.js";
import { flushErrorReports, initErrorReporting, shutdownTelemetry } from "@tracemesh/telemetry";

/** The OpenAPI document kept in the repo next to package.json (dist/src/main.js → ../../). */
export const OPENAPI_PATH = path.join(__dirname, "..", "..", "openapi.json");

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig());
  const logger = createLogger("api", config.logLevel);
  initErrorReporting("api", { logger });
  const faults = await startFaults("api", logger);

  const backends = new Backends({
    users: config.usersAddr,
    activities: config.activitiesAddr,
    notifications: config.notificationsAddr,
  });
  // Only for /readyz; short timeouts so a dead Redis makes readiness fail fast, not hang.
  const redis = createRedis(config.redisUrl, logger, { commandTimeoutMs: 500 });
  const openapi = JSON.parse(fs.readFileSync(OPENAPI_PATH, "utf8")) as unknown;

  const router = buildRouter({ backends, redis, openapi, enableDebugRoutes: config.enableDebugRoutes });
  const server = createServer({ router, logger, requestTimeoutMs: config.requestTimeoutMs, leak: new MemoryLeak(faults, logger) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, users: config.usersAddr, activities: config.activitiesAddr, notifications: config.notificationsAddr }, "listening");

  exitOnSignal(
    logger,
    [
      drainHttpServer(server, config.drainTimeoutMs),
      { name: "close grpc clients", run: async () => backends.close() },
      { name: "close redis", run: () => redis.quit().catch(() => redis.disconnect()) },
      { name: "close fault flags", run: () => faults.close() },
      { name: "flush error reports", run: () => flushErrorReports(1000) },
      { name: "flush telemetry", run: () => shutdownTelemetry(2000) },
    ],
    config.drainTimeoutMs + 5000,
  );
}

runMain("api", main);
