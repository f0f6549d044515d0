import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { CloudWatchLogsStore, handleCloudWatchLogs } from "./cloudwatch-logs.js";
import { acceptHoneycombExport, acceptHoneycombMetricsExport, sendEmptyOtlpResponse } from "./honeycomb.js";
import { acceptRollbarItem, answerRollbarRql, sendRollbarAccepted, type RollbarItem } from "./rollbar.js";
import { makeStandInTls, readStandInTls } from "./tls.js";
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
  /** CloudWatch Logs' journal: every group, stream and batch of events accepted, in order (CloudWatchLogsStore). */
  cloudwatchLogs: "cloudwatch-logs.jsonl",
  /** One Rollbar item per line, as the item endpoint accepted it: `{"received", "data"}`. */
  rollbar: "rollbar-items.jsonl",
  /** While this file exists, CloudWatch Logs answers every request 503 (a test's outage switch). */
  cloudwatchLogsOutage: "cloudwatch-logs-outage",
  /** The CloudWatch Logs stand-in's CA (ca.pem), certificate and key. */
  tls: "tls",
} as const;

export interface RollbarItemRecord {
  received: string;
  data: Record<string, unknown>;
}

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
  /** The HTTPS port of CloudWatch Logs, when asked for. */
  cloudwatchLogsPort?: number;
  stop(): Promise<void>;
}

export interface RecordingStandInOptions {
  dir: string;
  host: string;
  port: number;
  honeycombApiKey?: string;
  /** Also CloudWatch Logs over HTTPS on this port (0: a free one); its CA and certificate in DIR/tls. */
  cloudwatchLogsPort?: number;
  /** Names the CloudWatch Logs certificate is for (besides localhost and 127.0.0.1). */
  tlsNames?: string[];
  /** Rollbar's item endpoint checks this post_server_item token; RQL (a trace's items) this read token. */
  rollbarToken?: string;
  rollbarReadToken?: string;
}

/**
 * Honeycomb's trace and metrics ingest and X-Ray's PutTraceSegments in one small server that writes what it accepted to
 * files, for a cluster that cannot reach either SaaS (the CI cluster: deploy/k8s/overlays/ci). It checks what the
 * real APIs check — Honeycomb: the `x-honeycomb-team` key and an OTLP body that decodes; X-Ray: a SigV4 signature
 * for service `xray` in STAND_IN_AWS_REGION, recomputed with STAND_IN_AWS_CREDENTIALS (the placeholder keys the ci
 * overlay gives the Collector; sigv4.ts, as for every AWS stand-in), and every segment document's id, trace id, name
 * and times — and answers as they answer. With
 * `rollbarToken`, Rollbar's item endpoint (token and body checked, items recorded) and its RQL jobs; with
 * `cloudwatchLogsPort`, CloudWatch Logs over HTTPS (cloudwatch-logs.ts: SigV4 for `logs`, the JSON 1.1 API),
 * which Fluent Bit writes to and `tracemesh trace` reads with FilterLogEvents.
 * Unlike the test harness's X-Ray stand-in (xray.ts), nothing is read back over the API, only from the files.
 */
export async function startRecordingStandIn(opts: RecordingStandInOptions): Promise<RecordingStandIn> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const rollbarFile = path.join(opts.dir, RECORDED_FILES.rollbar);
  const rollbarItems = (): RollbarItem[] =>
    fs.existsSync(rollbarFile)
      ? fs.readFileSync(rollbarFile, "utf8").split("\n").filter(Boolean).map((l) => ({ accessToken: "", data: (JSON.parse(l) as RollbarItemRecord).data }))
      : [];
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
    if (opts.rollbarToken !== undefined && route.startsWith("/api/1/")) {
      if (await answerRollbarRql(req, res, () => ({ kept: rollbarItems(), dropped: 0 }), opts.rollbarReadToken)) return;
      const item = await acceptRollbarItem(req, opts.rollbarToken);
      if ("status" in item) return refuse(res, item.status, "", item.message);
      const record: RollbarItemRecord = { received: new Date().toISOString(), data: item.data };
      fs.appendFileSync(rollbarFile, JSON.stringify(record) + "\n");
      return sendRollbarAccepted(res, item);
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
  const logs = opts.cloudwatchLogsPort === undefined ? undefined : await startRecordingCloudWatchLogs(opts, opts.cloudwatchLogsPort);
  return {
    port: typeof address === "object" && address ? address.port : opts.port,
    cloudwatchLogsPort: logs?.port,
    stop: async () => {
      await logs?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

/**
 * CloudWatch Logs over HTTPS, journaled to DIR/cloudwatch-logs.jsonl (a restarted stand-in replays it). Its CA and
 * certificate are kept in DIR/tls across restarts — a client already trusts that CA — and made when missing or
 * about to expire; ca.pem is written last, so a client that waits for it finds the whole set.
 */
async function startRecordingCloudWatchLogs(opts: RecordingStandInOptions, port: number): Promise<{ port: number; stop(): Promise<void> }> {
  const tlsDir = path.join(opts.dir, RECORDED_FILES.tls);
  const tls = readStandInTls(tlsDir) ?? makeStandInTls(tlsDir, opts.tlsNames ?? [], 365);
  const store = new CloudWatchLogsStore(path.join(opts.dir, RECORDED_FILES.cloudwatchLogs));
  const outageFile = path.join(opts.dir, RECORDED_FILES.cloudwatchLogsOutage);
  let refusedInOutage = 0;
  const server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    handleCloudWatchLogs(req, res, store, { outage: () => (fs.existsSync(outageFile) ? "The service is unavailable (the stand-in's outage switch)." : undefined) })
      .then((answer) => {
        if (answer.status === 503) refusedInOutage += 1;
        // One line per refusal outside an outage (a client doing something CloudWatch would refuse); the
        // outage's refusals are counted, and said when it ends, so this log does not feed itself through Fluent Bit.
        else if (answer.status !== 200) process.stderr.write(`refused ${answer.status} ${answer.operation}: ${answer.message ?? ""}\n`);
        if (answer.status === 200 && refusedInOutage > 0) {
          process.stderr.write(`cloudwatch-logs outage over: ${refusedInOutage} requests refused with 503\n`);
          refusedInOutage = 0;
        }
      })
      .catch(() => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, opts.host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
