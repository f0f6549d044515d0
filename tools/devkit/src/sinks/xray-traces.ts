// X-Ray's read API for the local X-Ray stand-in (xray.ts): the segment documents PutTraceSegments accepted, kept in
// memory and read back as the console and `tracemesh compare` read them. Until 2026-12-07 the stand-in forwarded
// them to moto (PyPI) and read them back from it; moto's X-Ray backend checks less than the stand-in already did,
// computes no service graph, and kept every document twice (parsed and raw) beside the stand-in's own copy: it was
// 367 MiB of the demo's 1407 MiB at 150 req/s (docs/benchmarks.md, benchmark 4).
//
// What is modelled, from the X-Ray API reference (errors as X-Ray sends them: 400 InvalidRequestException):
// - BatchGetTraces (POST /Traces): TraceIds, 1 to 5 ids of at most 35 characters; each known trace as
//   {Id, Duration, LimitExceeded, Segments: [{Id, Document}]}, unknown ids in UnprocessedTraceIds. Documents are
//   returned as they were sent: a subsegment sent on its own stays its own document (X-Ray would embed it in its
//   segment; @tracemesh/trace-model reads both shapes).
// - GetTraceSummaries (POST /TraceSummaries): StartTime < EndTime (epoch seconds) required; TimeRangeType TraceId
//   (the default: the time in the trace id) or Event (a document's start time); pages of 100 with NextToken; each
//   summary's Id, Duration, ResponseTime (the root segment's), HasFault/HasError/HasThrottle (any document says so)
//   and IsPartial (a document still in progress). FilterExpression and Sampling are refused: not modelled.
// - GetServiceGraph (POST /ServiceGraph): an empty graph, as a new account answers; `tracemesh compare` then builds
//   the map from GetTraceSummaries + BatchGetTraces. Computing X-Ray's graph here would only repeat the model's
//   (graphFromXraySegments) under another name.
// - PutTelemetryRecords (POST /TelemetryRecords): accepted, nothing kept.
import type { XraySegment } from "@tracemesh/trace-model";
import type { Retention } from "./retention.js";

/** The operations answered here, by path. */
export const XRAY_READ_OPERATIONS = {
  "/Traces": "BatchGetTraces",
  "/TraceSummaries": "GetTraceSummaries",
  "/ServiceGraph": "GetServiceGraph",
  "/TelemetryRecords": "PutTelemetryRecords",
} as const;
export type XrayReadOperation = (typeof XRAY_READ_OPERATIONS)[keyof typeof XRAY_READ_OPERATIONS];

/** A request's answer: 200 with a JSON body, or the refusal X-Ray would send. */
export type XrayAnswer = { status: 200; body: Record<string, unknown> } | { status: 400; type: "InvalidRequestException"; message: string };

export interface XrayTraceSummary {
  Id: string;
  Duration: number;
  ResponseTime: number;
  HasFault: boolean;
  HasError: boolean;
  HasThrottle: boolean;
  IsPartial: boolean;
}

const SUMMARY_PAGE = 100;
const MAX_BATCH_IDS = 5;

const refuse = (message: string): XrayAnswer => ({ status: 400, type: "InvalidRequestException", message });

/** The documents of one trace, in arrival order. */
interface StoredTrace {
  id: string;
  documents: XraySegment[];
}

/**
 * The accepted documents by trace id, and the read operations over them. With a retention, whole traces are
 * dropped, the one first seen longest ago first, while more documents are kept than it allows.
 */
export class XrayTraceStore {
  private readonly traces = new Map<string, StoredTrace>();
  private documents = 0;

  constructor(private readonly retention: Retention = {}) {}

  /** Keeps documents PutTraceSegments accepted (already checked: parsePutTraceSegments). */
  put(documents: readonly XraySegment[]): void {
    for (const doc of documents) {
      const id = doc.trace_id!;
      let trace = this.traces.get(id);
      if (!trace) this.traces.set(id, (trace = { id, documents: [] }));
      trace.documents.push(doc);
    }
    this.documents += documents.length;
    const max = this.retention.maxItems;
    // A Map iterates in insertion order: its first trace is the oldest.
    while (max !== undefined && this.documents > max && this.traces.size > 1) {
      const [oldestId, oldest] = this.traces.entries().next().value!;
      this.traces.delete(oldestId);
      this.documents -= oldest.documents.length;
    }
  }

  /** Answers one of XRAY_READ_OPERATIONS with its parsed JSON body. */
  answer(operation: XrayReadOperation, request: Record<string, unknown>): XrayAnswer {
    switch (operation) {
      case "BatchGetTraces":
        return this.batchGetTraces(request);
      case "GetTraceSummaries":
        return this.traceSummaries(request);
      case "GetServiceGraph": {
        const window = timeWindow(request);
        return "message" in window ? window : { status: 200, body: { StartTime: window.start, EndTime: window.end, Services: [], ContainsOldGroupVersions: false } };
      }
      case "PutTelemetryRecords":
        return { status: 200, body: {} };
    }
  }

