// The demo's tracing step (issue "one trace"): the real Collector between the mesh and the trace backends.
// Each sink is chosen on its own from the environment:
//   Honeycomb  HONEYCOMB_API_KEY set → the real API (HONEYCOMB_ENDPOINT picks EU); else a local stand-in
//   X-Ray      AWS_REGION + (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) → the real API; else
//              a local stand-in in this process that checks SigV4 and the segments (@tracemesh/devkit xray.ts)
// The Collector's file exporter always writes the spans locally, so after the load the demo prints one trace
// as a waterfall and the service map as the compare CLI's table (X-Ray segments vs OTLP spans).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  startCollector,
  startHoneycombStandIn,
  startXrayStandIn,
  standInCollectorEnv,
  xrayExporterFromEnv,
  type ExitStatus,
  type HoneycombStandIn,
  type LocalCollector,
  type XrayExporter,
  type XrayStandIn,
} from "@tracemesh/devkit";
import type { Mesh, MeshOtelOptions } from "@tracemesh/mesh";
import {
  compareGraphs,
  graphFromServiceGraphMetrics,
  graphFromSpans,
  parsePrometheusText,
  renderRedTable,
  samplesBetween,
  graphFromXraySegments,
  renderEdgeTable,
  renderTable,
  renderTimingReport,
  renderWaterfall,
  segmentDocumentsFromSpans,
  timingReport,
  spansFromOtlpFiles,
  waterfallSpan,
  xrayTraceId,
  type PromSample,
  type ServiceGraph,
  type Span,
  type XraySegment,
} from "@tracemesh/trace-model";
import { KEEP_RUNNING_TRACES_FILE_ROTATION, type DemoExtension, type RunningDemoOptions } from "./demo.js";

// ---------------------------------------------------------------------------------------------------------------
// Which sinks are real

export interface SinkPlan {
  honeycomb: { real: boolean; endpoint: string };
  xray: { real: boolean; region: string; credentials: string };
}

/** Decides, per sink, between the real service and the local stand-in. */
export function planSinks(env: NodeJS.ProcessEnv): SinkPlan {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || "";
  const keys = Boolean(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY);
  const profile = Boolean(env.AWS_PROFILE);
  return {
    honeycomb: { real: Boolean(env.HONEYCOMB_API_KEY), endpoint: env.HONEYCOMB_ENDPOINT || "https://api.honeycomb.io" },
    xray: {
      real: Boolean(region) && (keys || profile),
      region: region || "us-east-1",
      credentials: keys ? "AWS_ACCESS_KEY_ID" : profile ? `AWS_PROFILE=${env.AWS_PROFILE}` : "",
    },
  };
}

/** The team key the Honeycomb stand-in requires (the real API checks the header the same way). */
const STAND_IN_TEAM_KEY = "demo-team-key";

/** The real services' variables the Collector may read (never the stand-ins' overrides). */
const REAL_HONEYCOMB_VARS = ["HONEYCOMB_API_KEY", "HONEYCOMB_ENDPOINT"];
const REAL_AWS_VARS = [
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
];

function pick(env: NodeJS.ProcessEnv, names: string[]): NodeJS.ProcessEnv {
  return Object.fromEntries(names.filter((n) => env[n]).map((n) => [n, env[n]]));
}

/**
 * The Collector's environment for the chosen sinks: a real sink gets only the user's own variables (no endpoint
 * overrides but HONEYCOMB_ENDPOINT for EU), a stand-in sink its loopback endpoint and placeholder credentials.
 */
export function sinkCollectorEnv(
  plan: SinkPlan,
  env: NodeJS.ProcessEnv,
  standIns: { honeycombUrl?: string; xrayEndpoint?: string },
): NodeJS.ProcessEnv {
  const local = standInCollectorEnv({
    honeycombUrl: standIns.honeycombUrl ?? "",
    honeycombKey: STAND_IN_TEAM_KEY,
    xrayEndpoint: standIns.xrayEndpoint ?? "",
  });
  const honeycombLocal = Object.fromEntries(Object.entries(local).filter(([name]) => name.startsWith("HONEYCOMB_")));
  const xrayLocal = Object.fromEntries(Object.entries(local).filter(([name]) => !name.startsWith("HONEYCOMB_")));
  return {
    ...(plan.honeycomb.real ? pick(env, REAL_HONEYCOMB_VARS) : honeycombLocal),
    ...(plan.xray.real ? { ...pick(env, REAL_AWS_VARS), AWS_REGION: plan.xray.region } : xrayLocal),
  };
}

