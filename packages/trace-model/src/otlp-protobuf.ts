// OTLP/HTTP request bodies (protobuf or JSON, optionally gzip) into the one span model: what the stand-ins for
// Honeycomb and the tests' OTLP receivers decode; and a summary of OTLP metrics exports (the RED metrics).
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
message NumberDataPoint { repeated KeyValue attributes = 7; }
message HistogramDataPoint { repeated KeyValue attributes = 9; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; }
message Histogram { repeated HistogramDataPoint data_points = 1; }
message ExponentialHistogram { repeated HistogramDataPoint data_points = 1; }
message Summary { repeated NumberDataPoint data_points = 1; }
message Metric {
  string name = 1; string unit = 3;
  Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11;
}
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
`;

let root: protobuf.Root | undefined;

/** Parsed on first use, so importing the model costs no protobuf parsing. */
function otlpType(name: "ExportTraceServiceRequest" | "ExportMetricsServiceRequest"): protobuf.Type {
  root ??= protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root;
  return root.lookupType(`otlp.${name}`);
}

/** A body in OTLP/HTTP's JSON mapping, whatever its wire form was (ungzipped, protobuf turned into JSON). */
function otlpJsonBody(body: Buffer, contentType: string, contentEncoding: string, type: "ExportTraceServiceRequest" | "ExportMetricsServiceRequest"): unknown {
  const raw = contentEncoding.toLowerCase() === "gzip" ? zlib.gunzipSync(body) : body;
  if (contentType.startsWith("application/json")) return JSON.parse(raw.toString("utf8")) as unknown;
  if (contentType.startsWith("application/x-protobuf")) {
    const t = otlpType(type);
    // toObject's JSON-like mapping: camelCase keys, base64 ids, int64 as strings, enums as numbers.
    return t.toObject(t.decode(raw), { longs: String, bytes: String, defaults: false, oneofs: false });
  }
  throw new Error(`unsupported content-type for OTLP/HTTP: ${JSON.stringify(contentType)}`);
}

type Json = Parameters<typeof spansFromRequest>[0];

/** Decodes an OTLP/HTTP trace request body (protobuf or JSON, optionally gzip) into spans. An empty request
 *  (no resourceSpans, as protobuf encodes one) has no spans. */
export function decodeOtlpTraces(body: Buffer, contentType: string, contentEncoding = ""): Span[] {
  const request = otlpJsonBody(body, contentType, contentEncoding, "ExportTraceServiceRequest") as Json;
  if (request && typeof request === "object" && !Array.isArray(request) && request.resourceSpans === undefined) return [];
  return spansFromRequest(request);
}

/** One metric of an OTLP metrics export: its name and the attributes of each data point (string values). */
export interface OtlpMetricSummary {
  name: string;
  unit: string;
  dataPoints: Array<Record<string, string>>;
}

interface MetricJson {
  name?: string;
  unit?: string;
  [data: string]: unknown;
}

/** Decodes an OTLP/HTTP metrics request body (protobuf or JSON, optionally gzip) into a summary per metric:
 *  enough to check what reached a metrics backend, not a metrics model. Throws when the body is not OTLP. */
export function decodeOtlpMetrics(body: Buffer, contentType: string, contentEncoding = ""): OtlpMetricSummary[] {
  const request = otlpJsonBody(body, contentType, contentEncoding, "ExportMetricsServiceRequest") as {
    resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: MetricJson[] }> }>;
  };
  if (!request || typeof request !== "object" || Array.isArray(request)) throw new Error("not an ExportMetricsServiceRequest");
  const out: OtlpMetricSummary[] = [];
  for (const rm of request.resourceMetrics ?? []) {
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        if (typeof m.name !== "string" || m.name === "") throw new Error("a metric without a name");
        const data = ["gauge", "sum", "histogram", "exponentialHistogram", "summary"]
          .map((k) => m[k] as { dataPoints?: Array<{ attributes?: Array<{ key: string; value?: { stringValue?: string } }> }> } | undefined)
          .find(Boolean);
        const dataPoints = (data?.dataPoints ?? []).map((p) =>
          Object.fromEntries((p.attributes ?? []).filter((a) => typeof a.value?.stringValue === "string").map((a) => [a.key, a.value!.stringValue!])),
        );
        out.push({ name: m.name, unit: m.unit ?? "", dataPoints });
      }
    }
  }
  return out;
}
