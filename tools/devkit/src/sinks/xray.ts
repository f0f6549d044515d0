import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { TOOL_BIN } from "../paths.js";
import { freePort } from "../ports.js";
import { startProcess, type ManagedProcess } from "../process.js";
import { httpStatus, waitFor } from "../wait.js";
import { decodeOtlpTraces, isXrayTraceId, type Span, type XraySegment } from "@tracemesh/trace-model";
import { listenOnLoopback, readBody, sendJson } from "./http-util.js";
import { awsAuthError, verifySigV4, type SigV4Credentials, type SigV4Result } from "./sigv4.js";
import { traceSegmentDestinationStandIn, type TraceSegmentDestinationStandIn } from "./xray-destination.js";

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
  /** Every accepted PutTraceSegments call, documents parsed, in arrival order. */
  puts(): XrayPut[];
  /** Every segment document received so far. */
  segments(): XraySegment[];
  /** Every accepted export to the OTLP endpoint (POST /v1/traces), spans decoded. */
  otlpExports(): XrayOtlpExport[];
  /** Every span received on the OTLP endpoint. */
  otlpSpans(): Span[];
  /** Reads traces back from moto with BatchGetTraces (what the X-Ray console does). */
  batchGetTraces(traceIds: string[]): Promise<Array<{ Id: string; Segments: XraySegment[] }>>;
  /** Calls moto's GetTraceSummaries for the last `windowSeconds`. */
  traceSummaryIds(windowSeconds?: number): Promise<string[]>;
  /** Get/UpdateTraceSegmentDestination (Transaction Search's switch), answered by the stand-in itself. */
  traceSegmentDestination: TraceSegmentDestinationStandIn;
  /** Requests refused by the checks in front of moto (no SigV4 header, malformed documents). */
  rejected(): Array<{ status: number; message: string }>;
  /** The moto_server process (its exit status once stopped). */
  process: ManagedProcess;
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

/** Path of moto_server: MOTO_SERVER_BIN, else the one scripts/tools/25-moto.sh installs. */
export function findMotoServer(): string {
  for (const candidate of [process.env.MOTO_SERVER_BIN, path.join(TOOL_BIN, "moto_server")]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  throw new Error("moto_server not found: run `bash scripts/tools/25-moto.sh` (installs moto[server] from PyPI)");
}

/**
 * A local stand-in for the AWS X-Ray API (we cannot reach AWS): moto's server (PyPI) behind a small
 * checking proxy. The proxy refuses what X-Ray refuses before moto sees it — requests whose SigV4
 * signature does not verify (recomputed with STAND_IN_AWS_CREDENTIALS for service `xray` in
 * STAND_IN_AWS_REGION: forged, stale, another region or service; 403 as X-Ray answers), PutTraceSegments bodies that are not
 * `{"TraceSegmentDocuments": [<JSON string>…]}` or whose documents lack a valid id, X-Ray trace id,
 * name or times (400) — and keeps the parsed documents; moto stores the segments so the test reads
 * them back with BatchGetTraces as from the real API.
 *
 * It also stands in for X-Ray's OTLP endpoint (`https://xray.<region>.amazonaws.com/v1/traces`, used
 * with Transaction Search): POST /v1/traces must carry a valid SigV4 signature for service `xray` —
 * verified with STAND_IN_AWS_CREDENTIALS, as AWS verifies it with the account's key (403 otherwise) —
 * and a binary OTLP protobuf body (415 for anything else, 400 when it does not decode). Those spans
 * are kept, not forwarded to moto (which has no OTLP API).
 */
export async function startXrayStandIn(opts: { echo?: boolean } = {}): Promise<XrayStandIn> {
  const moto = await startMotoServer(opts.echo);
  const traffic: XrayTraffic = { puts: [], otlpExports: [], rejected: [] };
  // moto has no Get/UpdateTraceSegmentDestination: answered here (xray-destination.ts).
  const destination = traceSegmentDestinationStandIn(verifyXraySignature, (res, status, type, message) =>
    refuseXrayRequest(traffic, res, status, type, message),
  );
  const listener = await listenOnLoopback((req, res) => {
    handleXrayRequest({ moto, traffic, destination }, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: (err as Error).message });
    });
  });
  return {
    endpoint: `http://127.0.0.1:${listener.port}`,
    port: listener.port,
    puts: () => [...traffic.puts],
    segments: () => traffic.puts.flatMap((p) => p.segments),
    otlpExports: () => [...traffic.otlpExports],
    otlpSpans: () => traffic.otlpExports.flatMap((e) => e.spans),
    batchGetTraces: (traceIds) => batchGetTraces(moto.url, traceIds),
    traceSummaryIds: (windowSeconds = 600) => traceSummaryIds(moto.url, windowSeconds),
    traceSegmentDestination: destination,
    rejected: () => [...traffic.rejected],
    process: moto.process,
    stop: async () => {
      await listener.close();
      await moto.process.stop();
    },
  };
}

