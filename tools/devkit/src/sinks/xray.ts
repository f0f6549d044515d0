import type http from "node:http";
import { decodeOtlpTraces, isXrayTraceId, type Span, type XraySegment } from "@tracemesh/trace-model";
import { listenOnLoopback, readBody, sendJson } from "./http-util.js";
import { RetainedRecords, type Retention } from "./retention.js";
import { awsAuthError, signSigV4, verifySigV4, type SigV4Credentials, type SigV4Result } from "./sigv4.js";
import { traceSegmentDestinationStandIn, type TraceSegmentDestinationStandIn } from "./xray-destination.js";
import { XRAY_READ_OPERATIONS, XrayTraceStore } from "./xray-traces.js";

/** The placeholder AWS keys the Collector gets in local runs; the stand-in checks signatures with them. */
export const STAND_IN_AWS_CREDENTIALS: SigV4Credentials = { accessKeyId: "AKIDSTANDIN0000000000", secretAccessKey: "stand-in-secret" };
/** The region the stand-ins serve (the Collector's AWS_REGION in local runs and on the CI cluster). */
export const STAND_IN_AWS_REGION = "us-east-1";

/** X-Ray's signature check: SigV4 for service `xray` in the stand-ins' region, with the placeholder keys. */
export function verifyXraySignature(req: http.IncomingMessage, body: Buffer): SigV4Result {
  return verifySigV4(req, body, "xray", STAND_IN_AWS_CREDENTIALS, { region: STAND_IN_AWS_REGION });
}

/** Answers a refused signature as X-Ray does (a REST JSON API: 403, x-amzn-ErrorType, {"message"}). */
export function refuseXraySignature(res: http.ServerResponse, result: SigV4Result): void {
  const answer = awsAuthError({ code: result.code ?? "InvalidSignatureException", problem: result.problem ?? "" }, "rest-json");
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  sendJson(res, answer.status, answer.body);
}

/** One accepted export to X-Ray's OTLP endpoint (POST /v1/traces). */
export interface XrayOtlpExport {
  credentialScope: string;
  contentEncoding: string;
  spans: Span[];
}

export interface XrayPut {
  /** The SigV4 credential scope from the Authorization header, e.g. `…/us-east-1/xray/aws4_request`. */
  credentialScope: string;
  segments: XraySegment[];
}

export interface XrayStandIn {
  /** The endpoint to give the Collector as XRAY_ENDPOINT. */
  endpoint: string;
  port: number;
  /** Every accepted PutTraceSegments call kept (all of them unless a retention was given), documents parsed, in
   *  arrival order. */
  puts(): XrayPut[];
  /** Every segment document kept. */
  segments(): XraySegment[];
  /** Segment documents kept and dropped by the retention. */
  segmentCounts(): { kept: number; dropped: number };
  /** Every accepted export to the OTLP endpoint (POST /v1/traces) kept, spans decoded. */
  otlpExports(): XrayOtlpExport[];
  /** Every span kept from the OTLP endpoint. */
  otlpSpans(): Span[];
  /** Reads traces back with a signed BatchGetTraces call to the stand-in (what the X-Ray console does). */
  batchGetTraces(traceIds: string[]): Promise<Array<{ Id: string; Segments: XraySegment[] }>>;
  /** Get/UpdateTraceSegmentDestination (Transaction Search's switch), answered by the stand-in itself. */
  traceSegmentDestination: TraceSegmentDestinationStandIn;
  /** Requests refused (a signature that does not verify, malformed documents or calls). */
  rejected(): Array<{ status: number; message: string }>;
  stop(): Promise<void>;
}

const SEGMENT_ID = /^[0-9a-f]{16}$/;

/** What PutTraceSegments requires of one document (X-Ray API reference, "Segment documents"). */
export function checkSegmentDocument(doc: unknown): string | undefined {
  if (!doc || typeof doc !== "object") return "segment document is not a JSON object";
  const s = doc as Partial<XraySegment>;
  if (typeof s.name !== "string" || s.name.length === 0 || s.name.length > 200) return "name: 1-200 characters required";
  if (typeof s.id !== "string" || !SEGMENT_ID.test(s.id)) return `id must be 16 hex digits, got ${JSON.stringify(s.id)}`;
  if (typeof s.start_time !== "number") return "start_time (epoch seconds) required";
  if (s.end_time === undefined && (s as { in_progress?: boolean }).in_progress !== true) return "end_time or in_progress required";
  // A subsegment sent on its own has type "subsegment" and parent_id; a segment has the trace id.
  if (!isXrayTraceId(s.trace_id)) {
    return `trace_id must be 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx, got ${JSON.stringify(s.trace_id)}`;
  }
  return undefined;
}

