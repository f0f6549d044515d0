// The one span model of tracemesh: what the Collector's file exporter writes, what the Honeycomb stand-in
// receives and what `compare`, the demo, the benchmarks and the tests read. Ids are lowercase hex, times
// nanoseconds since the epoch, attributes plain values.

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

export type SpanKind = "UNSPECIFIED" | "INTERNAL" | "SERVER" | "CLIENT" | "PRODUCER" | "CONSUMER";
export type StatusCode = "UNSET" | "OK" | "ERROR";

/** The span kinds by name, for readable comparisons (`span.kind === SPAN_KIND.SERVER`). */
export const SPAN_KIND = {
  UNSPECIFIED: "UNSPECIFIED",
  INTERNAL: "INTERNAL",
  SERVER: "SERVER",
  CLIENT: "CLIENT",
  PRODUCER: "PRODUCER",
  CONSUMER: "CONSUMER",
} as const satisfies Record<SpanKind, SpanKind>;

/** OTLP's enum order (SpanKind 0…5, StatusCode 0…2): the wire and the file exporter use the numbers. */
export const SPAN_KINDS: readonly SpanKind[] = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"];
export const STATUS_CODES: readonly StatusCode[] = ["UNSET", "OK", "ERROR"];

export interface SpanLink {
  traceId: string;
  spanId: string;
}

export interface SpanEvent {
  name: string;
  attributes: Attributes;
}

/** One span with its resource and instrumentation scope. */
export interface Span {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKind;
  startNs: bigint;
  endNs: bigint;
  statusCode: StatusCode;
  statusMessage: string;
  attributes: Attributes;
  events: SpanEvent[];
  links: SpanLink[];
  /** The resource's `service.name` ("unknown_service" when it has none). */
  serviceName: string;
  resource: Attributes;
  /** The instrumentation scope's name, e.g. "@opentelemetry/instrumentation-http". */
  scope: string;
}

/** The span's duration in milliseconds. */
export function durationMs(span: Pick<Span, "startNs" | "endNs">): number {
  return Number(span.endNs - span.startNs) / 1e6;
}