/** Honeycomb's UI for an ingest endpoint (US or EU). */
export function honeycombUi(endpoint: string): string {
  return endpoint.includes("eu1") ? "https://ui.eu1.honeycomb.io/" : "https://ui.honeycomb.io/";
}

export function xrayConsoleUrls(region: string, traceId?: string): { map: string; trace?: string } {
  const base = `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}`;
  return { map: `${base}#xray:service-map/map`, ...(traceId ? { trace: `${base}#xray:traces/${xrayTraceId(traceId)}` } : {}) };
}

/** Failed export attempts per exporter, from the Collector's log ("Exporting failed…" lines). */
export function exportFailures(collectorLog: string): Map<string, { count: number; lastError: string }> {
  const out = new Map<string, { count: number; lastError: string }>();
  for (const line of collectorLog.split("\n")) {
    if (!/Exporting failed|Dropping data/.test(line)) continue;
    const exporter = /"otelcol\.component\.id": ?"([^"]+)"/.exec(line)?.[1] ?? "unknown";
    const error = /"error": ?"((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? line.split("\t")[3] ?? line;
    out.set(exporter, { count: (out.get(exporter)?.count ?? 0) + 1, lastError: error });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Which traces to show

/** The traces whose first span started at or after `sinceNs` (the load), with the X-Ray segments of those traces. */
export function loadWindow(
  spans: readonly Span[],
  segments: readonly XraySegment[],
  sinceNs: bigint,
): { spans: Span[]; segments: XraySegment[]; leftOut: number } {
  const firstStart = new Map<string, bigint>();
  for (const s of spans) {
    const t = firstStart.get(s.traceId);
    if (t === undefined || s.startNs < t) firstStart.set(s.traceId, s.startNs);
  }
  const kept = new Set([...firstStart].filter(([, t]) => t >= sinceNs).map(([id]) => id));
  const keptXray = new Set([...kept].map(xrayTraceId));
  return {
    spans: spans.filter((s) => kept.has(s.traceId)),
    segments: segments.filter((s) => s.trace_id !== undefined && keptXray.has(s.trace_id)),
    leftOut: firstStart.size - kept.size,
  };
}

/**
 * The trace to show: a loadgen `flow post` trace that crossed the stream (a CONSUMER span in notifications),
 * covering the most services, then the fewest spans (readable); else any trace with a CONSUMER span; else the
 * trace with the most services.
 */
export function pickExampleTrace(spans: readonly Span[]): Span[] {
  const byTrace = new Map<string, Span[]>();
  for (const s of spans) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
  const traces = [...byTrace.values()];
  const services = (t: Span[]) => new Set(t.map((s) => s.serviceName)).size;
  const hasHop = (t: Span[]) => t.some((s) => s.kind === "CONSUMER" && s.serviceName === "notifications");
  const isPostFlow = (t: Span[]) => t.some((s) => !s.parentSpanId && s.serviceName === "loadgen" && s.name === "flow post");
  const best = (list: Span[][]) =>
    [...list].sort((a, b) => services(b) - services(a) || a.length - b.length)[0];
  return best(traces.filter((t) => isPostFlow(t) && hasHop(t))) ?? best(traces.filter(hasHop)) ?? best(traces) ?? [];
}

// ---------------------------------------------------------------------------------------------------------------
// The extension

export interface TelemetryDemoOptions {
  /** Where traces.jsonl and xray-segments.jsonl are written (kept after the demo). */
  outDir?: string;
  /** The environment the sinks are chosen from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where the waterfall, the map and the hints go (default stdout). */
  write?: (text: string) => void;
  /** Width bound of the waterfall (default: the terminal's, at most 140). */
  width?: number;
  echo?: boolean;
}

export interface TelemetryDemo extends DemoExtension {
  /** Exit statuses of the processes this step started (the Collector: otelcol), once stopped. */
  stopped(): Record<string, ExitStatus>;
  /** Files written for `tracemesh compare`. */
  files(): { traces: string; xraySegments: string };
}