/** A PutTraceSegments body's documents, each checked as X-Ray checks it; or the problem X-Ray would answer 400 with. */
export function parsePutTraceSegments(body: Buffer): { segments: XraySegment[] } | { problem: string } {
  let documents: unknown;
  try {
    documents = (JSON.parse(body.toString("utf8")) as { TraceSegmentDocuments?: unknown }).TraceSegmentDocuments;
  } catch {
    return { problem: "body is not JSON" };
  }
  if (!Array.isArray(documents) || documents.length === 0 || documents.some((d) => typeof d !== "string")) {
    return { problem: "TraceSegmentDocuments must be a non-empty list of JSON strings" };
  }
  const segments: XraySegment[] = [];
  for (const text of documents as string[]) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return { problem: "a segment document is not JSON" };
    }
    const problem = checkSegmentDocument(doc);
    if (problem) return { problem };
    segments.push(doc as XraySegment);
  }
  return { segments };
}

/**
 * A local stand-in for the AWS X-Ray API (we cannot reach AWS), in this process. It refuses what X-Ray refuses:
 * requests whose SigV4 signature does not verify (recomputed with STAND_IN_AWS_CREDENTIALS for service `xray` in
 * STAND_IN_AWS_REGION: forged, stale, another region or service; 403 as X-Ray answers), PutTraceSegments bodies that
 * are not `{"TraceSegmentDocuments": [<JSON string>…]}` or whose documents lack a valid id, X-Ray trace id, name or
 * times (400). It keeps the parsed documents and answers X-Ray's read calls from them (xray-traces.ts), so a test
 * reads them back with BatchGetTraces as from the real API. `retention` bounds what it keeps (documents, OTLP
 * spans, refusals, each); everything is kept without it.
 *
 * It also stands in for X-Ray's OTLP endpoint (`https://xray.<region>.amazonaws.com/v1/traces`, used with
 * Transaction Search): POST /v1/traces must carry a valid SigV4 signature for service `xray` (403 otherwise) and a
 * binary OTLP protobuf body (415 for anything else, 400 when it does not decode). Those spans are kept apart: X-Ray
 * indexes them in CloudWatch Logs, not as segments.
 */
export async function startXrayStandIn(opts: { retention?: Retention } = {}): Promise<XrayStandIn> {
  const traffic: XrayTraffic = {
    puts: new RetainedRecords(opts.retention, (put) => put.segments.length),
    otlpExports: new RetainedRecords(opts.retention, (e) => e.spans.length),
    rejected: new RetainedRecords(opts.retention),
  };
  const store = new XrayTraceStore(opts.retention);
  const destination = traceSegmentDestinationStandIn(verifyXraySignature, (res, status, type, message) =>
    refuseXrayRequest(traffic, res, status, type, message),
  );
  const listener = await listenOnLoopback((req, res) => {
    handleXrayRequest({ store, traffic, destination }, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: (err as Error).message });
    });
  });
  const endpoint = `http://127.0.0.1:${listener.port}`;
  return {
    endpoint,
    port: listener.port,
    puts: () => traffic.puts.values(),
    segments: () => traffic.puts.values().flatMap((p) => p.segments),
    segmentCounts: () => traffic.puts.counts(),
    otlpExports: () => traffic.otlpExports.values(),
    otlpSpans: () => traffic.otlpExports.values().flatMap((e) => e.spans),
    batchGetTraces: (traceIds) => batchGetTraces(endpoint, traceIds),
    traceSegmentDestination: destination,
    rejected: () => traffic.rejected.values(),
    stop: () => listener.close(),
  };
}

/** What the stand-in accepted and refused, in arrival order. */
interface XrayTraffic {
  puts: RetainedRecords<XrayPut>;
  otlpExports: RetainedRecords<XrayOtlpExport>;
  rejected: RetainedRecords<{ status: number; message: string }>;
}

/** What one request is answered from: the documents kept, the record, the trace segment destination. */
interface XrayApi {
  store: XrayTraceStore;
  traffic: XrayTraffic;
  destination: TraceSegmentDestinationStandIn;
}

/**
 * The stand-in's routes: POST /v1/traces is X-Ray's OTLP endpoint; the trace segment destination calls are answered
 * by xray-destination.ts; every other call must be signed, PutTraceSegments well formed, the read calls JSON.
 */
