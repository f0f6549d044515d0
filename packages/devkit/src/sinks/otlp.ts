import zlib from "node:zlib";
import protobuf from "protobufjs";

/**
 * The part of the OTLP trace protocol (opentelemetry-proto v1, trace/common/resource) the stand-ins
 * decode. Field numbers are the upstream ones; fields not listed here are skipped by the decoder.
 */
const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue {
  oneof value {
    string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Status { string message = 2; int32 code = 3; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; string name = 5;
  int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; repeated Event events = 11; repeated Link links = 13; Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const ExportTraceServiceRequest = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType(
  "otlp.ExportTraceServiceRequest",
);

export type AttributeValue = string | number | boolean | AttributeValue[] | { [key: string]: AttributeValue } | null;

/** One span with its resource and scope, ids as lowercase hex, attributes as a plain object. */
export interface FlatSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
  attributes: Record<string, AttributeValue>;
  resource: Record<string, AttributeValue>;
  scope: string;
  events: Array<{ name: string; attributes: Record<string, AttributeValue> }>;
  links: Array<{ traceId: string; spanId: string }>;
}

export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

// Both the protobuf decoder's toObject() and OTLP JSON use camelCase keys; ids are base64 in the
// former and hex in the latter, int64 values are strings in both.
type Json = Record<string, unknown>;

function hex(id: unknown, idsAreHex: boolean): string {
  if (typeof id !== "string" || id === "") return "";
  return idsAreHex ? id.toLowerCase() : Buffer.from(id, "base64").toString("hex");
}

function anyValue(v: unknown): AttributeValue {
  const value = (v ?? {}) as Json;
  if ("stringValue" in value) return String(value.stringValue);
  if ("boolValue" in value) return Boolean(value.boolValue);
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return Number(value.doubleValue);
  if ("arrayValue" in value) return (((value.arrayValue as Json)?.values as unknown[]) ?? []).map(anyValue);
  if ("kvlistValue" in value) return keyValues((value.kvlistValue as Json)?.values);
  if ("bytesValue" in value) return String(value.bytesValue);
  return null;
}

function keyValues(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const kv of (list as Json[] | undefined) ?? []) out[String(kv.key)] = anyValue(kv.value);
  return out;
}

/** Flattens an ExportTraceServiceRequest (decoded protobuf or OTLP JSON) into spans. */
export function flattenTraces(request: unknown, opts: { idsAreHex: boolean }): FlatSpan[] {
  const spans: FlatSpan[] = [];
  for (const rs of ((request as Json)?.resourceSpans as Json[] | undefined) ?? []) {
    const resource = keyValues((rs.resource as Json | undefined)?.attributes);
    for (const ss of (rs.scopeSpans as Json[] | undefined) ?? []) {
      const scope = String((ss.scope as Json | undefined)?.name ?? "");
      for (const s of (ss.spans as Json[] | undefined) ?? []) {
        const status = (s.status as Json | undefined) ?? {};
        spans.push({
          traceId: hex(s.traceId, opts.idsAreHex),
          spanId: hex(s.spanId, opts.idsAreHex),
          parentSpanId: hex(s.parentSpanId, opts.idsAreHex),
          name: String(s.name ?? ""),
          kind: Number(s.kind ?? 0),
          startTimeUnixNano: String(s.startTimeUnixNano ?? "0"),
          endTimeUnixNano: String(s.endTimeUnixNano ?? "0"),
          statusCode: Number(status.code ?? 0),
          statusMessage: String(status.message ?? ""),
          attributes: keyValues(s.attributes),
          resource,
          scope,
          events: ((s.events as Json[] | undefined) ?? []).map((e) => ({
            name: String(e.name ?? ""),
            attributes: keyValues(e.attributes),
          })),
          links: ((s.links as Json[] | undefined) ?? []).map((l) => ({
            traceId: hex(l.traceId, opts.idsAreHex),
            spanId: hex(l.spanId, opts.idsAreHex),
          })),
        });
      }
    }
  }
  return spans;
}

/** Decodes an OTLP/HTTP trace request body (protobuf or JSON, optionally gzip) into spans. */
export function decodeOtlpTraces(body: Buffer, contentType: string, contentEncoding = ""): FlatSpan[] {
  const raw = contentEncoding.toLowerCase() === "gzip" ? zlib.gunzipSync(body) : body;
  if (contentType.startsWith("application/json")) {
    return flattenTraces(JSON.parse(raw.toString("utf8")), { idsAreHex: true });
  }
  if (contentType.startsWith("application/x-protobuf")) {
    const message = ExportTraceServiceRequest.decode(raw);
    const object = ExportTraceServiceRequest.toObject(message, { longs: String, bytes: String, defaults: false, oneofs: false });
    return flattenTraces(object, { idsAreHex: false });
  }
  throw new Error(`unsupported content-type for OTLP/HTTP: ${JSON.stringify(contentType)}`);
}

/**
 * Reads the Collector file exporter's output (one OTLP JSON ExportTraceServiceRequest per line)
 * into spans. Lines that are not complete JSON (a write in progress) are skipped.
 */
export function parseOtlpJsonLines(text: string): FlatSpan[] {
  return text
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .flatMap((line) => {
      try {
        return flattenTraces(JSON.parse(line), { idsAreHex: true });
      } catch {
        return [];
      }
    });
}
