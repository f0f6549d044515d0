// `tracemesh verify`'s checks on logs and errors (CI's on-cluster verifier): what Fluent Bit shipped to CloudWatch
// Logs (the stand-in's journal) and what Rollbar received, against the traces the Collector exported.
//   - every service's pods have log events, one stream per container, named as Container Insights names them;
//   - at least 99 % of the request lines (msg request / rpc / event) carry a trace id whose trace was exported;
//   - an error trace (a 5xx at api, e.g. from a fault switched on during the test) has its error line in
//     CloudWatch Logs and its Rollbar item.
import { CloudWatchLogsStore, type RollbarItemRecord, type StoredLogEvent } from "@tracemesh/devkit";
import type { Span } from "@tracemesh/trace-model";
import type { VerifyCheck } from "./verify.js";

/** The services whose pods must log (their Deployment names; moderation too, on the X-Ray SDK). */
export const LOGGING_SERVICES = ["api", "users", "activities", "notifications", "moderation"] as const;
/** The `msg` of the one line per request, RPC and stream event (@tracemesh/runtime request-log.ts). */
const REQUEST_MESSAGES = new Set(["request", "rpc", "event"]);
/**
 * Requests untraced by design (@tracemesh/telemetry's UNTRACED_HTTP_PATHS: probes, and the browser's span uploads
 * through the frontend's OTLP proxy): their lines carry no trace id, so they are not judged.
 */
const UNTRACED_PATH = /^\/(healthz|readyz|livez)$|^\/otlp\//;
export const REQUEST_LINES_WITH_TRACE_GOAL = 0.99;

export interface LogsVerifyInput {
  /** The CloudWatch Logs stand-in's journal (cloudwatch-logs.jsonl). */
  journal: string;
  /** Rollbar items the stand-in accepted (rollbar-items.jsonl), when Rollbar is on. */
  rollbarItems?: readonly RollbarItemRecord[];
  spans: readonly Span[];
  namespace: string;
  /** Lines written this close to the end of the capture may belong to traces still arriving: not judged. */
  graceMs: number;
}

/** Where a stream's lines came from: `<node>-application.var.log.containers.<pod>_<namespace>_<container>-<id>.log`. */
export function streamSource(stream: string): { pod: string; namespace: string; container: string } | undefined {
  const m = /application\.var\.log\.containers\.([a-z0-9.-]+)_([a-z0-9-]+)_([a-z0-9-]+)-[0-9a-f]{64}\.log$/.exec(stream);
  return m ? { pod: m[1]!, namespace: m[2]!, container: m[3]! } : undefined;
}

function parse(event: StoredLogEvent): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(event.message) as unknown;
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const toMs = (ns: bigint): number => Number(ns / 1_000_000n);

export function verifyLogs(input: LogsVerifyInput): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  const store = new CloudWatchLogsStore(input.journal);
  const events = store.events().filter((e) => streamSource(e.logStreamName)?.namespace === input.namespace);
  const records = events.map((e) => ({ event: e, record: parse(e), source: streamSource(e.logStreamName)! }));

  // 1. Every service's pods log, merged by the kubernetes filter (pino's fields at the top, the pod's metadata).
  const missing: string[] = [];
  const perService: string[] = [];
  for (const service of LOGGING_SERVICES) {
    const own = records.filter((r) => r.source.container === service);
    const merged = own.filter((r) => typeof r.record?.msg === "string" && (r.record.kubernetes as { pod_name?: string } | undefined)?.pod_name === r.source.pod);
    if (merged.length === 0) missing.push(`${service} (${own.length} events, none merged with its pod's metadata)`);
    perService.push(`${service} ${own.length} in ${new Set(own.map((r) => r.event.logStreamName)).size} stream(s)`);
  }
  checks.push({
    name: "every service's pods have log events in CloudWatch Logs (one stream per container, pino's JSON merged with the pod's metadata)",
    ok: missing.length === 0,
    detail: missing.length === 0 ? perService.join(", ") : `missing: ${missing.join("; ")}`,
  });

  // 2. The request lines carry the ids of an exported trace.
  const exported = new Set(input.spans.map((s) => s.traceId));
  const captureEnd = Math.max(0, ...input.spans.map((s) => toMs(s.endNs)));
  const requestLines = records.filter(
    (r) => REQUEST_MESSAGES.has(String(r.record?.msg)) && !UNTRACED_PATH.test(String(r.record?.path ?? "")) && r.event.timestamp < captureEnd - input.graceMs,
  );
  const withTrace = requestLines.filter((r) => exported.has(String(r.record?.trace_id)));
  const share = requestLines.length === 0 ? 0 : withTrace.length / requestLines.length;
  const without = requestLines.filter((r) => !exported.has(String(r.record?.trace_id)));
  checks.push({
    name: `at least ${REQUEST_LINES_WITH_TRACE_GOAL * 100} % of the request lines (request, rpc, event) carry a trace id the Collector exported`,
    ok: requestLines.length > 0 && share >= REQUEST_LINES_WITH_TRACE_GOAL,
    detail:
      `${withTrace.length} of ${requestLines.length} (${(share * 100).toFixed(2)} %)` +
      (without.length ? `; first without: ${without.slice(0, 2).map((r) => `${r.source.container} ${String(r.record?.msg)} ${String(r.record?.route ?? r.record?.rpc ?? r.record?.stream_id ?? "")} trace_id=${String(r.record?.trace_id)}`).join("; ")}` : ""),
  });

  // 3. An error trace: api answered 5xx; its error line is in CloudWatch Logs and its item in Rollbar.
  if (input.rollbarItems) {
    const errorTraces = [
      ...new Set(
        input.spans
          .filter((s) => s.serviceName === "api" && s.kind === "SERVER" && Number(s.attributes["http.response.status_code"] ?? s.attributes["http.status_code"] ?? 0) >= 500)
          .map((s) => s.traceId),
      ),
    ];
    const errorLines = new Set(records.filter((r) => r.record?.level === "error").map((r) => String(r.record?.trace_id)));
    const items = new Set(input.rollbarItems.map((i) => String((i.data.custom as { trace_id?: string } | undefined)?.trace_id)));
    const whole = errorTraces.filter((id) => errorLines.has(id) && items.has(id));
    checks.push({
      name: "an error trace (api answered 5xx) has its error line in CloudWatch Logs and its Rollbar item",
      ok: whole.length > 0,
      detail:
        errorTraces.length === 0
          ? `no 5xx trace in the export (${input.rollbarItems.length} Rollbar items)`
          : `${whole.length} of ${errorTraces.length} error traces have both (e.g. ${whole[0] ?? "none"}); ` +
            `${errorTraces.filter((id) => errorLines.has(id)).length} have an error line, ${errorTraces.filter((id) => items.has(id)).length} a Rollbar item`,
    });
  }
  return checks;
}
