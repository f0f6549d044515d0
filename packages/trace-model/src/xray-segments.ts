// The X-Ray side of the comparison, built from segment documents the way X-Ray draws its service map.
//
// How the Collector's awsxray exporter (v0.143.0, internal/translator/segment.go) produces the documents, which is
// what this builder relies on:
// - every span becomes its own document; SERVER and CONSUMER spans and spans without a parent are segments (no
//   "type"), every other span is an independent subsegment: "type":"subsegment", "parent_id" = its parent span id;
// - CLIENT and PRODUCER subsegments get "namespace":"remote" (AWS SDK calls "aws");
// - names: aws.remote.service, peer.service, aws.service, db.name, then — for SERVER spans only — the resource
//   service.name, then rpc.service, http.host, net.peer.name, and finally the span name. So a CONSUMER segment
//   without peer.service is named after its span ("process tracemesh:events"), not after its service, and a gRPC
//   client without peer.service is named "tracemesh.v1.UsersService";
// - resource attributes are kept on segments only, as metadata.default["otel.resource.<key>"];
// - a span with aws.span.kind=LOCAL_ROOT (tracemesh's telemetry sets it on non-SERVER local roots) is named
//   aws.local.service when INTERNAL; a CLIENT/PRODUCER/CONSUMER one becomes a service segment named aws.local.service
//   (parent = the span's parent) plus a remote dependency subsegment named aws.remote.service that keeps the span id
//   (seen in real Collector output: the notifications consumer → segment "notifications" + subsegment "redis");
// - HTTP 4xx → error (429 also throttle), 5xx → fault, otherwise ERROR status → fault.
// X-Ray (and BatchGetTraces) may instead return subsegments embedded in their segment; both shapes are read.
import { GraphBuilder, type ServiceGraph } from "./graph.js";
import { InputError, parseJsonDocuments, readInputFile } from "./otlp.js";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One X-Ray segment or subsegment document, as PutTraceSegments carries it and BatchGetTraces returns it (the
 *  fields tracemesh reads; others are kept as they came). */
export interface XraySegment {
  name: string;
  id: string;
  /** Absent on subsegments embedded in their segment. */
  trace_id?: string;
  parent_id?: string;
  start_time: number;
  end_time?: number;
  in_progress?: boolean;
  type?: string;
  namespace?: string;
  origin?: string;
  fault?: boolean;
  error?: boolean;
  throttle?: boolean;
  http?: { request?: { method?: string; url?: string }; response?: { status?: number } };
  annotations?: Record<string, string | number | boolean>;
  metadata?: Record<string, Record<string, unknown>>;
  subsegments?: XraySegment[];
  links?: { trace_id: string; id: string }[];
  [field: string]: unknown;
}

interface FlatDoc {
  doc: XraySegment;
  traceId: string;
  parentId: string;
  isSegment: boolean;
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asDocument(value: Json, label: string): XraySegment {
  const parsed = typeof value === "string" ? (JSON.parse(value) as Json) : value;
  if (!isObject(parsed) || typeof parsed.name !== "string" || typeof parsed.id !== "string") {
    throw new InputError(`${label}: not an X-Ray segment document (needs "name" and "id")`);
  }
  return parsed as XraySegment;
}

/** Accepts segment documents, PutTraceSegments bodies ({TraceSegmentDocuments:[…]}), BatchGetTraces output
 *  ({Traces:[{Segments:[{Document}]}]}) or arrays of those. */
export function segmentDocumentsFrom(value: Json, label: string): XraySegment[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => segmentDocumentsFrom(v, `${label}[${i}]`));
  if (typeof value === "string") return [asDocument(value, label)];
  if (!isObject(value)) throw new InputError(`${label}: not an X-Ray segment document`);
  if (Array.isArray(value.TraceSegmentDocuments)) {
    return value.TraceSegmentDocuments.map((d, i) => asDocument(d, `${label}.TraceSegmentDocuments[${i}]`));
  }
  if (Array.isArray(value.Traces)) {
    const docs: XraySegment[] = [];
    value.Traces.forEach((t, i) => {
      if (!isObject(t) || !Array.isArray(t.Segments)) return;
      t.Segments.forEach((s, j) => {
        if (isObject(s) && typeof s.Document === "string") docs.push(asDocument(s.Document, `${label}.Traces[${i}].Segments[${j}]`));
      });
    });
    return docs;
  }
  return [asDocument(value, label)];
}

export function segmentDocumentsFromFiles(files: readonly string[]): XraySegment[] {
  const docs: XraySegment[] = [];
  for (const file of files) {
    for (const value of parseJsonDocuments(readInputFile(file), file)) {
      try {
        docs.push(...segmentDocumentsFrom(value, file));
      } catch (err) {
        throw err instanceof InputError ? err : new InputError(`${file}: ${(err as Error).message}`);
      }
    }
  }
  return docs;
}

function flatten(docs: readonly XraySegment[]): FlatDoc[] {
  const out: FlatDoc[] = [];
  const visit = (doc: XraySegment, traceId: string, parentId: string, embedded: boolean): void => {
    // An embedded subsegment is a subsegment whatever its "type" says; a top-level document is a segment unless
    // it says "subsegment".
    const isSegment = !embedded && doc.type !== "subsegment";
    out.push({ doc, traceId, parentId, isSegment });
    for (const sub of doc.subsegments ?? []) visit(sub, traceId, doc.id, true);
  };
  for (const doc of docs) visit(doc, doc.trace_id ?? "", doc.parent_id ?? "", false);
  return out;
}

function resourceServiceName(doc: XraySegment): string | undefined {
  const v = doc.metadata?.default?.["otel.resource.service.name"];
  return typeof v === "string" ? v : undefined;
}

