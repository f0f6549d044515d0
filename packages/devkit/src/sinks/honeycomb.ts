import type http from "node:http";
import { listenOnLoopback, readBody, sendJson } from "./http-util.js";
import { decodeOtlpTraces, type Span } from "@tracemesh/trace-model";

export interface HoneycombRequest {
  team: string;
  contentType: string;
  contentEncoding: string;
  spans: Span[];
}

export interface HoneycombStandIn {
  /** Base URL to use as the Honeycomb endpoint (the exporter appends /v1/traces). */
  url: string;
  port: number;
  /** Every accepted export request, in arrival order. */
  requests(): HoneycombRequest[];
  /** Every span accepted so far. */
  spans(): Span[];
  /** How many requests were refused (401/400/404/415). */
  rejected(): number;
  stop(): Promise<void>;
}

/**
 * What Honeycomb's OTLP/HTTP trace ingest checks before it accepts an export: POST /v1/traces, an
 * `x-honeycomb-team` key (equal to `apiKey` when one is given: 401 otherwise), an OTLP protobuf or JSON body
 * (optionally gzip) that decodes (400/415 otherwise). Reads the body.
 */
export async function acceptHoneycombExport(req: http.IncomingMessage, apiKey?: string): Promise<HoneycombRequest | { status: number; message: string }> {
  const path = (req.url ?? "").split("?")[0];
  if (req.method !== "POST" || path !== "/v1/traces") return { status: 404, message: `no route ${req.method} ${path}` };
  const team = String(req.headers["x-honeycomb-team"] ?? "");
  if (!team || (apiKey !== undefined && team !== apiKey)) return { status: 401, message: "unknown API key - check your credentials" };
  const contentType = String(req.headers["content-type"] ?? "");
  const contentEncoding = String(req.headers["content-encoding"] ?? "");
  const body = await readBody(req);
  try {
    return { team, contentType, contentEncoding, spans: decodeOtlpTraces(body, contentType, contentEncoding) };
  } catch (err) {
    return { status: contentType.startsWith("application/") ? 400 : 415, message: (err as Error).message };
  }
}

/**
 * A local stand-in for Honeycomb's OTLP/HTTP trace ingest (we cannot reach the real one). Like the
 * real API it takes POST /v1/traces with OTLP protobuf or JSON (optionally gzip), answers 401 when
 * the `x-honeycomb-team` header is missing (or differs from `apiKey` when one is given), and keeps
 * the decoded spans for assertions. The dataset would be each span's service.name.
 */
export async function startHoneycombStandIn(opts: { apiKey?: string } = {}): Promise<HoneycombStandIn> {
  const accepted: HoneycombRequest[] = [];
  let rejected = 0;
  const refuse = (res: http.ServerResponse, status: number, message: string) => {
    rejected += 1;
    sendJson(res, status, { error: message });
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      const checked = await acceptHoneycombExport(req, opts.apiKey);
      if ("status" in checked) return refuse(res, checked.status, checked.message);
      accepted.push(checked);
      const { contentType } = checked;
      // An empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON.
      if (contentType.startsWith("application/x-protobuf")) {
        res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 });
        res.end();
      } else {
        sendJson(res, 200, {});
      }
    } catch (err) {
      refuse(res, 500, (err as Error).message);
    }
  };
  const listener = await listenOnLoopback((req, res) => void handler(req, res));
  return {
    url: `http://127.0.0.1:${listener.port}`,
    port: listener.port,
    requests: () => [...accepted],
    spans: () => accepted.flatMap((r) => r.spans),
    rejected: () => rejected,
    stop: listener.close,
  };
}
