// OTLP/HTTP request bodies (protobuf or JSON, optionally gzip) into the one span model: what the stand-ins for
// Honeycomb and the tests' OTLP receivers decode.
import zlib from "node:zlib";
import protobuf from "protobufjs";
import { spansFromRequest } from "./otlp.js";
import type { Span } from "./span.js";

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

let requestType: protobuf.Type | undefined;

/** Parsed on first use, so importing the model costs no protobuf parsing. */
function exportTraceServiceRequest(): protobuf.Type {
  requestType ??= protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType("otlp.ExportTraceServiceRequest");
  return requestType;
}

type Json = Parameters<typeof spansFromRequest>[0];

/** Decodes an OTLP/HTTP trace request body (protobuf or JSON, optionally gzip) into spans. An empty request
 *  (no resourceSpans, as protobuf encodes one) has no spans. */
export function decodeOtlpTraces(body: Buffer, contentType: string, contentEncoding = ""): Span[] {
  const raw = contentEncoding.toLowerCase() === "gzip" ? zlib.gunzipSync(body) : body;
  let request: Json;
  if (contentType.startsWith("application/json")) {
    request = JSON.parse(raw.toString("utf8")) as Json;
  } else if (contentType.startsWith("application/x-protobuf")) {
    const type = exportTraceServiceRequest();
    // toObject's JSON-like mapping: camelCase keys, base64 ids, int64 as strings, enums as numbers.
    request = type.toObject(type.decode(raw), { longs: String, bytes: String, defaults: false, oneofs: false }) as Json;
  } else {
    throw new Error(`unsupported content-type for OTLP/HTTP: ${JSON.stringify(contentType)}`);
  }
  if (request && typeof request === "object" && !Array.isArray(request) && request.resourceSpans === undefined) return [];
  return spansFromRequest(request);
}
