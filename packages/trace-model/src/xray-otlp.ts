// The X-Ray side when the Collector sends to X-Ray's OTLP endpoint instead of PutTraceSegments: X-Ray
// receives spans, not segment documents, and draws its trace map from them. This turns those spans (the
// OTLP the endpoint got) into the segment documents X-Ray builds its map from, so `compare` reads either
// path the same way. The rules are the awsxray exporter's (see xray-segments.ts): X-Ray documents that
// its OTLP ingestion maps spans to segments the same way (SERVER/CONSUMER/root spans → segments, the
// rest → subsegments, CLIENT/PRODUCER → remote); span-by-span details of the service side are not
// published, so this is the documented mapping, not a byte-for-byte copy of what X-Ray stores.
import { createHash } from "node:crypto";
import { classifyFailure } from "./graph.js";
import { xrayTraceId } from "./ids.js";
import type { Span } from "./span.js";
import type { XraySegment } from "./xray-segments.js";

const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;

function str(span: Span, key: string): string | undefined {
  const v = span.attributes[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The exporter's naming order; SERVER spans fall back to their service.name before rpc.service. */
function documentName(span: Span): string {
  const named = str(span, "aws.remote.service") ?? str(span, "peer.service") ?? str(span, "aws.service") ?? str(span, "db.name");
  if (named) return named;
  if (span.kind === "SERVER" && span.serviceName) return span.serviceName;
  return str(span, "rpc.service") ?? str(span, "http.host") ?? str(span, "net.peer.name") ?? span.name;
}

const METADATA_KEYS = ["aws.span.kind", "messaging.system", "messaging.destination.name", "peer.service", "db.system.name", "db.system", "rpc.service"];

function metadata(span: Span, withResource: boolean): XraySegment["metadata"] {
  const out: Record<string, unknown> = {};
  for (const key of METADATA_KEYS) if (span.attributes[key] !== undefined) out[key] = span.attributes[key];
  if (withResource) for (const [k, v] of Object.entries(span.resource)) out[`otel.resource.${k}`] = v;
  return { default: out };
}

function failure(span: Span): Pick<XraySegment, "error" | "fault" | "throttle"> {
  const status = span.attributes["http.response.status_code"] ?? span.attributes["http.status_code"];
  return classifyFailure(typeof status === "number" ? status : undefined, span.statusCode === "ERROR");
}

/** A stable id for the service segment the exporter adds in front of a local-root span. */
function serviceSegmentId(span: Span): string {
  return createHash("sha256").update(`service-segment/${span.traceId}/${span.spanId}`).digest("hex").slice(0, 16);
}

/** The segment documents X-Ray makes of OTLP spans (one per span; local-root CLIENT/PRODUCER/CONSUMER spans two). */
export function segmentDocumentsFromSpans(spans: readonly Span[]): XraySegment[] {
  const docs: XraySegment[] = [];
  for (const span of spans) {
    const base = {
      id: span.spanId,
      trace_id: xrayTraceId(span.traceId),
      start_time: seconds(span.startNs),
      end_time: seconds(span.endNs),
      ...failure(span),
    };
    const localRoot = str(span, "aws.span.kind") === "LOCAL_ROOT";
    if (localRoot && span.kind === "INTERNAL") {
      docs.push({ ...base, name: str(span, "aws.local.service") ?? span.serviceName, parent_id: span.parentSpanId || undefined, metadata: metadata(span, true) });
      continue;
    }
    if (localRoot && span.kind !== "SERVER") {
      // A service segment named after the service (parent: the span's parent, e.g. the producer) and a
      // remote dependency subsegment that keeps the span id, so the span's children hang under it.
      const segmentId = serviceSegmentId(span);
      docs.push({ ...base, id: segmentId, name: str(span, "aws.local.service") ?? span.serviceName, parent_id: span.parentSpanId || undefined, metadata: metadata(span, true) });
      docs.push({ ...base, name: str(span, "aws.remote.service") ?? documentName(span), parent_id: segmentId, type: "subsegment", namespace: "remote", metadata: metadata(span, false) });
      continue;
    }
    const isSegment = span.kind === "SERVER" || span.kind === "CONSUMER" || !span.parentSpanId;
    const remote = span.kind === "CLIENT" || span.kind === "PRODUCER";
    docs.push({
      ...base,
      name: documentName(span),
      parent_id: span.parentSpanId || undefined,
      ...(isSegment ? {} : { type: "subsegment" }),
      ...(remote && !isSegment ? { namespace: "remote" } : {}),
      metadata: metadata(span, isSegment),
    });
  }
  return docs;
}
