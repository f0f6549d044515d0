import { trace, isSpanContextValid, type Span } from "@opentelemetry/api";

const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * The X-Ray form of a W3C trace id: `1-` + the first 8 hex digits (the epoch seconds when the AWS X-Ray
 * id generator made the id) + `-` + the remaining 24. Throws on anything that is not a 32-hex-digit id.
 */
export function xrayTraceId(traceId: string): string {
  if (!TRACE_ID.test(traceId)) throw new Error(`not a trace id (32 lowercase hex digits): ${JSON.stringify(traceId)}`);
  return `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
}

/** The W3C form of an X-Ray trace id (`1-5f84c7a1-…` → 32 hex digits). */
export function traceIdFromXray(xrayId: string): string {
  const match = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/.exec(xrayId);
  if (!match) throw new Error(`not an X-Ray trace id (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx): ${JSON.stringify(xrayId)}`);
  return match[1] + match[2];
}

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
