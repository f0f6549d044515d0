// rollbar's types are declared as an ES module while its `require` entry is CommonJS that exports
// the class itself: take the types with resolution-mode "import" and the value with require().
type RollbarModule = typeof import("rollbar", { with: { "resolution-mode": "import" } });
type Rollbar = InstanceType<RollbarModule["default"]>;
type Dictionary = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Rollbar = require("rollbar") as RollbarModule["default"];
import { currentTraceIds } from "./ids.js";

/** What initErrorReporting needs from a logger (a pino Logger fits). */
export interface InfoLogger {
  info(obj: object, msg: string): void;
}

/** Field names whose values never leave the process (added to Rollbar's own defaults). */
export const SCRUB_FIELDS = [
  "token",
  "access_token",
  "accessToken",
  "refresh_token",
  "password",
  "passwd",
  "secret",
  "authorization",
  "Authorization",
  "api_key",
  "apiKey",
  "x-honeycomb-team",
  "x-rollbar-access-token",
  "cookie",
  "set-cookie",
];

/**
 * reportError's custom data, keyed by the error. Passed to rollbar.error() as an argument instead,
 * an object with a key such as `route`, `url` or `method` would be taken for an HTTP request.
 */
const customByError = new WeakMap<Error, Record<string, unknown>>();

const ROLLBAR_KEY = Symbol.for("tracemesh.telemetry.rollbar");
type Global = typeof globalThis & { [ROLLBAR_KEY]?: Rollbar };
const global = globalThis as Global;

export interface ErrorReportingOptions {
  logger?: InfoLogger;
  env?: NodeJS.ProcessEnv;
  /** Exit the process after reporting an uncaught exception (Node's own behaviour). Default true. */
  exitOnUncaughtException?: boolean;
}

/**
 * Starts Rollbar for this service: uncaught exceptions and unhandled rejections become items, each
 * carrying the active trace's ids when there is one. Without ROLLBAR_ACCESS_TOKEN it is disabled
 * (no network, one info log) and returns false. ROLLBAR_ENDPOINT points it elsewhere (the local
 * stand-in), e.g. http://127.0.0.1:8090/api/1/item/.
 */
export function initErrorReporting(serviceName: string, opts: ErrorReportingOptions = {}): boolean {
  const env = opts.env ?? process.env;
  const accessToken = env.ROLLBAR_ACCESS_TOKEN?.trim();
  if (!accessToken) {
    opts.logger?.info({ service: serviceName }, "error reporting disabled (ROLLBAR_ACCESS_TOKEN not set)");
    return false;
  }
  const endpoint = env.ROLLBAR_ENDPOINT?.trim() || undefined;
  global[ROLLBAR_KEY] = new Rollbar({
    accessToken,
    endpoint,
    environment: env.DEPLOYMENT_ENVIRONMENT?.trim() || "local",
    codeVersion: env.SERVICE_VERSION?.trim() || undefined,
    captureUncaught: true,
    captureUnhandledRejections: true,
    // Rollbar's handler replaces Node's default crash: keep crashing, after the item is sent
    // (bounded by `timeout`).
    exitOnUncaughtException: opts.exitOnUncaughtException ?? true,
    timeout: 3000,
    scrubFields: SCRUB_FIELDS,
    scrubHeaders: ["authorization", "cookie", "x-honeycomb-team"],
    payload: { server: { root: process.cwd() } },
    // Every item (uncaught ones too) names the service and the trace it happened in. (A `custom`
    // in `payload` would replace the item's own custom data, so it is added here instead.)
    transform: (data: Dictionary, item: Dictionary) => {
      const reported = item["err"] instanceof Error ? customByError.get(item["err"]) : undefined;
      const custom = { service: serviceName, ...(data["custom"] as object | undefined), ...(reported ?? currentTraceIds()) };
      // Rollbar scrubs before this transform runs, so custom data is scrubbed here.
      data["custom"] = scrub(custom);
    },
  });
  opts.logger?.info({ service: serviceName, endpoint: endpoint ?? "default" }, "error reporting enabled (Rollbar)");
  return true;
}

const SCRUBBED = new Set(SCRUB_FIELDS.map((f) => f.toLowerCase()));

/** A copy of `value` with the values of secret-looking keys (SCRUB_FIELDS, any case) masked. */
export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SCRUBBED.has(key.toLowerCase()) ? "********" : scrub(v, depth + 1);
  }
  return out;
}

/** Whether initErrorReporting enabled Rollbar in this process. */
export function errorReportingEnabled(): boolean {
  return global[ROLLBAR_KEY] !== undefined;
}

/**
 * Sends `err` to Rollbar with `extra` and the active trace's trace_id, span_id and xray_trace_id
 * as custom data. Resolves once Rollbar accepted it or failed (never rejects); a no-op when disabled.
 */
export function reportError(err: unknown, extra: Record<string, unknown> = {}): Promise<void> {
  const rollbar = global[ROLLBAR_KEY];
  if (!rollbar) return Promise.resolve();
  const error = err instanceof Error ? err : new Error(String(err));
  // The ids are taken now: Rollbar may build the item after the active span has changed.
  customByError.set(error, { ...extra, ...currentTraceIds() });
  return new Promise<void>((resolve) => {
    rollbar.error(error, () => resolve());
  });
}

/** Waits (at most timeoutMs) for items still being sent. For the services' shutdown steps. */
export function flushErrorReports(timeoutMs = 2000): Promise<void> {
  const rollbar = global[ROLLBAR_KEY];
  if (!rollbar) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    rollbar.wait(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
