// What moderation records about a request, written once for both ways it can be traced
// (MODERATION_TRACING): the X-Ray SDK (xray.ts) or OpenTelemetry (otel.ts). The handlers and the server
// speak only this; main.ts loads the one implementation the configuration names, so in `otel` mode the
// X-Ray SDK is never required, and in `xray-sdk` mode no OpenTelemetry SDK is (only @tracemesh/runtime's use
// of the OpenTelemetry API, which is a no-op without an SDK).
import type http from "node:http";

/** A place to record steps and details: the request itself, or one of its steps. */
export interface TraceScope {
  /**
   * Runs `fn` (sync or async) as a named step — an X-Ray subsegment or an INTERNAL span, a child of this
   * scope — and rethrows what it throws: a 4xx error marks the step an error (X-Ray `error`), anything
   * else a fault with the exception recorded.
   */
  step<T>(name: string, fn: (scope: TraceScope) => T): T;
  /** Unindexed detail (X-Ray metadata; a span attribute `app.<key>`). */
  detail(key: string, value: unknown): void;
}

export interface RequestTrace extends TraceScope {
  /** The acting user: X-Ray annotation `app.user.handle` and the segment's user; span attributes `app.user.handle`, `enduser.id`. */
  setUser(handle: string): void;
  /** An indexed value (X-Ray annotation; a span attribute). */
  annotate(key: string, value: string | number | boolean): void;
  /** A bug while handling the request: a fault with the exception as its cause (the span: exception event, ERROR status). */
  fail(err: unknown): void;
  /**
   * Ids the request's log lines carry (trace_id, xray_trace_id, span_id). OpenTelemetry's pino
   * instrumentation adds them to every line by itself, so there this is empty.
   */
  logFields(): Record<string, string>;
}

export interface RequestTracer {
  /** "xray-sdk" or "otel": what main.ts loaded. */
  readonly mode: string;
  /** This request's trace, continuing the caller's; it ends when the response finishes. */
  begin(req: http.IncomingMessage, res: http.ServerResponse): RequestTrace;
}

/** An error carrying a 4xx HTTP status: the caller's fault, so X-Ray `error`, not `fault`. */
export function isClientError(err: unknown): err is Error & { status: number } {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/**
 * Runs `fn` (sync or async) around `finish`: `finish()` once it returned or its promise resolved,
 * `finish(err)` once it threw or rejected — then rethrows. Both tracers close their steps this way.
 */
export function settle<T>(fn: () => T, finish: (err?: unknown) => void): T {
  const fail = (err: unknown): never => {
    finish(err);
    throw err;
  };
  let result: T;
  try {
    result = fn();
  } catch (err) {
    return fail(err);
  }
  if (result instanceof Promise) {
    return result.then((value: unknown) => {
      finish();
      return value;
    }, fail) as T;
  }
  finish();
  return result;
}