async function handleXrayRequest(api: XrayApi, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  const pathname = (req.url ?? "").split("?")[0] ?? "";
  if (pathname === "/v1/traces") return acceptOtlpExport(api.traffic, req, body, res);
  if (api.destination.handle(req, body, res)) return;
  const signature = checkXraySignature(api.traffic, req, body, res);
  if (!signature) return;
  const operation = pathname === "/TraceSegments" ? "PutTraceSegments" : XRAY_READ_OPERATIONS[pathname as keyof typeof XRAY_READ_OPERATIONS];
  if (!operation) return refuseXrayRequest(api.traffic, res, 404, "UnknownOperationException", `no X-Ray operation at ${req.method ?? ""} ${pathname}`);
  if (req.method !== "POST") return refuseXrayRequest(api.traffic, res, 404, "UnknownOperationException", `${operation} is POST ${pathname}`);
  if (operation === "PutTraceSegments") {
    const parsed = parsePutTraceSegments(body);
    if ("problem" in parsed) return refuseXrayRequest(api.traffic, res, 400, "InvalidRequestException", parsed.problem);
    api.traffic.puts.push({ credentialScope: signature.credentialScope ?? "", segments: parsed.segments });
    api.store.put(parsed.segments);
    return sendJson(res, 200, { UnprocessedTraceSegments: [] });
  }
  let request: unknown;
  try {
    request = body.length === 0 ? {} : JSON.parse(body.toString("utf8"));
  } catch {
    return refuseXrayRequest(api.traffic, res, 400, "InvalidRequestException", `${operation}: the body is not JSON`);
  }
  if (!request || typeof request !== "object" || Array.isArray(request)) {
    return refuseXrayRequest(api.traffic, res, 400, "InvalidRequestException", `${operation}: the body must be a JSON object`);
  }
  const answer = api.store.answer(operation, request as Record<string, unknown>);
  if (answer.status !== 200) return refuseXrayRequest(api.traffic, res, answer.status, answer.type, `${operation}: ${answer.message}`);
  sendJson(res, 200, answer.body);
}

/** Records a refusal and answers it as X-Ray does (x-amzn-ErrorType and a JSON body with __type and message). */
function refuseXrayRequest(traffic: XrayTraffic, res: http.ServerResponse, status: number, type: string, message: string): void {
  traffic.rejected.push({ status, message });
  res.setHeader("x-amzn-ErrorType", type);
  sendJson(res, status, { __type: type, message });
}

/** The signature check in front of every X-Ray route: the verified signature, or undefined once refused (403). */
function checkXraySignature(traffic: XrayTraffic, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): SigV4Result | undefined {
  const result = verifyXraySignature(req, body);
  if (!result.problem) return result;
  traffic.rejected.push({ status: 403, message: `${result.code}: ${result.problem}` });
  refuseXraySignature(res, result);
  return undefined;
}

/** X-Ray's OTLP endpoint: a signed POST of a binary OTLP protobuf, decoded and kept. */
function acceptOtlpExport(traffic: XrayTraffic, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
  if (req.method !== "POST") return refuseXrayRequest(traffic, res, 404, "UnknownOperationException", "the OTLP endpoint is POST /v1/traces");
  const signature = checkXraySignature(traffic, req, body, res);
  if (!signature) return;
  const contentType = String(req.headers["content-type"] ?? "");
  if (!contentType.startsWith("application/x-protobuf")) {
    return refuseXrayRequest(traffic, res, 415, "UnsupportedMediaTypeException", `the X-Ray OTLP endpoint takes application/x-protobuf, got ${contentType || "none"}`);
  }
  const contentEncoding = String(req.headers["content-encoding"] ?? "");
  let spans: Span[];
  try {
    spans = decodeOtlpTraces(body, contentType, contentEncoding);
  } catch (err) {
    return refuseXrayRequest(traffic, res, 400, "InvalidRequestException", `not an OTLP ExportTraceServiceRequest: ${(err as Error).message}`);
  }
  traffic.otlpExports.push({ credentialScope: signature.credentialScope ?? "", contentEncoding, spans });
  res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 });
  res.end();
}

/** A call to the stand-in's X-Ray API from the test itself, signed as the AWS SDK signs it. */
async function callXray<T>(endpoint: string, pathname: string, payload: unknown): Promise<T> {
  const url = `${endpoint}${pathname}`;
  const body = Buffer.from(JSON.stringify(payload));
  const headers = signSigV4({
    method: "POST",
    url,
    headers: { "content-type": "application/json" },
    body,
    service: "xray",
    region: STAND_IN_AWS_REGION,
    credentials: STAND_IN_AWS_CREDENTIALS,
  });
  const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`X-Ray stand-in ${pathname}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** BatchGetTraces, 5 ids per call as X-Ray allows: the traces kept, their segment documents parsed. */
async function batchGetTraces(endpoint: string, traceIds: string[]): Promise<Array<{ Id: string; Segments: XraySegment[] }>> {
  const traces: Array<{ Id: string; Segments: XraySegment[] }> = [];
  for (let i = 0; i < traceIds.length; i += 5) {
    const out = await callXray<{ Traces?: Array<{ Id: string; Segments: Array<{ Id: string; Document: string }> }> }>(endpoint, "/Traces", {
      TraceIds: traceIds.slice(i, i + 5),
    });
    for (const t of out.Traces ?? []) traces.push({ Id: t.Id, Segments: t.Segments.map((s) => JSON.parse(s.Document) as XraySegment) });
  }
  return traces;
}
