import { trace, isSpanContextValid, type Span } from "@opentelemetry/api";
// The one X-Ray id conversion lives in the trace model; its ids entry point loads nothing else.
import { traceIdFromXray, xrayTraceId } from "@tracemesh/trace-model/ids";

export { traceIdFromXray, xrayTraceId };

export interface TraceIds {
  trace_id: string;
  span_id: string;
  xray_trace_id: string;
}

/** The ids of the active span (or of `span`), or undefined outside a sampled-or-not valid span. */
export function currentTraceIds(span: Span | undefined = trace.getActiveSpan()): TraceIds | undefined {
  const ctx = span?.spanContext();
  if (!ctx || !isSpanContextValid(ctx)) return undefined;
  return { trace_id: ctx.traceId, span_id: ctx.spanId, xray_trace_id: xrayTraceId(ctx.traceId) };
}

/**
 * instrumentation-pino's `logHook`: it already adds trace_id, span_id and trace_flags to every line
 * logged inside a span; this adds the X-Ray form so CloudWatch Logs Insights finds a trace's lines by
 * the id the X-Ray console shows.
 */
export function pinoLogHook(span: Span, record: Record<string, unknown>): void {
  const ids = currentTraceIds(span);
  if (ids) record["xray_trace_id"] = ids.xray_trace_id;
}