export const DEFAULT_DEMO_OUT = path.join(os.tmpdir(), "tracemesh-demo");

export function telemetryDemo(options: TelemetryDemoOptions = {}): TelemetryDemo {
  const env = options.env ?? process.env;
  const step: TracingStep = {
    options,
    env,
    plan: planSinks(env),
    // XRAY_EXPORTER=otlp_http/xray: X-Ray's OTLP endpoint instead of PutTraceSegments (docs/compare.md).
    xrayExporter: xrayExporterFromEnv(env),
    files: demoFiles(options.outDir ?? DEFAULT_DEMO_OUT),
    statuses: {},
    loadStartNs: 0n,
    loadEndMs: 0,
  };
  return {
    name: "collector",
    stopped: () => ({ ...step.statuses }),
    files: () => ({ traces: step.files.traces, xraySegments: step.files.xraySegments }),
    beforeMesh: (opts) => startSinksAndCollector(step, opts),
    urls: (mesh: Mesh) => collectorUrls(step, mesh),
    async beforeLoad(): Promise<void> {
      if (step.collector) step.redBefore = await scrapeRed(step);
      step.loadStartNs = BigInt(Date.now()) * 1_000_000n;
    },
    async afterLoad(): Promise<void> {
      step.loadEndMs = Date.now();
    },
    afterMesh: () => reportLoad(step),
    stop: () => stopSinksAndCollector(step),
  };
}

/** The files the demo writes in its out dir (kept after it). */
interface DemoFiles {
  dir: string;
  /** The Collector's file exporter: every span as OTLP JSON lines. */
  traces: string;
  /** The X-Ray stand-in's segment documents (or the segments X-Ray makes of the OTLP spans it got). */
  xraySegments: string;
  /** The last scrape of the Collector's RED metrics (cumulative; `compare --servicegraph` reads it). */
  redMetrics: string;
}

function demoFiles(outDir: string): DemoFiles {
  return {
    dir: outDir,
    traces: path.join(outDir, "traces.jsonl"),
    xraySegments: path.join(outDir, "xray-segments.jsonl"),
    redMetrics: path.join(outDir, "red-metrics.prom"),
  };
}

/** The tracing step of one demo, shared by its hooks: what it chose, started and measured. */
interface TracingStep {
  options: TelemetryDemoOptions;
  env: NodeJS.ProcessEnv;
  plan: SinkPlan;
  xrayExporter: XrayExporter;
  files: DemoFiles;
  /** Exit statuses of the processes it started (the Collector: otelcol), once stopped. */
  statuses: Record<string, ExitStatus>;
  collector?: LocalCollector;
  honeycomb?: HoneycombStandIn;
  xray?: XrayStandIn;
  loadStartNs: bigint;
  loadEndMs: number;
  /** The RED metrics when the load began: the table shows what happened since (the seeding is not in it). */
  redBefore?: PromSample[];
}

function say(line: string): void {
  process.stderr.write(`\x1b[1;34m[demo]\x1b[0m ${line}\n`);
}

