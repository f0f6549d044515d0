import type { Server } from "node:http";
import type { Logger } from "./logger.js";

export interface ShutdownStep {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * On SIGTERM or SIGINT runs the steps in order (stop accepting and drain, then close clients),
 * bounded by timeoutMs overall, and exits 0 — or 1 when the bound was hit. The OpenTelemetry SDK
 * also listens for SIGTERM, so Node no longer exits by itself: this handler must.
 */
export function exitOnSignal(logger: Logger, steps: ShutdownStep[], timeoutMs: number): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const bound = setTimeout(() => {
      logger.error({ timeoutMs }, "shutdown bound exceeded; exiting");
      process.exit(1);
    }, timeoutMs);
    bound.unref();
    for (const step of steps) {
      try {
        await step.run();
      } catch (err) {
        logger.warn({ err, step: step.name }, "shutdown step failed");
      }
    }
    clearTimeout(bound);
    logger.info("stopped");
    // Let pino's async destination flush its last lines before exiting.
    logger.flush?.();
    setImmediate(() => process.exit(0));
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/**
 * The first shutdown step of an HTTP service: server.close stops accepting and closes idle keep-alive
 * sockets; in-flight requests get drainTimeoutMs to finish before their connections are cut.
 */
export function drainHttpServer(server: Server, drainTimeoutMs: number): ShutdownStep {
  return {
    name: "drain http",
    run: () =>
      new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
        cut.unref();
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
      }),
  };
}
