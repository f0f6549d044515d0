import path from "node:path";
import { httpUrl, int, logLevel, port, str, type LogLevel } from "@tracemesh/runtime";

export interface FrontendConfig {
  port: number;
  /** Base URL of api; `/api/*` is forwarded there unchanged. */
  apiUrl: string;
  /** OTLP/HTTP base URL of the Collector (like OTEL_EXPORTER_OTLP_ENDPOINT); the browser's spans go to `<it>/v1/traces`. */
  otlpUrl: string;
  logLevel: LogLevel;
  /** Deadline of one proxied call (api or Collector). */
  requestTimeoutMs: number;
  /** Largest body forwarded to api (its own limit is 16 KiB) and to the Collector (a batch of spans). */
  apiBodyLimitBytes: number;
  otlpBodyLimitBytes: number;
  drainTimeoutMs: number;
  /** The Vite build (dist/web next to dist/src). */
  webRoot: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FrontendConfig {
  return {
    port: port(env, "PORT", 3000),
    apiUrl: httpUrl(env, "API_URL", "http://localhost:8080"),
    otlpUrl: httpUrl(env, "OTLP_URL", "http://localhost:4318"),
    logLevel: logLevel(env),
    requestTimeoutMs: int(env, "REQUEST_TIMEOUT_MS", 5000, { min: 100, max: 60_000 }),
    apiBodyLimitBytes: int(env, "API_BODY_LIMIT_BYTES", 64 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
    otlpBodyLimitBytes: int(env, "OTLP_BODY_LIMIT_BYTES", 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    drainTimeoutMs: int(env, "DRAIN_TIMEOUT_MS", 5000, { min: 0, max: 60_000 }),
    webRoot: str(env, "WEB_ROOT", path.join(__dirname, "..", "web")),
  };
}
