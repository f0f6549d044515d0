import type http from "node:http";
import { listenOnLoopback, readBody, sendJson } from "./http-util.js";
import { RetainedRecords, type Retention } from "./retention.js";
import { decodeOtlpMetrics, decodeOtlpTraces, type OtlpMetricSummary, type Span } from "@tracemesh/trace-model";

export interface HoneycombRequest {
  team: string;
  contentType: string;
  contentEncoding: string;
  spans: Span[];
}

/** An OTLP metrics export Honeycomb accepted: metrics go to the dataset the header names. */
export interface HoneycombMetricsRequest {
  team: string;
  dataset: string;
  contentType: string;
  metrics: OtlpMetricSummary[];
}

export interface HoneycombStandIn {
  /** Base URL to use as the Honeycomb endpoint (the exporter appends /v1/traces). */
  url: string;
  port: number;
  /** Every accepted export request kept (all of them unless a retention was given), in arrival order. */
  requests(): HoneycombRequest[];
  /** Every span kept. */
  spans(): Span[];
  /** Every accepted metrics export (POST /v1/metrics) kept, in arrival order. */
  metricExports(): HoneycombMetricsRequest[];
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
  const refused = routeAndKey(req, "/v1/traces", apiKey);
  if (refused) return refused;
  const team = String(req.headers["x-honeycomb-team"]);
  const contentType = String(req.headers["content-type"] ?? "");
  const contentEncoding = String(req.headers["content-encoding"] ?? "");
  const body = await readBody(req);
  try {
    return { team, contentType, contentEncoding, spans: decodeOtlpTraces(body, contentType, contentEncoding) };
  } catch (err) {
    return { status: contentType.startsWith("application/") ? 400 : 415, message: (err as Error).message };
  }
}

/** Honeycomb's first two checks: the route, then the team key (401 when missing or not `apiKey`). */
function routeAndKey(req: http.IncomingMessage, route: string, apiKey: string | undefined): { status: number; message: string } | undefined {
  const path = (req.url ?? "").split("?")[0];
  if (req.method !== "POST" || path !== route) return { status: 404, message: `no route ${req.method} ${path}` };
  const team = String(req.headers["x-honeycomb-team"] ?? "");
  if (!team || (apiKey !== undefined && team !== apiKey)) return { status: 401, message: "unknown API key - check your credentials" };
  return undefined;
}

/**
 * What Honeycomb's OTLP/HTTP metrics ingest checks: POST /v1/metrics, the team key as for traces, and an
 * `x-honeycomb-dataset` header — spans find their dataset in service.name, metrics must be given one (400
 * without it) — then a body that decodes as OTLP metrics. Reads the body.
 */
export async function acceptHoneycombMetricsExport(req: http.IncomingMessage, apiKey?: string): Promise<HoneycombMetricsRequest | { status: number; message: string }> {
  const refused = routeAndKey(req, "/v1/metrics", apiKey);
  if (refused) return refused;
  const dataset = String(req.headers["x-honeycomb-dataset"] ?? "");
  if (!dataset) return { status: 400, message: "missing x-honeycomb-dataset header: OTLP metrics need a dataset" };
  const contentType = String(req.headers["content-type"] ?? "");
  const body = await readBody(req);
  try {
    const metrics = decodeOtlpMetrics(body, contentType, String(req.headers["content-encoding"] ?? ""));
    return { team: String(req.headers["x-honeycomb-team"]), dataset, contentType, metrics };
  } catch (err) {
    return { status: contentType.startsWith("application/") ? 400 : 415, message: (err as Error).message };
  }
}

/** The empty Export*ServiceResponse Honeycomb answers with: zero bytes in protobuf, {} in JSON. */
export function sendEmptyOtlpResponse(res: http.ServerResponse, contentType: string): void {
  if (contentType.startsWith("application/x-protobuf")) {
    res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 });
    res.end();
  } else {
    sendJson(res, 200, {});
  }
}

/**
 * A local stand-in for Honeycomb's OTLP/HTTP trace ingest (we cannot reach the real one). Like the
 * real API it takes POST /v1/traces with OTLP protobuf or JSON (optionally gzip), answers 401 when
 * the `x-honeycomb-team` header is missing (or differs from `apiKey` when one is given), and keeps
 * the decoded spans for assertions. The dataset would be each span's service.name. It takes metrics exports
 * too (POST /v1/metrics with a dataset header), as the Collector's RED metrics are sent. `retention` bounds the
 * spans (and metrics) kept; everything is kept without it.
 */
export async function startHoneycombStandIn(opts: { apiKey?: string; retention?: Retention } = {}): Promise<HoneycombStandIn> {
  const accepted = new RetainedRecords<HoneycombRequest>(opts.retention, (r) => r.spans.length);
  const metrics = new RetainedRecords<HoneycombMetricsRequest>(opts.retention, (r) => r.metrics.length);
  let rejected = 0;
  const refuse = (res: http.ServerResponse, status: number, message: string) => {
    rejected += 1;
    sendJson(res, status, { error: message });
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    try {
      if ((req.url ?? "").split("?")[0] === "/v1/metrics") {
        const checked = await acceptHoneycombMetricsExport(req, opts.apiKey);
        if ("status" in checked) return refuse(res, checked.status, checked.message);
        metrics.push(checked);
        return sendEmptyOtlpResponse(res, checked.contentType);
      }
      const checked = await acceptHoneycombExport(req, opts.apiKey);
      if ("status" in checked) return refuse(res, checked.status, checked.message);
      accepted.push(checked);
      sendEmptyOtlpResponse(res, checked.contentType);
    } catch (err) {
      refuse(res, 500, (err as Error).message);
    }
  };
  const listener = await listenOnLoopback((req, res) => void handler(req, res));
  return {
    url: `http://127.0.0.1:${listener.port}`,
    port: listener.port,
    requests: () => accepted.values(),
    spans: () => accepted.values().flatMap((r) => r.spans),
    metricExports: () => metrics.values(),
    rejected: () => rejected,
    stop: listener.close,
  };
}
