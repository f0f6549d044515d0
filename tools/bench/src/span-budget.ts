// Benchmark 7: the span cost budget. One HTTP server span's life in µs of CPU, part by part (create, attributes,
// context, propagation, end, export), for three ways of setting the SDK up, each in its own process
// (span-budget-worker.js): the SDK's floor (a bare tracer), ours (@tracemesh/telemetry) and the OpenTelemetry
// Demo's way (auto-instrumentations-node/register). Each is measured with a sampled incoming parent and with an
// unsampled one (what a request that sampling left out still pays per span). The setups alternate within every
// repetition.
import path from "node:path";
import { autoInstrumentationsRegister } from "@tracemesh/mesh";
import { Stops, startHelper } from "./env.js";
import { lastJsonLine, runNodeScript } from "./node-script.js";
import { fmt, median, table } from "./stats.js";
import type { SpanBudget } from "./span-budget-worker.js";

export const BUDGET_SETUPS = ["floor", "ours", "otel-demo"] as const;
export type BudgetSetup = (typeof BUDGET_SETUPS)[number];
export const BUDGET_PARTS = ["create", "attributes", "context", "propagation", "end", "export"] as const;
export type BudgetPart = (typeof BUDGET_PARTS)[number];

export interface SpanBudgetSettings {
  reps: number;
  /** Batches of 500 spans per part and round, and rounds per process. */
  batches: number;
  rounds: number;
}

/** µs per span: median over the repetitions, per setup, sampled or not, and part. */
export type SpanBudgetResult = Record<"sampled" | "unsampled", Record<BudgetSetup, Record<BudgetPart, number>>>;

function runWorker(setup: BudgetSetup, endpoint: string, sampled: boolean, s: SpanBudgetSettings): Promise<SpanBudget> {
  const args = [path.join(__dirname, "span-budget-worker.js"), setup, endpoint, ...(setup === "otel-demo" ? [autoInstrumentationsRegister()] : [])];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    OTEL_SDK_DISABLED: "false",
    OTEL_SERVICE_NAME: "span-budget",
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    // The sink checks Honeycomb's key header.
    OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=bench",
    OTEL_TRACES_SAMPLER: "parentbased_always_on",
    OTEL_METRICS_EXPORTER: "none",
    OTEL_LOGS_EXPORTER: "none",
    OTEL_NODE_RESOURCE_DETECTORS: "env,host,os,process,serviceinstance,container",
    SPAN_BUDGET_BATCHES: String(s.batches),
    SPAN_BUDGET_ROUNDS: String(s.rounds),
    SPAN_BUDGET_SAMPLED: sampled ? "1" : "0",
  };
  const name = `span budget worker ${setup}`;
  return runNodeScript(name, args, { env, timeoutMs: 300_000 }).then((out) => lastJsonLine<SpanBudget>(name, out));
}

export async function runSpanBudget(s: SpanBudgetSettings, log: (line: string) => void): Promise<SpanBudgetResult> {
  const stops = new Stops();
  try {
    const sink = await startHelper("saas-sink", "saas-sink.js");
    stops.add(sink.stop);
    const endpoint = `http://127.0.0.1:${sink.port}`;
    const runs = new Map<string, SpanBudget[]>();
    for (let rep = 0; rep < s.reps; rep++) {
      for (const sampled of [true, false]) {
        for (const setup of BUDGET_SETUPS) {
          const r = await runWorker(setup, endpoint, sampled, s);
          const key = `${sampled}|${setup}`;
          runs.set(key, [...(runs.get(key) ?? []), r]);
          log(`  span budget ${setup} ${sampled ? "sampled" : "unsampled"} rep ${rep + 1}: ${fmt(BUDGET_PARTS.reduce((a, p) => a + r[p], 0))} µs per span`);
        }
      }
    }
    const pick = (sampled: boolean) =>
      Object.fromEntries(
        BUDGET_SETUPS.map((setup) => [setup, Object.fromEntries(BUDGET_PARTS.map((p) => [p, median(runs.get(`${sampled}|${setup}`)!.map((r) => r[p]))]))]),
      ) as Record<BudgetSetup, Record<BudgetPart, number>>;
    return { sampled: pick(true), unsampled: pick(false) };
  } finally {
    await stops.run();
  }
}

const SETUP_LABEL: Record<BudgetSetup, string> = { floor: "SDK floor (bare tracer)", ours: "ours", "otel-demo": "OpenTelemetry Demo's way" };
const PART_LABEL: Record<BudgetPart, string> = {
  create: "create (ids, sampler, processors' onStart)",
  attributes: "attributes (2 set + rename)",
  context: "context (made active, read back)",
  propagation: "propagation (extract + inject)",
  end: "end (processors' onEnd, queued)",
  export: "export (serialise + send)",
};

/** The budget table: one row per part, sampled and unsampled columns per setup. */
export function spanBudgetTable(r: SpanBudgetResult): string {
  const total = (x: Record<BudgetPart, number>) => BUDGET_PARTS.reduce((a, p) => a + x[p], 0);
  const header = ["part of a span's life (µs of CPU per span)", ...BUDGET_SETUPS.map((s) => SETUP_LABEL[s]), "ours − floor", ...BUDGET_SETUPS.map((s) => `${SETUP_LABEL[s]}, unsampled`)];
  const rows = BUDGET_PARTS.map((p) => [
    PART_LABEL[p],
    ...BUDGET_SETUPS.map((s) => fmt(r.sampled[s][p], 2)),
    fmt(r.sampled.ours[p] - r.sampled.floor[p], 2),
    ...BUDGET_SETUPS.map((s) => fmt(r.unsampled[s][p], 2)),
  ]);
  rows.push([
    "**all**",
    ...BUDGET_SETUPS.map((s) => fmt(total(r.sampled[s]), 2)),
    fmt(total(r.sampled.ours) - total(r.sampled.floor), 2),
    ...BUDGET_SETUPS.map((s) => fmt(total(r.unsampled[s]), 2)),
  ]);
  return table(header, rows);
}

if (require.main === module) {
  const reps = Number(process.argv[2] ?? "1");
  runSpanBudget({ reps, batches: 8, rounds: 5 }, (line) => process.stderr.write(`${line}\n`)).then(
    (r) => {
      process.stdout.write(spanBudgetTable(r) + "\n");
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`span budget failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
