import type { Server } from "node:http";
import { errorText } from "./errors.js";
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

/**
 * Runs a process's main. A failure to start (a port in use, a dependency refused…) prints one line,
 * `<name> failed to start: <message>`, and exits 1 — the same format in every service, like the one line of
 * a configuration error (exit 2).
 */
export function runMain(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name} failed to start: ${errorText(err)}\n`);
    process.exit(1);
  });
}