/** moto_server on a free loopback port. */
interface MotoServer {
  process: ManagedProcess;
  port: number;
  url: string;
}

/** Starts moto_server and waits (30 s at most) until it answers; stops it and throws with its output otherwise. */
async function startMotoServer(echo: boolean | undefined): Promise<MotoServer> {
  const port = await freePort();
  const moto = startProcess("moto", findMotoServer(), ["-H", "127.0.0.1", "-p", String(port)], { echo });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor("moto_server", async () => (await httpStatus(`${url}/moto-api/`, 1000)) > 0, { timeoutMs: 30_000, intervalMs: 200 });
  } catch (err) {
    await moto.stop();
    throw new Error(`${(err as Error).message}\n${moto.output()}`);
  }
  return { process: moto, port, url };
}

/** What the checking proxy accepted and refused, in arrival order. */
interface XrayTraffic {
  puts: XrayPut[];
  otlpExports: XrayOtlpExport[];
  rejected: Array<{ status: number; message: string }>;
}

/** What one request is answered with: moto behind the proxy, the record, the trace segment destination. */
interface XrayProxy {
  moto: MotoServer;
  traffic: XrayTraffic;
  destination: TraceSegmentDestinationStandIn;
}

/**
 * The checking proxy's routes: POST /v1/traces is X-Ray's OTLP endpoint (kept here); the trace segment destination
 * calls are answered here; every other call must be signed, and PutTraceSegments well formed, before it goes to moto.
 */
async function handleXrayRequest(proxy: XrayProxy, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  const pathname = (req.url ?? "").split("?")[0];
  if (pathname === "/v1/traces") return acceptOtlpExport(proxy.traffic, req, body, res);
  if (proxy.destination.handle(req, body, res)) return;
  const signature = checkXraySignature(proxy.traffic, req, body, res);
  if (!signature) return;
  if (pathname === "/TraceSegments") {
    if (req.method !== "POST") return refuseXrayRequest(proxy.traffic, res, 404, "UnknownOperationException", "PutTraceSegments is POST /TraceSegments");
    const parsed = parsePutTraceSegments(body);
    if ("problem" in parsed) return refuseXrayRequest(proxy.traffic, res, 400, "InvalidRequestException", parsed.problem);
    proxy.traffic.puts.push({ credentialScope: signature.credentialScope ?? "", segments: parsed.segments });
  }
  forwardToMoto(proxy.moto, req, body, res);
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

/** Passes a checked request to moto as it came and streams moto's answer back (502 when moto fails, 10 s bound). */
function forwardToMoto(moto: MotoServer, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): void {
  const upstream = http.request(
    `${moto.url}${req.url ?? "/"}`,
    { method: req.method, headers: { ...req.headers, host: `127.0.0.1:${moto.port}` }, timeout: 10_000 },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on("timeout", () => upstream.destroy(new Error("moto did not answer in 10 s")));
  upstream.on("error", (err) => {
    if (!res.headersSent) sendJson(res, 502, { message: err.message });
    else res.destroy();
  });
  upstream.end(body);
}

/** X-Ray's OTLP endpoint: a signed POST of a binary OTLP protobuf, decoded and kept (moto has no OTLP API). */
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

/** A call to moto's X-Ray API from the test itself, straight to moto, with a well-formed (not verified) SigV4 header. */
async function callMoto<T>(motoUrl: string, pathname: string, payload: unknown): Promise<T> {
  const date = new Date().toISOString().slice(0, 10).replace(/-/g, "");
  const res = await fetch(`${motoUrl}${pathname}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `AWS4-HMAC-SHA256 Credential=test/${date}/us-east-1/xray/aws4_request, SignedHeaders=host, Signature=${"0".repeat(64)}`,
    },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto ${pathname}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** BatchGetTraces: the traces moto stored, their segment documents parsed (what the X-Ray console shows). */
async function batchGetTraces(motoUrl: string, traceIds: string[]): Promise<Array<{ Id: string; Segments: XraySegment[] }>> {
  const out = await callMoto<{ Traces?: Array<{ Id: string; Segments: Array<{ Id: string; Document: string }> }> }>(motoUrl, "/Traces", {
    TraceIds: traceIds,
  });
  return (out.Traces ?? []).map((t) => ({
    Id: t.Id,
    Segments: t.Segments.map((s) => JSON.parse(s.Document) as XraySegment),
  }));
}

/** GetTraceSummaries over the last `windowSeconds`: the ids of the traces moto holds. */
async function traceSummaryIds(motoUrl: string, windowSeconds: number): Promise<string[]> {
  const now = Date.now() / 1000;
  const out = await callMoto<{ TraceSummaries?: Array<{ Id: string }> }>(motoUrl, "/TraceSummaries", {
    StartTime: now - windowSeconds,
    EndTime: now + 60,
  });
  return (out.TraceSummaries ?? []).map((s) => s.Id);
}