  private batchGetTraces(request: Record<string, unknown>): XrayAnswer {
    const ids = request.TraceIds;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_BATCH_IDS) return refuse(`TraceIds: 1 to ${MAX_BATCH_IDS} trace ids required`);
    if (ids.some((id) => typeof id !== "string" || id.length < 1 || id.length > 35)) return refuse("TraceIds: each id is a string of 1 to 35 characters");
    const traces: Array<Record<string, unknown>> = [];
    const unprocessed: string[] = [];
    for (const id of ids as string[]) {
      const trace = this.traces.get(id);
      if (!trace) {
        unprocessed.push(id);
        continue;
      }
      traces.push({
        Id: id,
        Duration: summarize(trace).Duration,
        LimitExceeded: false,
        Segments: trace.documents.map((doc) => ({ Id: doc.id, Document: JSON.stringify(doc) })),
      });
    }
    return { status: 200, body: { Traces: traces, UnprocessedTraceIds: unprocessed } };
  }

  private traceSummaries(request: Record<string, unknown>): XrayAnswer {
    const window = timeWindow(request);
    if ("message" in window) return window;
    if (request.FilterExpression !== undefined) return refuse("FilterExpression: not modelled by the local stand-in");
    if (request.Sampling !== undefined && request.Sampling !== false) return refuse("Sampling: not modelled by the local stand-in");
    const rangeType = request.TimeRangeType ?? "TraceId";
    if (rangeType !== "TraceId" && rangeType !== "Event") return refuse(`TimeRangeType: TraceId or Event, got ${JSON.stringify(rangeType)}`);
    const offset = request.NextToken === undefined ? 0 : Number(request.NextToken);
    if (!Number.isInteger(offset) || offset < 0) return refuse(`NextToken: not a token this API gave, got ${JSON.stringify(request.NextToken)}`);

    const inWindow = (t: number) => t >= window.start && t <= window.end;
    const matching = [...this.traces.values()].filter((trace) =>
      rangeType === "TraceId" ? inWindow(traceIdSeconds(trace.id)) : trace.documents.some((d) => inWindow(d.start_time)),
    );
    const page = matching.slice(offset, offset + SUMMARY_PAGE).map(summarize);
    const next = offset + SUMMARY_PAGE < matching.length ? String(offset + SUMMARY_PAGE) : undefined;
    return {
      status: 200,
      body: { TraceSummaries: page, ApproximateTime: Math.floor(Date.now() / 1000), TracesProcessedCount: matching.length, ...(next ? { NextToken: next } : {}) },
    };
  }
}

/** StartTime and EndTime (epoch seconds), as GetTraceSummaries and GetServiceGraph require them. */
function timeWindow(request: Record<string, unknown>): { start: number; end: number } | Extract<XrayAnswer, { status: 400 }> {
  const { StartTime: start, EndTime: end } = request;
  if (typeof start !== "number" || typeof end !== "number") return { status: 400, type: "InvalidRequestException", message: "StartTime and EndTime (epoch seconds) required" };
  if (!(start < end)) return { status: 400, type: "InvalidRequestException", message: "StartTime must be before EndTime" };
  return { start, end };
}

/** The epoch seconds in an X-Ray trace id (1-<8 hex digits of time>-<24 hex digits>). */
function traceIdSeconds(id: string): number {
  return parseInt(id.slice(2, 10), 16);
}

/** A trace's summary: its duration from the first start to the last end, the root segment's response time, its flags. */
function summarize(trace: StoredTrace): XrayTraceSummary {
  const docs = trace.documents;
  const start = Math.min(...docs.map((d) => d.start_time));
  const ends = docs.map((d) => d.end_time).filter((t): t is number => typeof t === "number");
  const end = ends.length > 0 ? Math.max(...ends) : start;
  const root = docs.find((d) => !d.parent_id && d.type !== "subsegment");
  const flagged = (doc: XraySegment, flag: "fault" | "error" | "throttle"): boolean => doc[flag] === true || (doc.subsegments ?? []).some((sub) => flagged(sub, flag));
  const any = (flag: "fault" | "error" | "throttle") => docs.some((d) => flagged(d, flag));
  return {
    Id: trace.id,
    Duration: round3(end - start),
    ResponseTime: root?.end_time !== undefined ? round3(root.end_time - root.start_time) : 0,
    HasFault: any("fault"),
    HasError: any("error"),
    HasThrottle: any("throttle"),
    IsPartial: docs.some((d) => d.in_progress === true),
  };
}

const round3 = (seconds: number) => Math.round(seconds * 1000) / 1000;
