import { SpanStatusCode, type Span } from "@opentelemetry/api";

/**
 * Runs `fn`, then ends `span`: a thrown error is recorded on the span (exception event, ERROR status)
 * and rethrown. The span is not made active; wrap `fn` in context.with for that.
 */
export async function endSpanAfter<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}
