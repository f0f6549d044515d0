// The demo's tracing step (issue "one trace"): the real Collector between the mesh and the trace backends.
// Each sink is chosen on its own from the environment:
//   Honeycomb  HONEYCOMB_API_KEY set → the real API (HONEYCOMB_ENDPOINT picks EU); else a local stand-in
//   X-Ray      AWS_REGION + (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) → the real API; else
//              moto behind a checking proxy (scripts/tools/25-moto.sh)
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
  type XrayStandIn,
} from "@tracemesh/devkit";
import type { Mesh, MeshOtelOptions, MeshService } from "@tracemesh/mesh";
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
import type { DemoExtension, DemoOptions } from "./demo.js";

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
  /** Exit statuses of the processes this step started (otelcol, moto), once stopped. */
  stopped(): Record<string, ExitStatus>;
  /** Files written for `tracemesh compare`. */
  files(): { traces: string; xraySegments: string };
}

export const DEFAULT_DEMO_OUT = path.join(os.tmpdir(), "tracemesh-demo");

export function telemetryDemo(options: TelemetryDemoOptions = {}): TelemetryDemo {
  const env = options.env ?? process.env;
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const say = (line: string) => process.stderr.write(`\x1b[1;34m[demo]\x1b[0m ${line}\n`);
  const outDir = options.outDir ?? DEFAULT_DEMO_OUT;
  const tracesFile = path.join(outDir, "traces.jsonl");
  const segmentsFile = path.join(outDir, "xray-segments.jsonl");
  // The last scrape of the Collector's RED metrics (cumulative; `compare --servicegraph` reads it).
  const metricsFile = path.join(outDir, "red-metrics.prom");
  const plan = planSinks(env);
  // XRAY_EXPORTER=otlp_http/xray: X-Ray's OTLP endpoint instead of PutTraceSegments (docs/compare.md).
  const xrayExporter = xrayExporterFromEnv(env);
  const statuses: Record<string, ExitStatus> = {};
  let collector: LocalCollector | undefined;
  let honeycomb: HoneycombStandIn | undefined;
  let xray: XrayStandIn | undefined;
  let loadStartNs = 0n;
  let loadEndMs = 0;
  // The RED metrics when the load began: the table shows what happened since (the seeding is not in it).
  let redBefore: PromSample[] | undefined;

  /** A settled scrape of the Collector's RED metrics, or undefined (with one line saying why) when it fails. */
  const scrapeRed = async (): Promise<PromSample[] | undefined> => {
    try {
      const text = await collector!.settledMetrics();
      fs.writeFileSync(metricsFile, text);
      return parsePrometheusText(text);
    } catch (err) {
      say(`RED metrics unavailable: ${(err as Error).message}`);
      return undefined;
    }
  };

  const stopCollector = async () => {
    if (!collector || statuses.otelcol) return;
    await collector.stop();
    statuses.otelcol = await collector.process.exited;
  };

  return {
    name: "collector",
    stopped: () => ({ ...statuses }),
    files: () => ({ traces: tracesFile, xraySegments: segmentsFile }),

    async beforeMesh(_opts: DemoOptions): Promise<MeshOtelOptions> {
      fs.mkdirSync(outDir, { recursive: true });
      for (const f of [tracesFile, segmentsFile, metricsFile]) fs.rmSync(f, { force: true });
      if (plan.honeycomb.real) {
        say(`Honeycomb: REAL — ${plan.honeycomb.endpoint} with HONEYCOMB_API_KEY (datasets = service names)`);
      } else {
        honeycomb = await startHoneycombStandIn({ apiKey: STAND_IN_TEAM_KEY });
        say(`Honeycomb: local stand-in ${honeycomb.url} (no HONEYCOMB_API_KEY; it checks x-honeycomb-team like the real API)`);
      }
      if (plan.xray.real) {
        say(`X-Ray:     REAL — region ${plan.xray.region}, credentials from ${plan.xray.credentials}`);
      } else {
        xray = await startXrayStandIn({ echo: options.echo });
        say(`X-Ray:     local stand-in ${xray.endpoint} (moto; no AWS_REGION + credentials)`);
      }
      const collectorEnv = sinkCollectorEnv(plan, env, { honeycombUrl: honeycomb?.url, xrayEndpoint: xray?.endpoint });
      collector = await startCollector({ env: collectorEnv, tracesFile, echo: options.echo, xrayExporter });
      if (xrayExporter !== "awsxray") say(`X-Ray path: ${xrayExporter} (X-Ray's OTLP endpoint, SigV4)`);
      say(`Collector: otelcol-tracemesh, OTLP/HTTP ${collector.otlpHttpUrl}; file exporter → ${tracesFile}`);
      // Spans reach the Collector within a second, so the demo need not wait out the default 5 s batches.
      // moderation on the X-Ray SDK (MODERATION_TRACING=xray-sdk) sends its segments to the Collector's awsxray
      // receiver, as to a daemon; with MODERATION_TRACING=otel it exports OTLP like the others.
      return { endpoint: collector.otlpHttpUrl, env: { OTEL_BSP_SCHEDULE_DELAY: "1000" }, xrayDaemonAddress: `127.0.0.1:${collector.xrayUdpPort}` };
    },

    urls(mesh: Mesh): string[] {
      if (!collector) return [];
      return [
        `  collector      OTLP/HTTP ${collector.otlpHttpUrl}   OTLP/gRPC ${collector.otlpGrpcAddress}   health ${collector.healthUrl}`,
        `                 RED metrics (Prometheus) ${collector.metricsUrl}`,
        `                 X-Ray daemon UDP 127.0.0.1:${collector.xrayUdpPort}   traces file ${tracesFile}`,
        ...(honeycomb ? [`  honeycomb      stand-in ${honeycomb.url}`] : []),
        ...(xray ? [`  x-ray          stand-in ${xray.endpoint}`] : []),
        `traced load:   OTEL_SERVICE_NAME=loadgen OTEL_EXPORTER_OTLP_ENDPOINT=${collector.otlpHttpUrl} ` +
          `TRACEMESH_HTTP_PEERS=${new URL(mesh.apiUrl).host}=api \\`,
        `               node --require ./packages/telemetry/dist/src/register.js services/loadgen/dist/src/main.js ` +
          `--base-url ${mesh.apiUrl} --rate 20 --duration 30s`,
      ];
    },

    async beforeLoad(): Promise<void> {
      if (collector) redBefore = await scrapeRed();
      loadStartNs = BigInt(Date.now()) * 1_000_000n;
    },

    async afterLoad(): Promise<void> {
      loadEndMs = Date.now();
    },

    async afterMesh(_stopped: Partial<Record<MeshService, ExitStatus>>, _opts: DemoOptions): Promise<void> {
      if (!collector) return;
      // Every service flushed its spans when it stopped: once the connectors counted them, the load's RED is final.
      const redAfter = redBefore ? await scrapeRed() : undefined;
      const red: ServiceGraph | undefined = redBefore && redAfter ? graphFromServiceGraphMetrics(samplesBetween(redBefore, redAfter)) : undefined;
      // Stopping the Collector flushes its batches and exporter queues: every span is in the file and the sinks.
      await stopCollector();
      for (const [exporter, f] of exportFailures(collector.process.output())) {
        say(`WARNING: the Collector's ${exporter} exporter failed ${f.count} times; last error: ${f.lastError.slice(0, 300)}`);
      }

      let allSpans: Span[] = [];
      try {
        allSpans = fs.existsSync(tracesFile) ? spansFromOtlpFiles([tracesFile]) : [];
      } catch (err) {
        say(`could not read ${tracesFile}: ${(err as Error).message}`);
      }
      const traceCount = new Set(allSpans.map((s) => s.traceId)).size;
      say(`Collector wrote ${allSpans.length} spans in ${traceCount} traces to ${tracesFile}`);
      if (honeycomb) say(`Honeycomb stand-in accepted ${honeycomb.spans().length} spans in ${honeycomb.requests().length} requests (${honeycomb.rejected()} refused)`);
      // On the OTLP path X-Ray receives spans: the map's X-Ray side is the segments X-Ray makes of them.
      const allSegments =
        xrayExporter === "otlp_http/xray"
          ? segmentDocumentsFromSpans(xray?.otlpSpans() ?? [])
          : (xray?.segments() ?? []);
      if (xray) {
        fs.writeFileSync(segmentsFile, allSegments.map((s) => JSON.stringify(s)).join("\n") + (allSegments.length ? "\n" : ""));
        say(
          xrayExporter === "otlp_http/xray"
            ? `X-Ray stand-in accepted ${xray.otlpSpans().length} spans in ${xray.otlpExports().length} signed OTLP exports (${xray.rejected().length} refused); ${segmentsFile}: the segments X-Ray makes of them`
            : `X-Ray stand-in accepted ${allSegments.length} segment documents in ${xray.puts().length} PutTraceSegments calls (${xray.rejected().length} refused)`,
        );
      }
      // The map describes the load; seeding (service "seed") ran before it and stays in the files only.
      const { spans, segments, leftOut } = loadWindow(allSpans, allSegments, loadStartNs);
      if (leftOut > 0) say(`showing the ${traceCount - leftOut} traces of the load (${leftOut} seeding traces left out)`);

      const example = pickExampleTrace(spans);
      const width = options.width ?? Math.min(140, process.stdout.columns || 120);
      const out: string[] = [];
      if (example.length > 0) {
        const traceId = example[0].traceId;
        const names = [...new Set(example.map((s) => s.serviceName))].join(", ");
        out.push(
          "",
          `── One trace: ${traceId} (X-Ray ${xrayTraceId(traceId)}) — ${example.length} spans across ${names}`,
          renderWaterfall(example.map(waterfallSpan), { width, maxSpans: 60 }),
        );
      } else {
        out.push("", "── No spans reached the Collector's file exporter: no trace to show.", "");
      }
      if (spans.length > 0) {
        // Whether the waterfalls can be trusted: sub-millisecond starts (packages/telemetry's anchored clock) and, in
        // one process, every child inside its parent (docs/span-times.md).
        out.push("── Span times", "", renderTimingReport(timingReport(spans)));
      }
      const otlpGraph = graphFromSpans(spans);
      if (xray) {
        const xrayGraph = graphFromXraySegments(segments);
        out.push(
          "── Service map: X-Ray segments (stand-in) vs OTLP spans (what Honeycomb got) vs the Collector's servicegraph connector — `tracemesh compare`",
          "",
        );
        out.push(renderTable(compareGraphs(xrayGraph, otlpGraph, { servicegraph: red })));
      } else {
        out.push("── Service map from the OTLP spans (the X-Ray side is in the console)", "", renderEdgeTable(otlpGraph));
      }
      if (red) {
        const windowS = loadEndMs > 0 ? (loadEndMs - Number(loadStartNs / 1_000_000n)) / 1000 : undefined;
        out.push(
          `── RED per edge during the load (${windowS ? `${windowS.toFixed(1)} s; ` : ""}the Collector's servicegraph connector, ${collector.metricsUrl})`,
          "",
          renderRedTable(red, windowS),
        );
      }

      out.push("── Where to look");
      const exampleId = example[0]?.traceId;
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
      out.push(`  traces (OTLP JSON lines): ${tracesFile}`);
      if (xray) out.push(`  X-Ray segments:           ${segmentsFile}`);
      out.push(
        `  RED metrics scrape:       ${metricsFile}`,
        `  compare again:            pnpm tracemesh compare --otlp ${tracesFile}` + (xray ? ` --xray-segments ${segmentsFile}` : "") +
          (red ? ` --servicegraph ${metricsFile}` : ""),
        `                            (the files also hold the seeding traffic, as service "seed")`,
      );
      if (!plan.honeycomb.real || !plan.xray.real) {
        out.push(`  real backends:            set HONEYCOMB_API_KEY and AWS_REGION + AWS credentials, then run the demo again`);
      }
      out.push("");
      write(out.join("\n") + "\n");
    },

    async stop(): Promise<void> {
      await stopCollector();
      if (xray) {
        await xray.stop();
        statuses.moto = await xray.process.exited;
      }
      await honeycomb?.stop();
      const summary = Object.entries(statuses).map(([n, s]) => `${n} ${s.code !== null ? `exit ${s.code}` : s.signal}`);
      if (summary.length) say(`stopped ${summary.join(", ")}${honeycomb ? ", Honeycomb stand-in closed" : ""}`);
    },
  };
}
