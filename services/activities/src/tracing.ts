// Custom OpenTelemetry instrumentation of activities. Only @opentelemetry/api is used: without the
// SDK (tests, `node dist/src/main.js`) every call here is a no-op.
import { context, SpanKind, trace, type Span } from "@opentelemetry/api";
import { endSpanAfter, eventSpanAttributes, injectEventTraceContext, EVENTS_STREAM, type EventTraceContext } from "@tracemesh/runtime";
import type { ModerationOutcome } from "./moderation.js";

const tracer = trace.getTracer("@tracemesh/activities");

/** Runs fn with span active and ends it (recording a thrown error). */
function inSpan<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  return endSpanAfter(span, () => context.with(trace.setSpan(context.active(), span), fn));
}

/**
 * Runs the write that appends an event inside a PRODUCER span `send tracemesh:events`; `write` gets
 * the span's context as traceparent/tracestate to store in the entry, so the consumer's span
 * continues this trace. `write` resolves the stream id of the appended entry (or undefined).
 */
export function sendEvent<T>(write: (trace: EventTraceContext) => Promise<{ result: T; streamId?: string }>): Promise<T> {
  const span = tracer.startSpan(`send ${EVENTS_STREAM}`, { kind: SpanKind.PRODUCER, attributes: eventSpanAttributes("send") });
  return inSpan(span, async () => {
    const { result, streamId } = await write(injectEventTraceContext());
    if (streamId) span.setAttribute("messaging.message.id", streamId);
    return result;
  });
}

/** The custom span around building one page of a feed. */
export function assembleTimeline<T>(fn: (span: Span) => Promise<T>): Promise<T> {
  const span = tracer.startSpan("assemble timeline", { kind: SpanKind.INTERNAL });
  return inSpan(span, () => fn(span));
}

/** Marks the active (gRPC server) span and `extra` with the number of activities returned. */
export function setResultLength(n: number, extra?: Span): void {
  trace.getActiveSpan()?.setAttribute("app.result_length", n);
  extra?.setAttribute("app.result_length", n);
}

/** Marks the active span with the acting user. */
export function setActingUser(handle: string): void {
  trace.getActiveSpan()?.setAttributes({ "enduser.id": handle, "app.user.handle": handle });
}

/** Marks the active (gRPC server) span with what moderation said, or why it was skipped. */
export function setModerationOutcome(outcome: ModerationOutcome): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (outcome.verdict === "skipped") {
    span.setAttributes({ "app.moderation.skipped": true, "app.moderation.skip_reason": outcome.reason, "app.moderation.skip_detail": outcome.detail });
    return;
  }
  span.setAttributes({ "app.moderation.skipped": false, "app.moderation.allowed": outcome.verdict === "allowed" });
  if (outcome.verdict === "refused") span.setAttribute("app.moderation.reasons", outcome.reasons);
}
