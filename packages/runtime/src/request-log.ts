// One log line per unit of work a service handles — an HTTP request, a gRPC call, a stream event — written here
// once for every service (the HTTP servers, the gRPC `unary` wrapper, the stream consumer), so every line has the
// same shape: msg "request" | "rpc" | "event", what was handled, its outcome and duration_ms; info when it went
// well, error when it failed on our side. Written inside the work's span, so the OpenTelemetry pino
// instrumentation adds trace_id, span_id and trace_flags and @tracemesh/telemetry's log hook xray_trace_id: the
// line Fluent Bit ships to CloudWatch Logs is found from its trace (`tracemesh trace <id>`). Secrets never appear:
// no headers or bodies are logged, and the logger redacts token fields anyway (logger.ts).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "./logger.js";

/** The `msg` of the line for each kind of work; CloudWatch Logs queries look for these. */
export const HANDLED_MESSAGES = { http: "request", grpc: "rpc", event: "event" } as const;
export type HandledKind = keyof typeof HANDLED_MESSAGES;

/**
 * Writes the one line for a unit of work: error level when `failed`, else info. Field names never reuse the keys
 * the container runtime and Fluent Bit put beside the line (`time`, `stream`, `log`, `kubernetes`): merged, they
 * would collide (the stream event's Redis stream is `redis_stream`).
 */
export function logHandled(logger: Logger, kind: HandledKind, fields: Record<string, unknown>, startedNs: bigint, failed: boolean): void {
  const line = { ...fields, duration_ms: Math.round(Number(process.hrtime.bigint() - startedNs) / 1e4) / 100 };
  if (failed) logger.error(line, HANDLED_MESSAGES[kind]);
  else logger.info(line, HANDLED_MESSAGES[kind]);
}

/** Health and readiness probes: logged only when they fail (a kubelet probes every few seconds, untraced). */
export const PROBE_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz", "/livez"]);

export interface HttpRequestLogOptions {
  /** The route pattern once known (e.g. `/api/activities/:uuid`); read when the response is done. */
  route?: () => string;
  /** Fields added to the line (e.g. a request id). */
  fields?: Record<string, unknown>;
  /** Whether the request is worth a line when it succeeded (default: all but PROBE_PATHS). */
  logSuccess?: (path: string) => boolean;
}

/**
 * Logs `req` once its response is done (or the client went away: status 499): method, route, path, status,
 * duration_ms; error level for 5xx. Call it at the start of the request handler, inside the request's span.
 */
export function logHttpRequest(logger: Logger, req: IncomingMessage, res: ServerResponse, opts: HttpRequestLogOptions = {}): void {
  const started = process.hrtime.bigint();
  const method = req.method ?? "GET";
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  res.on("close", () => {
    const status = res.writableFinished ? res.statusCode : 499;
    const worth = opts.logSuccess ? opts.logSuccess(path) : !PROBE_PATHS.has(path);
    if (status < 400 && !worth) return;
    const route = opts.route?.();
    logHandled(logger, "http", { ...opts.fields, method, ...(route ? { route } : {}), path, status }, started, status >= 500);
  });
}
