// Benchmark 8: the Collector's CPU per span, per component. The real Collector (config.yaml + local.yaml, as
// benchmark 1 runs it, exporting to the Honeycomb/X-Ray sink) gets the same open-loop load of post-shaped traces
// (collector-load-worker.js) once with everything on and once with each component switched off in turn (an
// overlay config that leaves it out of the pipelines); a component's cost is the difference. Then candidate
// settings that cut the cost are measured the same way. Variants alternate within every repetition.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { localCollectorConfigs, startCollector, standInCollectorEnv, type XrayExporter } from "@tracemesh/devkit";
import { Stops, startHelper } from "./env.js";
import { cpuSeconds } from "./machine.js";
import { lastJsonLine, runNodeScript } from "./node-script.js";
import { fmt, median, table } from "./stats.js";

export interface CollectorCostSettings {
  reps: number;
  /** Traces per second (each 18 spans) and seconds of load per run, after warmupS of the same load. */
  rate: number;
  durationS: number;
  warmupS: number;
}

/** The pipelines of config.yaml + local.yaml, as lists an overlay replaces. */
const TRACE_PROCESSORS = ["memory_limiter", "resourcedetection", "batch"];
const TRACE_EXPORTERS = ["otlp_http/honeycomb", "awsxray", "file/traces", "span_metrics", "service_graph", "debug"];
const RED_RECEIVERS = ["span_metrics", "service_graph"];
const RED_PROCESSORS = ["memory_limiter", "batch"];

export interface CollectorVariant {
  id: string;
  label: string;
  /** YAML overlay on config.yaml + local.yaml ("" = none). */
  overlay: string;
  /** The path to X-Ray (default awsxray: PutTraceSegments). */
  xrayExporter?: XrayExporter;
}

function pipelines(p: { traceProcessors?: string[]; traceExporters?: string[]; redReceivers?: string[]; redProcessors?: string[] }): string {
  const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;
  const red = p.redReceivers ?? RED_RECEIVERS;
  return [
    "service:",
    "  pipelines:",
    "    traces:",
    `      processors: ${list(p.traceProcessors ?? TRACE_PROCESSORS)}`,
    `      exporters: ${list(p.traceExporters ?? TRACE_EXPORTERS)}`,
    ...(red.length
      ? ["    metrics/red:", `      receivers: ${list(red)}`, `      processors: ${list(p.redProcessors ?? RED_PROCESSORS)}`]
      : []),
    "",
  ].join("\n");
}

const without = (xs: string[], x: string) => xs.filter((y) => y !== x);

/** Everything on, then each component off in turn. */
export const COMPONENT_VARIANTS: CollectorVariant[] = [
  { id: "all", label: "everything on (config.yaml + local.yaml)", overlay: "" },
  { id: "batch", label: "batch", overlay: pipelines({ traceProcessors: without(TRACE_PROCESSORS, "batch"), redProcessors: without(RED_PROCESSORS, "batch") }) },
  { id: "memory_limiter", label: "memory_limiter", overlay: pipelines({ traceProcessors: without(TRACE_PROCESSORS, "memory_limiter"), redProcessors: without(RED_PROCESSORS, "memory_limiter") }) },
  { id: "file", label: "file exporter (local runs only)", overlay: pipelines({ traceExporters: without(TRACE_EXPORTERS, "file/traces") }) },
  { id: "honeycomb", label: "Honeycomb exporter (otlp_http)", overlay: pipelines({ traceExporters: without(TRACE_EXPORTERS, "otlp_http/honeycomb") }) },
  { id: "xray", label: "X-Ray exporter (awsxray)", overlay: pipelines({ traceExporters: without(TRACE_EXPORTERS, "awsxray") }) },
  { id: "span_metrics", label: "span_metrics connector", overlay: pipelines({ traceExporters: without(TRACE_EXPORTERS, "span_metrics"), redReceivers: ["service_graph"] }) },
  { id: "service_graph", label: "service_graph connector", overlay: pipelines({ traceExporters: without(TRACE_EXPORTERS, "service_graph"), redReceivers: ["span_metrics"] }) },
];

/** Settings that may cut the cost, each on its own and together (overlays on config.yaml + local.yaml). */
const GZIP_FAST = ["exporters:", ...["otlp_http/honeycomb", "otlp_http/honeycomb-metrics"].flatMap((e) => [`  ${e}:`, "    compression_params:", "      level: 1"]), ""].join("\n");
const BIG_BATCHES = ["processors:", "  batch:", "    send_batch_size: 2048", "    send_batch_max_size: 4096", "    timeout: 2s", ""].join("\n");
// The batch processor's work done by the Honeycomb exporter's own queue instead (exporterhelper's
// sending_queue::batch); awsxray exposes no queue and cuts every export into PutTraceSegments calls of 50 anyway.
const QUEUE_BATCHING = [
  pipelines({ traceProcessors: without(TRACE_PROCESSORS, "batch") }),
  "exporters:",
  "  otlp_http/honeycomb:",
  "    sending_queue:",
  "      sizer: items",
  "      queue_size: 100000",
  "      batch:",
  "        flush_timeout: 1s",
  "        min_size: 512",
  "",
].join("\n");
export const TUNING_VARIANTS: CollectorVariant[] = [
  { id: "queue-batch", label: "traces batched by the Honeycomb exporter's queue (512 spans or 1 s) instead of the batch processor", overlay: QUEUE_BATCHING },
  { id: "gzip-fast", label: "gzip at level 1 (fastest) to Honeycomb instead of the default level", overlay: GZIP_FAST },
  { id: "big-batches", label: "batches of 2048 spans (up to 4096) every 2 s instead of 512 every 1 s", overlay: BIG_BATCHES },
  { id: "no-debug", label: "without the debug exporter (one log line per batch)", overlay: pipelines({ traceExporters: without(TRACE_EXPORTERS, "debug") }) },
  // Not a setting: the other path to X-Ray (XRAY_EXPORTER=otlp_http/xray, needs Transaction Search), for its cost.
  { id: "xray-otlp", label: "X-Ray through its OTLP endpoint (XRAY_EXPORTER=otlp_http/xray) instead of PutTraceSegments", overlay: "", xrayExporter: "otlp_http/xray" },
];

