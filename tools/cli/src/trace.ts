// `tracemesh trace <trace-id>`: from a trace to its log lines and its error. The waterfall of its spans (the
// Collector's file export), with the log lines every service wrote inside it interleaved at their timestamps (read
// from CloudWatch Logs with FilterLogEvents on the trace's id, as Fluent Bit shipped them) and the Rollbar items it
// raised (an RQL query on custom.trace_id). A trace tells where something went wrong; its logs tell what.
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { renderWaterfall, spansFromOtlpFiles, traceIdFromXray, waterfallSpan, xrayTraceId, type Span, type WaterfallLog } from "@tracemesh/trace-model";
import { traceLogLines, type TraceLogLine } from "./cloudwatch-logs.js";
import { rollbarOccurrences, type RollbarOccurrence, type RollbarOptions } from "./rollbar.js";

/** A W3C trace id (32 hex) from either form; undefined when it is neither. */
export function normalizeTraceId(text: string): string | undefined {
  const id = text.trim().toLowerCase();
  if (/^[0-9a-f]{32}$/.test(id)) return id;
  if (/^1-[0-9a-f]{8}-[0-9a-f]{24}$/.test(id)) return traceIdFromXray(id);
  return undefined;
}

export interface TraceLookup {
  traceId: string;
  /** The Collector's file export(s) to read the spans from. */
  otlpFiles: string[];
  /** CloudWatch Logs: the client and the log group Fluent Bit writes to. */
  logs?: { client: CloudWatchLogsClient; logGroup: string };
  rollbar?: RollbarOptions;
  /** Without spans, how far back to look for log lines (ms). */
  sinceMs?: number;
  timeoutMs?: number;
}

export interface TraceView {
  traceId: string;
  spans: Span[];
  logs: TraceLogLine[];
  rollbar: RollbarOccurrence[];
  /** Where each part came from, or why it is missing. */
  sources: { spans: string; logs: string; rollbar: string };
}

/** Reads the trace's spans, log lines and Rollbar occurrences; a source that fails is said so, not fatal. */
export async function lookUpTrace(opts: TraceLookup): Promise<TraceView> {
  const spans = opts.otlpFiles.length > 0 ? spansFromOtlpFiles(opts.otlpFiles).filter((s) => s.traceId === opts.traceId) : [];
  const sources = {
    // Honeycomb has no span export API (its Query Data API aggregates): the spans come from the Collector's file.
    spans: opts.otlpFiles.length > 0 ? `${spans.length} spans from ${opts.otlpFiles.join(", ")}` : `no --otlp file given (in Honeycomb: trace.trace_id = ${opts.traceId})`,
    logs: "CloudWatch Logs not asked",
    rollbar: "Rollbar not asked (ROLLBAR_READ_TOKEN unset)",
  };
  // The window FilterLogEvents searches: the trace's time, with room for clocks and lines written after it.
  const now = Date.now();
  const startMs = spans.length > 0 ? Math.min(...spans.map((s) => Number(s.startNs / 1_000_000n))) - 60_000 : now - (opts.sinceMs ?? 3600_000);
  const endMs = spans.length > 0 ? Math.max(...spans.map((s) => Number(s.endNs / 1_000_000n))) + 120_000 : now + 60_000;
  let logs: TraceLogLine[] = [];
  if (opts.logs) {
    try {
      logs = await traceLogLines(opts.logs.client, { logGroup: opts.logs.logGroup, traceId: opts.traceId, startMs, endMs, timeoutMs: opts.timeoutMs });
      sources.logs = `${logs.length} lines from CloudWatch Logs ${opts.logs.logGroup} (FilterLogEvents)`;
    } catch (err) {
      sources.logs = `CloudWatch Logs failed: ${(err as Error).name}: ${(err as Error).message}`;
    }
  }
  let rollbar: RollbarOccurrence[] = [];
  if (opts.rollbar) {
    try {
      rollbar = await rollbarOccurrences(opts.rollbar, opts.traceId);
      sources.rollbar = `${rollbar.length} occurrence(s) from Rollbar (RQL on custom.trace_id)`;
    } catch (err) {
      sources.rollbar = `Rollbar failed: ${(err as Error).message}`;
    }
  }
  return { traceId: opts.traceId, spans, logs, rollbar, sources };
}

