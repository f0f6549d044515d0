/**
 * `node --require @tracemesh/telemetry/register dist/src/main.js`: starts OpenTelemetry before the
 * service loads http, grpc-js, ioredis or pino. It installs no signal handlers and never exits the
 * process: the service's exitOnSignal owns shutdown and calls shutdownTelemetry() as its last step.
 */
import { startTelemetry } from "./telemetry.js";

try {
  startTelemetry();
} catch (err) {
  // Telemetry must never keep a service from starting.
  process.stderr.write(`[telemetry] not started: ${err instanceof Error ? err.stack : String(err)}\n`);
}
