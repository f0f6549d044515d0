import pino, { type Logger } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger };

// Never log credentials: bearer tokens, session tokens, passwords, API keys.
const REDACT = [
  "token",
  "*.token",
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  'req.headers["x-honeycomb-team"]',
  "access_token",
  "*.access_token",
];

/**
 * JSON lines on stdout. When the OpenTelemetry SDK is running, its pino instrumentation adds
 * trace_id, span_id and trace_flags to every line logged inside a span.
 */
export function createLogger(service: string, level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