function metadataString(doc: XraySegment, key: string): string | undefined {
  const v = doc.metadata?.default?.[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function durationMs(doc: XraySegment): number | null {
  if (typeof doc.end_time !== "number" || typeof doc.start_time !== "number") return null;
  return (doc.end_time - doc.start_time) * 1000;
}

/** The exporter splits a span marked aws.span.kind=LOCAL_ROOT (not SERVER/INTERNAL) into a service segment and this
 *  dependency subsegment (named aws.remote.service); its metadata keeps the marker. */
function isLocalRootDependency(doc: XraySegment): boolean {
  return metadataString(doc, "aws.span.kind") === "LOCAL_ROOT";
}

function isRemote(doc: XraySegment): boolean {
  return doc.namespace === "remote" || doc.namespace === "aws";
}

export function graphFromXraySegments(input: readonly (XraySegment | string)[]): ServiceGraph {
  const docs = input.map((d, i) => (typeof d === "string" ? asDocument(d, `document ${i}`) : d));
  const flat = flatten(docs);
  const builder = new GraphBuilder("xray");
  const byId = new Map<string, FlatDoc>();
  const key = (traceId: string, id: string): string => `${traceId}/${id}`;
  for (const f of flat) byId.set(key(f.traceId, f.doc.id), f);
  const segmentNames = new Set(flat.filter((f) => f.isSegment).map((f) => f.doc.name));

  /** The segment a (sub)segment belongs to: walk parent_id up until a segment (bounded against cycles). */
  const owner = (f: FlatDoc): FlatDoc | undefined => {
    let current: FlatDoc | undefined = f;
    for (let i = 0; current && i < 1000; i++) {
      if (current.isSegment) return current;
      current = byId.get(key(current.traceId, current.parentId));
    }
    return undefined;
  };

  const childSegments = new Map<string, FlatDoc[]>();
  for (const f of flat) {
    builder.trace(f.traceId);
    if (!f.isSegment) continue;
    builder.node(f.doc.name, false, resourceServiceName(f.doc));
    if (!f.parentId) continue;
    const k = key(f.traceId, f.parentId);
    childSegments.set(k, [...(childSegments.get(k) ?? []), f]);
  }

  const callerOf = (f: FlatDoc): { name: string; aliases: string[] } | undefined => {
    const seg = owner(f);
    if (!seg) return undefined;
    const service = resourceServiceName(seg.doc);
    return { name: seg.doc.name, aliases: service ? [service] : [] };
  };

  // 1. Segments whose parent is in the data: an edge from the parent's segment to this segment (X-Ray links a
  //    downstream service to the subsegment that called it through parent_id).
  for (const f of flat) {
    if (!f.isSegment || !f.parentId) continue;
    const parent = byId.get(key(f.traceId, f.parentId));
    if (!parent) continue; // the caller is outside the data (not traced or not captured)
    const caller = callerOf(parent);
    if (!caller) continue;
    const client = parent.isSegment ? undefined : parent.doc;
    const measured = client ?? f.doc;
    const notes: string[] = [];
    if (client && client.name !== f.doc.name) {
      notes.push(`client subsegment named "${client.name}", downstream segment "${f.doc.name}"`);
    }
    const service = resourceServiceName(f.doc);
    if (service && service !== f.doc.name) {
      notes.push(
        `segment for service ${service} is named "${f.doc.name}": the exporter names non-SERVER segments ` +
          `(e.g. CONSUMER) by peer.service/…/span name, not by service.name`,
      );
    }
    if (metadataString(f.doc, "messaging.system") ?? metadataString(f.doc, "messaging.destination.name")) {
      notes.push("async hop: the consumer segment hangs off the producer subsegment by parent_id (X-Ray draws no span links)");
    }
    builder.call(caller.name, f.doc.name, {
      latencyMs: durationMs(measured),
      error: measured.error === true,
      fault: measured.fault === true,
      throttle: measured.throttle === true,
      callerAliases: caller.aliases,
      calleeAliases: [client?.name, service, client ? metadataString(client, "peer.service") : undefined],
      notes,
    });
  }

  // 2. Remote subsegments nobody answered: X-Ray draws an inferred node named after the subsegment.
  for (const f of flat) {
    if (f.isSegment || !isRemote(f.doc)) continue;
    if ((childSegments.get(key(f.traceId, f.doc.id)) ?? []).length > 0) continue;
    const caller = callerOf(f);
    if (!caller) continue;
    const inferred = !segmentNames.has(f.doc.name);
    builder.node(f.doc.name, inferred);
    builder.call(caller.name, f.doc.name, {
      localRootDependency: isLocalRootDependency(f.doc),
      latencyMs: durationMs(f.doc),
      error: f.doc.error === true,
      fault: f.doc.fault === true,
      throttle: f.doc.throttle === true,
      callerAliases: caller.aliases,
      calleeAliases: [
        metadataString(f.doc, "peer.service"),
        metadataString(f.doc, "db.system.name"),
        metadataString(f.doc, "db.system"),
        metadataString(f.doc, "rpc.service"),
      ],
      notes: [
        ...(inferred ? [`inferred node: remote subsegment "${f.doc.name}" with no segment of its own`] : []),
        ...(isLocalRootDependency(f.doc)
          ? [
              `dependency subsegment of a local-root ${metadataString(f.doc, "messaging.system") ? "CONSUMER" : "CLIENT/PRODUCER"} span ` +
                `(aws.span.kind=LOCAL_ROOT): X-Ray counts each of them as a call to "${f.doc.name}" lasting the whole span`,
            ]
          : []),
      ],
    });
  }
  return builder.build();
}

export function graphFromXrayFiles(files: readonly string[]): ServiceGraph {
  return graphFromXraySegments(segmentDocumentsFromFiles(files));
}
