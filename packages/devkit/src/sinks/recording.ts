import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { acceptHoneycombExport, acceptHoneycombMetricsExport, sendEmptyOtlpResponse } from "./honeycomb.js";
import { readBody, sendJson } from "./http-util.js";
import { SERVICE_GRAPH_METRICS, otlpJsonRequest } from "@tracemesh/trace-model";
import { parsePutTraceSegments, refuseXraySignature, verifyXraySignature } from "./xray.js";

/** The files a recording stand-in writes in its directory (what `tracemesh verify` reads). */
export const RECORDED_FILES = {
  /** One line per export Honeycomb accepted: `{"received", "spans", "traceIds"}`. */
  honeycomb: "honeycomb-exports.jsonl",
  /** The spans of each export Honeycomb accepted, one OTLP/JSON request per line (the Collector file exporter's
   *  format): what `tracemesh verify` judges span by span. */
  honeycombSpans: "honeycomb-spans.jsonl",
  /** One line per metrics export Honeycomb accepted: `{"received", "dataset", "metrics": {name: data points},
   *  "edges": ["client → server", …]}` (the servicegraph connector's edges in it). */
  honeycombMetrics: "honeycomb-metrics.jsonl",
  /** One X-Ray segment document per line, as PutTraceSegments received them. */
  xray: "xray-segments.jsonl",
} as const;

export interface HoneycombExportRecord {
  received: string;
  spans: number;
  traceIds: string[];
}

export interface HoneycombMetricsRecord {
  received: string;
  dataset: string;
  /** Data points per metric name. */
  metrics: Record<string, number>;
  /** The servicegraph connector's edges in the export, "client → server". */
  edges: string[];
}

export interface RecordingStandIn {
  port: number;
  stop(): Promise<void>;
}

/**
 * Honeycomb's trace and metrics ingest and X-Ray's PutTraceSegments in one small server that writes what it accepted to
 * files, for a cluster that cannot reach either SaaS (the CI cluster: deploy/k8s/overlays/ci). It checks what the
 * real APIs check — Honeycomb: the `x-honeycomb-team` key and an OTLP body that decodes; X-Ray: a SigV4 signature
 * for service `xray` in STAND_IN_AWS_REGION, recomputed with STAND_IN_AWS_CREDENTIALS (the placeholder keys the ci
 * overlay gives the Collector; sigv4.ts, as for every AWS stand-in), and every segment document's id, trace id, name
 * and times — and answers as they answer.
 * No moto here (that is the test harness's X-Ray): nothing is read back over the API, only from the files.
 */
export async function startRecordingStandIn(opts: { dir: string; host: string; port: number; honeycombApiKey?: string }): Promise<RecordingStandIn> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const honeycombFile = path.join(opts.dir, RECORDED_FILES.honeycomb);
  const honeycombSpansFile = path.join(opts.dir, RECORDED_FILES.honeycombSpans);
  const xrayFile = path.join(opts.dir, RECORDED_FILES.xray);
  const metricsFile = path.join(opts.dir, RECORDED_FILES.honeycombMetrics);
  const refuse = (res: http.ServerResponse, status: number, type: string, message: string) => {
    process.stderr.write(`refused ${status} ${type}: ${message}\n`);
    if (type) res.setHeader("x-amzn-ErrorType", type);
    sendJson(res, status, type ? { __type: type, message } : { error: message });
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const route = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && route === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (route === "/v1/traces") {
      const checked = await acceptHoneycombExport(req, opts.honeycombApiKey);
      if ("status" in checked) return refuse(res, checked.status, "", checked.message);
      const record: HoneycombExportRecord = {
        received: new Date().toISOString(),
        spans: checked.spans.length,
        traceIds: [...new Set(checked.spans.map((s) => s.traceId))],
      };
      fs.appendFileSync(honeycombFile, JSON.stringify(record) + "\n");
      fs.appendFileSync(honeycombSpansFile, JSON.stringify(otlpJsonRequest(checked.spans)) + "\n");
      return sendEmptyOtlpResponse(res, checked.contentType);
    }
    if (route === "/v1/metrics") {
      const checked = await acceptHoneycombMetricsExport(req, opts.honeycombApiKey);
      if ("status" in checked) return refuse(res, checked.status, "", checked.message);
      const metrics = Object.fromEntries(checked.metrics.map((m) => [m.name, m.dataPoints.length]));
      const edges = [...new Set(checked.metrics.filter((m) => m.name === SERVICE_GRAPH_METRICS.requests).flatMap((m) => m.dataPoints.map((p) => `${p.client} → ${p.server}`)))];
      const record: HoneycombMetricsRecord = { received: new Date().toISOString(), dataset: checked.dataset, metrics, edges };
      fs.appendFileSync(metricsFile, JSON.stringify(record) + "\n");
      return sendEmptyOtlpResponse(res, checked.contentType);
    }
    if (req.method === "POST" && route === "/TraceSegments") {
      const body = await readBody(req);
      const signature = verifyXraySignature(req, body);
      if (signature.problem) {
        process.stderr.write(`refused 403 ${signature.code}: ${signature.problem.split("\n")[0]}\n`);
        return refuseXraySignature(res, signature);
      }
      const parsed = parsePutTraceSegments(body);
      if ("problem" in parsed) return refuse(res, 400, "InvalidRequestException", parsed.problem);
      fs.appendFileSync(xrayFile, parsed.segments.map((s) => JSON.stringify(s) + "\n").join(""));
      return sendJson(res, 200, { UnprocessedTraceSegments: [] });
    }
    return refuse(res, 404, "UnknownOperationException", `no route ${req.method} ${route}`);
  };
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: (err as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : opts.port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