export interface CollectorCostResult {
  /** µs of Collector CPU per span: median over the repetitions, per variant. */
  perSpan: Record<string, number>;
  /** Spans each run sent, and the spans the sink's Honeycomb stand-in counted per variant (none lost). */
  spansSent: number;
  variants: CollectorVariant[];
}

async function runLoad(endpoint: string, s: CollectorCostSettings): Promise<number> {
  const args = [path.join(__dirname, "collector-load-worker.js"), endpoint, String(s.rate), String(s.durationS)];
  const out = await runNodeScript("collector load", args, { env: { ...process.env, OTEL_SDK_DISABLED: "true" }, timeoutMs: (s.durationS + 60) * 1000 });
  return lastJsonLine<{ spans: number }>("collector load", out).spans;
}

export async function runCollectorCost(variants: CollectorVariant[], s: CollectorCostSettings, log: (line: string) => void): Promise<CollectorCostResult> {
  const stops = new Stops();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-collector-cost-"));
  try {
    const sink = await startHelper("saas-sink", "saas-sink.js");
    stops.add(sink.stop);
    const sinkUrl = `http://127.0.0.1:${sink.port}`;
    const runs = new Map<string, number[]>();
    let spansSent = 0;
    for (let rep = 0; rep < s.reps; rep++) {
      for (const v of variants) {
        const xrayExporter = v.xrayExporter ?? "awsxray";
        const configs = [...localCollectorConfigs(xrayExporter, { fileExporter: true })];
        if (v.overlay) {
          const file = path.join(dir, `${v.id}.yaml`);
          fs.writeFileSync(file, v.overlay);
          configs.push(file);
        }
        const collector = await startCollector({ configs, xrayExporter, env: { ...standInCollectorEnv({ honeycombUrl: sinkUrl, honeycombKey: "bench-key", xrayEndpoint: sinkUrl }), DEBUG_VERBOSITY: "basic" } });
        try {
          const pid = collector.process.child.pid!;
          // A second of load first: the pipelines' first batches and connections are not what is measured.
          await runLoad(collector.otlpHttpUrl, { ...s, durationS: s.warmupS });
          const before = cpuSeconds(pid) ?? NaN;
          const spans = await runLoad(collector.otlpHttpUrl, s);
          // What the batch processor still holds (its 1 s timeout) is exported before the reading.
          await new Promise((r) => setTimeout(r, 1200));
          const perSpan = (((cpuSeconds(pid) ?? NaN) - before) * 1e6) / spans;
          spansSent = spans;
          runs.set(v.id, [...(runs.get(v.id) ?? []), perSpan]);
          log(`  collector ${v.id} rep ${rep + 1}: ${fmt(perSpan)} µs per span (${spans} spans)`);
        } finally {
          await collector.stop();
        }
      }
    }
    return { perSpan: Object.fromEntries([...runs.entries()].map(([id, xs]) => [id, median(xs)])), spansSent, variants };
  } finally {
    await stops.run();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Each component's cost: everything on minus that one off. */
export function collectorCostTable(r: CollectorCostResult): string {
  const all = r.perSpan.all!;
  const rows = r.variants.map((v) =>
    v.id === "all"
      ? [v.label, fmt(all, 1), "", "100 %"]
      : [COMPONENT_VARIANTS.includes(v) ? `without ${v.label}` : v.label, fmt(r.perSpan[v.id]!, 1), fmt(all - r.perSpan[v.id]!, 1), `${((r.perSpan[v.id]! / all) * 100).toFixed(0)} %`],
  );
  return table(["Collector configuration", "µs of CPU per span", "everything on minus this: the component's cost or the saving (µs per span)", "of everything on"], rows);
}

if (require.main === module) {
  const reps = Number(process.argv[2] ?? "1");
  const variants = process.argv[3] === "tuning" ? [COMPONENT_VARIANTS[0]!, ...TUNING_VARIANTS] : COMPONENT_VARIANTS;
  runCollectorCost(variants, { reps, rate: 100, durationS: 4, warmupS: 1 }, (line) => process.stderr.write(`${line}\n`)).then(
    (r) => {
      process.stdout.write(collectorCostTable(r) + "\n");
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`collector cost failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