/** Clears the out dir's files, starts a stand-in for each sink that is not real, then the Collector between them. */
async function startSinksAndCollector(step: TracingStep, demo: RunningDemoOptions): Promise<MeshOtelOptions> {
  const { plan, files, options } = step;
  const { retention } = demo;
  fs.mkdirSync(files.dir, { recursive: true });
  for (const f of [files.traces, files.xraySegments, files.redMetrics]) fs.rmSync(f, { force: true });
  // The files a rotating traces file left (`--keep-running`): <name>-<timestamp>.jsonl beside it.
  const rotatedPrefix = `${path.basename(files.traces, ".jsonl")}-`;
  for (const f of fs.readdirSync(files.dir)) if (f.startsWith(rotatedPrefix) && f.endsWith(".jsonl")) fs.rmSync(path.join(files.dir, f), { force: true });
  if (plan.honeycomb.real) {
    say(`Honeycomb: REAL — ${plan.honeycomb.endpoint} with HONEYCOMB_API_KEY (datasets = service names)`);
  } else {
    step.honeycomb = await startHoneycombStandIn({ apiKey: STAND_IN_TEAM_KEY, retention });
    say(`Honeycomb: local stand-in ${step.honeycomb.url} (no HONEYCOMB_API_KEY; it checks x-honeycomb-team like the real API)`);
  }
  if (plan.xray.real) {
    say(`X-Ray:     REAL — region ${plan.xray.region}, credentials from ${plan.xray.credentials}`);
  } else {
    step.xray = await startXrayStandIn({ retention });
    say(`X-Ray:     local stand-in ${step.xray.endpoint} (no AWS_REGION + credentials; it checks SigV4 and the segment documents like the real API)`);
  }
  const collectorEnv = sinkCollectorEnv(plan, step.env, { honeycombUrl: step.honeycomb?.url, xrayEndpoint: step.xray?.endpoint });
  const collector = await startCollector({
    env: collectorEnv,
    tracesFile: files.traces,
    echo: options.echo,
    xrayExporter: step.xrayExporter,
    tracesFileRotation: demo.keepRunning ? KEEP_RUNNING_TRACES_FILE_ROTATION : undefined,
  });
  step.collector = collector;
  if (step.xrayExporter !== "awsxray") say(`X-Ray path: ${step.xrayExporter} (X-Ray's OTLP endpoint, SigV4)`);
  say(`Collector: otelcol-tracemesh, OTLP/HTTP ${collector.otlpHttpUrl}; file exporter → ${files.traces}`);
  // Spans reach the Collector within a second, so the demo need not wait out the default 5 s batches.
  // moderation on the X-Ray SDK (MODERATION_TRACING=xray-sdk) sends its segments to the Collector's awsxray
  // receiver, as to a daemon; with MODERATION_TRACING=otel it exports OTLP like the others.
  return { endpoint: collector.otlpHttpUrl, env: { OTEL_BSP_SCHEDULE_DELAY: "1000" }, xrayDaemonAddress: `127.0.0.1:${collector.xrayUdpPort}` };
}

/** The Collector's, the stand-ins' addresses and the command for a traced load, for the demo's list of URLs. */
function collectorUrls(step: TracingStep, mesh: Mesh): string[] {
  const { collector, honeycomb, xray } = step;
  if (!collector) return [];
  return [
    `  collector      OTLP/HTTP ${collector.otlpHttpUrl}   OTLP/gRPC ${collector.otlpGrpcAddress}   health ${collector.healthUrl}`,
    `                 RED metrics (Prometheus) ${collector.metricsUrl}`,
    `                 X-Ray daemon UDP 127.0.0.1:${collector.xrayUdpPort}   traces file ${step.files.traces}`,
    ...(honeycomb ? [`  honeycomb      stand-in ${honeycomb.url}`] : []),
    ...(xray ? [`  x-ray          stand-in ${xray.endpoint}`] : []),
    `traced load:   OTEL_SERVICE_NAME=loadgen OTEL_EXPORTER_OTLP_ENDPOINT=${collector.otlpHttpUrl} ` +
      `TRACEMESH_HTTP_PEERS=${new URL(mesh.apiUrl).host}=api \\`,
    `               node --require ./packages/telemetry/dist/src/register.js services/loadgen/dist/src/main.js ` +
      `--base-url ${mesh.apiUrl} --rate 20 --duration 30s`,
  ];
}

/** A settled scrape of the Collector's RED metrics, saved to the out dir, or undefined (with one line saying why). */
async function scrapeRed(step: TracingStep): Promise<PromSample[] | undefined> {
  try {
    const text = await step.collector!.settledMetrics();
    fs.writeFileSync(step.files.redMetrics, text);
    return parsePrometheusText(text);
  } catch (err) {
    say(`RED metrics unavailable: ${(err as Error).message}`);
    return undefined;
  }
}

/** Stops the Collector once (it flushes its batches and exporter queues) and keeps its exit status. */
async function stopCollector(step: TracingStep): Promise<void> {
  if (!step.collector || step.statuses.otelcol) return;
  await step.collector.stop();
  step.statuses.otelcol = await step.collector.process.exited;
}

/**
 * After the mesh stopped: the load's RED, the Collector stopped and its export failures told, then what the files and
 * the stand-ins hold, and the report — one trace, span times, the service map, RED per edge, where to look.
 */
