// moderation: config → logger → tracing (the X-Ray SDK or OpenTelemetry, MODERATION_TRACING) → HTTP server →
// graceful shutdown. Only the chosen tracer's module is loaded: in `otel` mode the X-Ray SDK never is.
import type { AddressInfo } from "node:net";
import { ConfigError, createLogger, drainHttpServer, exitOnSignal, loadConfigOrExit, type ShutdownStep } from "@tracemesh/runtime";
import { loadConfig, type ModerationConfig } from "./config.js";
import type { RequestTracer } from "./tracing.js";

/**
 * Whether an OpenTelemetry SDK registered its tracer provider in this process — read from the global slot
 * of @opentelemetry/api 1.x, so the check itself loads no OpenTelemetry module.
 */
function openTelemetryRunning(): boolean {
  const slot = (globalThis as Record<symbol, { trace?: unknown } | undefined>)[Symbol.for("opentelemetry.js.api.1")];
  return slot?.trace !== undefined;
}

/** The mode must match how the process was started: one tracer per request, never two, never none by mistake. */
function checkStartedFor(config: ModerationConfig, env: NodeJS.ProcessEnv): void {
  const running = openTelemetryRunning();
  if (config.tracing === "xray-sdk" && running) {
    throw new ConfigError(
      "MODERATION_TRACING",
      "is xray-sdk, but an OpenTelemetry SDK runs in this process (--require @tracemesh/telemetry/register?): start it with `node dist/src/main.js`, or set MODERATION_TRACING=otel",
    );
  }
  if (config.tracing === "otel" && !running && (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() !== "true") {
    throw new ConfigError(
      "MODERATION_TRACING",
      "is otel, but no OpenTelemetry SDK runs in this process: start it with `node --require @tracemesh/telemetry/register dist/src/main.js` (or set OTEL_SDK_DISABLED=true to run it untraced)",
    );
  }
}

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => {
    const loaded = loadConfig();
    checkStartedFor(loaded, process.env);
    return loaded;
  });
  const logger = createLogger("moderation", config.logLevel);
  let tracer: RequestTracer;
  const flush: ShutdownStep[] = [];
  if (config.tracing === "otel") {
    const [{ setUpOtel }, { shutdownTelemetry }] = await Promise.all([import("./otel.js"), import("@tracemesh/telemetry")]);
    tracer = setUpOtel();
    flush.push({ name: "flush telemetry", run: () => shutdownTelemetry(2000) });
  } else {
    // Required only now: the SDK reads (and throws on) AWS_XRAY_DAEMON_ADDRESS when it loads. Its segments
    // leave over UDP as each request ends: nothing to flush. Manual mode must be set before it loads too:
    // otherwise it starts cls-hooked, whose async hook stays on (even after enableManualMode()) and runs on
    // every async operation of the process.
    process.env.AWS_XRAY_MANUAL_MODE = "true";
    const { setUpXray } = await import("./xray.js");
    tracer = setUpXray(logger, config.xrayDaemonAddress!);
  }
  const { createModerationServer } = await import("./server.js");
  const server = createModerationServer({ logger, tracer });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, "0.0.0.0", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, tracing: tracer.mode, ...(config.xrayDaemonAddress ? { xray_daemon: config.xrayDaemonAddress } : {}) }, "listening");
  exitOnSignal(logger, [drainHttpServer(server, config.drainTimeoutMs), ...flush], config.drainTimeoutMs + 5000);
}

main().catch((err: unknown) => {
  process.stderr.write(`moderation failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