/** The service a log line came from: pino's `service`, else the container's name. */
function serviceOf(line: TraceLogLine): string {
  const r = line.record ?? {};
  const k8s = r.kubernetes as { container_name?: string } | undefined;
  return String(r.service ?? k8s?.container_name ?? line.stream.split(/[._]/).at(-2) ?? "?");
}

/** A log line in a few words: its message and what it handled (route or rpc, status or code, duration), its error. */
export function logSummary(line: TraceLogLine): string {
  const r = line.record;
  if (!r) return line.message.split("\n")[0]!.slice(0, 200);
  const err = r.err as { message?: string; type?: string } | string | undefined;
  const parts = [
    String(r.msg ?? ""),
    r.method && (r.route ?? r.path) ? `${String(r.method)} ${String(r.route ?? r.path)}` : r.rpc ? String(r.rpc) : r.stream_id ? `${String(r.redis_stream)} ${String(r.stream_id)}` : "",
    r.status !== undefined ? String(r.status) : r.code !== undefined ? String(r.code) : r.outcome !== undefined ? String(r.outcome) : "",
    r.duration_ms !== undefined ? `${String(r.duration_ms)} ms` : "",
    err ? (typeof err === "string" ? err : `${err.type ?? "Error"}: ${err.message ?? ""}`) : "",
    r.fault ? `fault ${String(r.fault)}` : "",
  ];
  return parts.filter(Boolean).join(" · ");
}

/** When a line was written: pino's `time` (ms), else the event's timestamp. */
function writtenNs(line: TraceLogLine): bigint {
  const t = Date.parse(String(line.record?.time ?? ""));
  return BigInt(Number.isNaN(t) ? line.timestamp : t) * 1_000_000n;
}

export function renderTrace(view: TraceView, opts: { width?: number } = {}): string {
  const width = opts.width ?? 130;
  const services = [...new Set(view.spans.map((s) => s.serviceName))];
  const logServices = [...new Set(view.logs.map(serviceOf))];
  const failed = view.spans.filter((s) => s.statusCode === "ERROR").length;
  const out = [
    `── Trace ${view.traceId} (X-Ray ${xrayTraceId(view.traceId)}): ${view.spans.length} spans across ${services.join(", ") || "—"}` +
      `${failed ? ` (${failed} with ERROR status)` : ""}; ${view.logs.length} log lines from ${logServices.join(", ") || "—"}; ` +
      `${view.rollbar.length} Rollbar occurrence(s)`,
    `   spans: ${view.sources.spans}`,
    `   logs:  ${view.sources.logs}`,
    `   errors: ${view.sources.rollbar}`,
    "",
  ];
  const logs: WaterfallLog[] = view.logs.map((line) => ({
    timeNs: writtenNs(line),
    service: serviceOf(line),
    spanId: typeof line.record?.span_id === "string" ? line.record.span_id : undefined,
    level: String(line.record?.level ?? "info"),
    text: logSummary(line),
  }));
  if (view.spans.length > 0) {
    out.push(renderWaterfall(view.spans.map(waterfallSpan), { width, maxSpans: 80, logs }));
  } else if (logs.length > 0) {
    out.push("(no spans: the log lines alone, in time order)");
    for (const l of [...logs].sort((a, b) => (a.timeNs < b.timeNs ? -1 : 1))) out.push(`  ${new Date(Number(l.timeNs / 1_000_000n)).toISOString()}  ${l.service.padEnd(14)} ${l.level.padEnd(5)} ${l.text}`);
    out.push("");
  }
  if (view.rollbar.length > 0) {
    out.push("── Rollbar");
    for (const o of view.rollbar) {
      out.push(`  item #${o.counter} (${o.level}) ${o.title}${o.service ? ` — ${o.service}` : ""}${o.spanId ? `, span ${o.spanId}` : ""}, ${new Date(o.timestamp * 1000).toISOString()}  → ${o.itemPath}`);
    }
    out.push("");
  }
  return out.join("\n") + "\n";
}
