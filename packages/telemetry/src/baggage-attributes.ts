import { propagation, type Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";

/** Baggage entries copied onto spans: the browser's `session.id` (services/frontend puts it in every request). */
export const BAGGAGE_SPAN_ATTRIBUTES = ["session.id"] as const;
/** Baggage comes from the client: longer values are not copied. */
const MAX_VALUE_LENGTH = 128;

/**
 * Copies the chosen W3C baggage entries of the parent context onto each span as it starts, so every
 * service's spans of one browser session can be found by `session.id` (Honeycomb, X-Ray metadata).
 */
export class BaggageAttributesSpanProcessor implements SpanProcessor {
  constructor(private readonly keys: readonly string[] = BAGGAGE_SPAN_ATTRIBUTES) {}

  onStart(span: Span, parentContext: Context): void {
    const baggage = propagation.getBaggage(parentContext);
    if (!baggage) return;
    for (const key of this.keys) {
      const value = baggage.getEntry(key)?.value;
      if (value && value.length <= MAX_VALUE_LENGTH && span.attributes[key] === undefined) span.setAttribute(key, value);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
