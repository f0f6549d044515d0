// moderation: config → logger → X-Ray SDK → HTTP server → graceful shutdown. No OpenTelemetry SDK in
// this process (it is not started with @tracemesh/telemetry/register): it shows a service still on the
// X-Ray SDK in the same traces as the OpenTelemetry services.
import { createLogger, exitOnSignal, loadConfigOrExit } from "@tracemesh/runtime";
import { loadConfig } from "./config.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig());
  const logger = createLogger("moderation", config.logLevel);
  // Required only now: the SDK reads (and throws on) AWS_XRAY_DAEMON_ADDRESS when it loads.
  const { setUpXray } = await import("./xray.js");
  const { createModerationServer } = await import("./server.js");
  setUpXray(logger, config.xrayDaemonAddress);
  const server = createModerationServer({ logger });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, "0.0.0.0", () => resolve());
  });
  const address = server.address();
  logger.info({ port: typeof address === "object" && address ? address.port : config.port, xray_daemon: config.xrayDaemonAddress }, "listening");
  exitOnSignal(
    logger,
    [
      {
        name: "drain HTTP",
        run: () =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              server.closeAllConnections();
              resolve();
            }, 5_000);
            timer.unref();
            server.close(() => {
              clearTimeout(timer);
              resolve();
            });
            server.closeIdleConnections();
          }),
      },
    ],
    // Above the drain bound.
    8_000,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`moderation failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