async function reportLoad(step: TracingStep): Promise<void> {
  const collector = step.collector;
  if (!collector) return;
  const red = await redDuringLoad(step);
  // Stopping the Collector flushes its batches and exporter queues: every span is in the file and the sinks.
  await stopCollector(step);
  for (const [exporter, f] of exportFailures(collector.process.output())) {
    say(`WARNING: the Collector's ${exporter} exporter failed ${f.count} times; last error: ${f.lastError.slice(0, 300)}`);
  }
  const allSpans = readExportedSpans(step.files.traces);
  const traceCount = new Set(allSpans.map((s) => s.traceId)).size;
  say(`Collector wrote ${allSpans.length} spans in ${traceCount} traces to ${step.files.traces}`);
  const { honeycomb } = step;
  if (honeycomb) say(`Honeycomb stand-in accepted ${honeycomb.spans().length} spans in ${honeycomb.requests().length} requests (${honeycomb.rejected()} refused)`);
  const allSegments = xraySegmentsReceived(step);
  // The map describes the load; seeding (service "seed") ran before it and stays in the files only.
  const { spans, segments, leftOut } = loadWindow(allSpans, allSegments, step.loadStartNs);
  if (leftOut > 0) say(`showing the ${traceCount - leftOut} traces of the load (${leftOut} seeding traces left out)`);

  const example = pickExampleTrace(spans);
  const width = step.options.width ?? Math.min(140, process.stdout.columns || 120);
  const out: string[] = [
    ...exampleTraceSection(example, width),
    ...spanTimesSection(spans),
    ...serviceMapSection(step, spans, segments, red),
    ...redSection(step, collector, red),
    ...whereToLookSection(step, example[0]?.traceId, red),
  ];
  const write = step.options.write ?? ((text: string) => void process.stdout.write(text));
  write(out.join("\n") + "\n");
}

/** The RED the Collector's servicegraph connector counted during the load (the scrape now minus the one before it). */
async function redDuringLoad(step: TracingStep): Promise<ServiceGraph | undefined> {
  // Every service flushed its spans when it stopped: once the connectors counted them, the load's RED is final.
  const redAfter = step.redBefore ? await scrapeRed(step) : undefined;
  return step.redBefore && redAfter ? graphFromServiceGraphMetrics(samplesBetween(step.redBefore, redAfter)) : undefined;
}

/** Every span the Collector's file exporter wrote; none (with one line saying why) when the file cannot be read. */
function readExportedSpans(tracesFile: string): Span[] {
  try {
    return fs.existsSync(tracesFile) ? spansFromOtlpFiles([tracesFile]) : [];
  } catch (err) {
    say(`could not read ${tracesFile}: ${(err as Error).message}`);
    return [];
  }
}

/**
 * The X-Ray segments of the demo: what the stand-in received, or on the OTLP path the segments X-Ray makes of the
 * spans it received; written to the segments file with a line saying what the stand-in accepted. None for real X-Ray.
 */
function xraySegmentsReceived(step: TracingStep): XraySegment[] {
  const { xray, xrayExporter, files } = step;
  const segments = xrayExporter === "otlp_http/xray" ? segmentDocumentsFromSpans(xray?.otlpSpans() ?? []) : (xray?.segments() ?? []);
  if (xray) {
    fs.writeFileSync(files.xraySegments, segments.map((s) => JSON.stringify(s)).join("\n") + (segments.length ? "\n" : ""));
    say(
      xrayExporter === "otlp_http/xray"
        ? `X-Ray stand-in accepted ${xray.otlpSpans().length} spans in ${xray.otlpExports().length} signed OTLP exports (${xray.rejected().length} refused); ${files.xraySegments}: the segments X-Ray makes of them`
        : `X-Ray stand-in accepted ${segments.length} segment documents in ${xray.puts().length} PutTraceSegments calls (${xray.rejected().length} refused)`,
    );
  }
  return segments;
}

/** The example trace as a waterfall, or a line saying there is none. */
function exampleTraceSection(example: Span[], width: number): string[] {
  if (example.length === 0) return ["", "── No spans reached the Collector's file exporter: no trace to show.", ""];
  const traceId = example[0].traceId;
  const names = [...new Set(example.map((s) => s.serviceName))].join(", ");
  return [
    "",
    `── One trace: ${traceId} (X-Ray ${xrayTraceId(traceId)}) — ${example.length} spans across ${names}`,
    renderWaterfall(example.map(waterfallSpan), { width, maxSpans: 60 }),
  ];
}

