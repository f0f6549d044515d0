// MODERATION_TRACING=otel: OpenTelemetry, as in every other service. The process was started with
// `node --require @tracemesh/telemetry/register`, so instrumentation-http already made the request's SERVER
// span (continuing activities' traceparent) and instrumentation-pino puts the ids on every log line; this
// file adds what the X-Ray SDK recorded by hand — the route, the user, one INTERNAL span per step, errors —
// under the same names, so X-Ray (through the Collector's awsxray exporter) and Honeycomb show the same trace.
//
// Loaded (by main.ts) only in this mode: nothing here requires the X-Ray SDK.
import { INVALID_SPAN_CONTEXT, SpanStatusCode, context, trace, type Span } from "@opentelemetry/api";
import { setHttpRoute } from "@tracemesh/telemetry";
import { isClientError, settle, type RequestTracer, type TraceScope } from "./tracing.js";

const tracer = trace.getTracer("@tracemesh/moderation");

/** The route of POST /v1/check: instrumentation-http names the SERVER span `POST /v1/check` after it. */
export const CHECK_ROUTE = "/v1/check";

/** Span attributes for what X-Ray keeps as metadata: an object or a list as JSON, a scalar as itself. */
function attributeValue(value: unknown): string | number | boolean {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? value : JSON.stringify(value);
}

/** Records a thrown error on `span` the way the X-Ray SDK flags a (sub)segment: 4xx → error, anything else → fault. */
function recordFailure(span: Span, err: unknown): void {
  if (isClientError(err)) {
    // The caller's mistake: kept as detail; the status stays UNSET (a 4xx is not a server span's error).
    span.setAttribute("app.error", err.message);
    return;
  }
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** Steps are INTERNAL spans, children of `parent` (explicitly, not through whatever context is active). */
function scopeOf(parent: Span): TraceScope {
  return {
    step: (name, fn) => {
      const span = tracer.startSpan(name, {}, trace.setSpan(context.active(), parent));
      return settle(
        () => context.with(trace.setSpan(context.active(), span), () => fn(scopeOf(span))),
        (err) => {
          if (err !== undefined) recordFailure(span, err);
          span.end();
        },
      );
    },
    detail: (key, value) => parent.setAttribute(`app.${key}`, attributeValue(value)),
  };
}

export function setUpOtel(): RequestTracer {
  return {
    mode: "otel",
    begin: () => {
      // instrumentation-http's SERVER span for this request (a non-recording one when the request is not
      // sampled or the SDK is disabled: every call below is then a no-op).
      setHttpRoute(CHECK_ROUTE);
      const server = trace.getActiveSpan() ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
      return {
        ...scopeOf(server),
        setUser: (handle) => server.setAttributes({ "app.user.handle": handle, "enduser.id": handle }),
        annotate: (key, value) => server.setAttribute(key, value),
        fail: (err) => recordFailure(server, err),
        logFields: () => ({}),
      };
    },
  };
}