/**
 * Whether the waterfalls can be trusted: sub-millisecond starts (packages/telemetry's anchored clock) and, in one
 * process, every child inside its parent (docs/span-times.md).
 */
function spanTimesSection(spans: Span[]): string[] {
  return spans.length > 0 ? ["── Span times", "", renderTimingReport(timingReport(spans))] : [];
}

/** The service map: X-Ray's segments beside the OTLP spans and the servicegraph connector's RED (`tracemesh compare`). */
function serviceMapSection(step: TracingStep, spans: Span[], segments: XraySegment[], red: ServiceGraph | undefined): string[] {
  const otlpGraph = graphFromSpans(spans);
  if (!step.xray) return ["── Service map from the OTLP spans (the X-Ray side is in the console)", "", renderEdgeTable(otlpGraph)];
  const xrayGraph = graphFromXraySegments(segments);
  return [
    "── Service map: X-Ray segments (stand-in) vs OTLP spans (what Honeycomb got) vs the Collector's servicegraph connector — `tracemesh compare`",
    "",
    renderTable(compareGraphs(xrayGraph, otlpGraph, { servicegraph: red })),
  ];
}

/** Rate, errors and duration per edge over the load's window. */
function redSection(step: TracingStep, collector: LocalCollector, red: ServiceGraph | undefined): string[] {
  if (!red) return [];
  const windowS = step.loadEndMs > 0 ? (step.loadEndMs - Number(step.loadStartNs / 1_000_000n)) / 1000 : undefined;
  return [
    `── RED per edge during the load (${windowS ? `${windowS.toFixed(1)} s; ` : ""}the Collector's servicegraph connector, ${collector.metricsUrl})`,
    "",
    renderRedTable(red, windowS),
  ];
}

/** Where the traces are: the real backends' UIs, the files, the compare command to run again. */
function whereToLookSection(step: TracingStep, exampleId: string | undefined, red: ServiceGraph | undefined): string[] {
  const { plan, files, xray } = step;
  const out = ["── Where to look"];
  if (plan.honeycomb.real) {
    out.push(
      `  Honeycomb: ${honeycombUi(plan.honeycomb.endpoint)} → dataset api (or loadgen, activities…) → Query, ` +
        `or search trace.trace_id = ${exampleId ?? "<id>"}; Service Map under Explore (Enterprise plans)`,
    );
  }
  if (plan.xray.real) {
    const urls = xrayConsoleUrls(plan.xray.region, exampleId);
    out.push(`  X-Ray trace map: ${urls.map}`);
    if (urls.trace) out.push(`  X-Ray trace:     ${urls.trace}`);
  }
  out.push(`  traces (OTLP JSON lines): ${files.traces}`);
  if (xray) out.push(`  X-Ray segments:           ${files.xraySegments}`);
  out.push(
    `  RED metrics scrape:       ${files.redMetrics}`,
    `  compare again:            pnpm tracemesh compare --otlp ${files.traces}` + (xray ? ` --xray-segments ${files.xraySegments}` : "") +
      (red ? ` --servicegraph ${files.redMetrics}` : ""),
    `                            (the files also hold the seeding traffic, as service "seed")`,
  );
  if (!plan.honeycomb.real || !plan.xray.real) {
    out.push(`  real backends:            set HONEYCOMB_API_KEY and AWS_REGION + AWS credentials, then run the demo again`);
  }
  out.push("");
  return out;
}

/** Stops the Collector (if still running), the X-Ray and Honeycomb stand-ins, and says so. */
async function stopSinksAndCollector(step: TracingStep): Promise<void> {
  await stopCollector(step);
  const { xray, honeycomb, statuses } = step;
  await xray?.stop();
  await honeycomb?.stop();
  const stopped = Object.entries(statuses).map(([n, s]) => `${n} ${s.code !== null ? `exit ${s.code}` : s.signal}`);
  if (xray) stopped.push("X-Ray stand-in closed");
  if (honeycomb) stopped.push("Honeycomb stand-in closed");
  if (stopped.length) say(`stopped ${stopped.join(", ")}`);
}
