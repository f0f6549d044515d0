// Turns results into the tables printed on the terminal and written to docs/benchmarks.md.
import { machineLine, type Machine } from "./machine.js";
import { fmt, fmtSpread, table } from "./stats.js";
import { SAMPLED_RATIO, type MeshKind, type OverheadKind } from "./env.js";
import { collectorCostTable, type CollectorCostResult, type CollectorCostSettings } from "./collector-cost.js";
import { spanBudgetTable, type SpanBudgetResult, type SpanBudgetSettings } from "./span-budget.js";
import type { DemoFootprint } from "./footprint.js";
import {
  GENERATORS,
  GOAL_LOADGEN_VS_AUTOCANNON,
  EFFICIENCY_DEFINITION,
  STALL_DEFINITION,
  STALL_GENERATORS,
  STALL_SHOWN_SHARE,
  type EfficiencyResult,
  type EfficiencySettings,
} from "./efficiency.js";
import { GOAL_TOTAL_BYTES, type FootprintResult } from "./footprint.js";
import type { HopsResult } from "./hops.js";
import { GOAL_NOTIFY_P99_MS, type NotifyResult, type NotifySettings } from "./notify.js";
import {
  GOAL_MAX_RATIO,
  GOAL_P99_INCREASE,
  HALF_LOAD_DEFINITION,
  MAX_RATE_DEFINITION,
  OVERHEAD_ROUTES,
  type OverheadCell,
  type OverheadResult,
  type OverheadRoute,
  type OverheadSettings,
} from "./overhead.js";
import { runtimeConfigId, type RuntimesResult } from "./runtimes.js";

export interface Goal {
  benchmark: string;
  goal: string;
  measured: string;
  met: boolean;
}

export interface Section {
  title: string;
  /** Markdown: definitions and tables. */
  body: string;
  goals: Goal[];
}

const mib = (bytes: number) => fmt(bytes / 2 ** 20, 0);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)} %`;
const SPREAD_NOTE = "Cells: median over the repetitions (min–max).";

/** How the traced mesh is labelled: its head-sampling ratio, exporting to the Collector. */
export function tracedLabel(sampleRatio: number): string {
  return `${+(sampleRatio * 100).toFixed(2)} % → Collector`;
}

/** Benchmark 1's configurations in table order, and how each is labelled. */
const OVERHEAD_KINDS: ReadonlyArray<OverheadKind> = ["untraced", "traced", "sampled", "otel-demo", "machine-heaps", "before"];
function overheadLabel(kind: OverheadKind, sampleRatio: number, baseline?: string): string {
  switch (kind) {
    case "untraced":
      return "SDK off";
    case "traced":
      return `ours, ${tracedLabel(sampleRatio)}`;
    case "sampled":
      return `ours, ${tracedLabel(SAMPLED_RATIO)} (parentbased_traceidratio)`;
    case "otel-demo":
      return `OpenTelemetry Demo's way, ${tracedLabel(sampleRatio)}`;
    case "machine-heaps":
      return `ours, ${tracedLabel(sampleRatio)}, V8 heaps sized from this machine (not the pods')`;
    case "before":
      return `ours before the upgrade (${baseline ?? "baseline"}: SDK 0.223 / 2.12, Collector 0.143), ${tracedLabel(sampleRatio)}`;
  }
}
const SHORT_LABEL: Record<OverheadKind, string> = {
  untraced: "SDK off",
  traced: "ours",
  sampled: `ours ${SAMPLED_RATIO * 100} %`,
  "otel-demo": "OTel Demo's way",
  "machine-heaps": "ours, machine heaps",
  before: "ours before",
};

export const GOAL_SAMPLED_RATIO = 0.95;

export function overheadSection(r: OverheadResult<OverheadKind>, s: OverheadSettings, sampleRatio = 1, baseline?: string): Section {
  const rows: string[][] = [];
  const goals: Goal[] = [];
  const kinds = OVERHEAD_KINDS.filter((k) => r.cells[OVERHEAD_ROUTES[0]][k] !== undefined);
  for (const route of OVERHEAD_ROUTES) {
    const u = r.cells[route].untraced;
    for (const kind of kinds) {
      const c = r.cells[route][kind];
      rows.push([route, overheadLabel(kind, sampleRatio, baseline), maxCell(c), String(c.halfRate), fmtSpread(c.halfAchieved, 0), fmtSpread(c.halfP50), p99Cell(c)]);
    }
    for (const kind of kinds.filter((k) => k !== "untraced")) {
      const c = r.cells[route][kind];
      rows.push([route, `${SHORT_LABEL[kind]} ÷ SDK off`, `${((c.maxRate.median / u.maxRate.median) * 100).toFixed(1)} %`, "", "", pct(c.halfP50.median / u.halfP50.median - 1), pct(c.halfP99.median / u.halfP99.median - 1)]);
    }
    const t = r.cells[route].traced;
    const ratio = t.maxRate.median / u.maxRate.median;
    const p99Increase = t.halfP99.median / u.halfP99.median - 1;
    goals.push({ benchmark: `1 max rate, ${route}`, goal: `traced ≥ ${GOAL_MAX_RATIO * 100} % of untraced`, measured: `${(ratio * 100).toFixed(1)} %`, met: ratio >= GOAL_MAX_RATIO });
    goals.push({
      benchmark: `1 p99 at half the traced maximum, ${route}`,
      goal: `traced ≤ untraced × ${1 + GOAL_P99_INCREASE}`,
      measured: `${pct(p99Increase)} (${fmt(t.halfP99.median)} vs ${fmt(u.halfP99.median)} ms)`,
      met: p99Increase <= GOAL_P99_INCREASE,
    });
    const cpu = r.cpuPerRequest[route];
    if (cpu["otel-demo"]) {
      const [ours, demo, off] = [cpuTotal(cpu.traced), cpuTotal(cpu["otel-demo"]), cpuTotal(cpu.untraced)];
      goals.push({
        benchmark: `1 CPU added per request, ${route}`,
        goal: "ours ≤ the OpenTelemetry Demo's way",
        measured: `ours +${fmt(ours - off, 2)} ms, the Demo's way +${fmt(demo - off, 2)} ms`,
        met: ours - off <= demo - off,
      });
    }
    const sampled = r.cells[route].sampled;
    if (sampled) {
      const sampledRatio = sampled.maxRate.median / u.maxRate.median;
      goals.push({
        benchmark: `1 max rate at ${SAMPLED_RATIO * 100} % sampling, ${route}`,
        goal: `≥ ${GOAL_SAMPLED_RATIO * 100} % of untraced`,
        measured: `${(sampledRatio * 100).toFixed(1)} %`,
        met: sampledRatio >= GOAL_SAMPLED_RATIO,
      });
    }
  }
  const lines = OVERHEAD_ROUTES.flatMap((route) => {
    const cpu = r.cpuPerRequest[route];
    const off = cpuTotal(cpu.untraced);
    const added = (kind: OverheadKind) => fmt(cpuTotal(cpu[kind]) - off, 2);
    const rate = (kind: OverheadKind) => r.cells[route][kind].maxRate.median;
    const out: string[] = [];
    if (cpu["otel-demo"]) {
      out.push(`${route}: the OpenTelemetry Demo's way adds ${added("otel-demo")} ms of CPU per request, ours ${added("traced")} ms; its maximum rate is ${pct(rate("otel-demo") / rate("traced") - 1)} of ours.`);
    }
    if (cpu.before) {
      out.push(`${route}, **the upgrade**: before it ours added ${added("before")} ms of CPU per request (maximum rate ${fmt(rate("before"), 0)} req/s), after it ${added("traced")} ms (${fmt(rate("traced"), 0)} req/s): ${pct(rate("traced") / rate("before") - 1)} in maximum rate.`);
    }
    if (cpu.sampled) {
      out.push(`${route}: sampling ${SAMPLED_RATIO * 100} % of the traces adds ${added("sampled")} ms of CPU per request (every trace: ${added("traced")} ms).`);
    }
    if (cpu["machine-heaps"]) {
      out.push(`${route}: V8 heaps sized from the pods' limits against Node's own sizing on this machine: ${fmt(cpuTotal(cpu.traced), 2)} against ${fmt(cpuTotal(cpu["machine-heaps"]), 2)} ms of CPU per request (${pct(cpuTotal(cpu.traced) / cpuTotal(cpu["machine-heaps"]) - 1)}), maximum rate ${pct(rate("traced") / rate("machine-heaps") - 1)}.`);
    }
    return out;
  });
  const body = [
    `- ${MAX_RATE_DEFINITION(s)}`,
    `- ${HALF_LOAD_DEFINITION(s)}`,
    `- ${s.reps} repetition(s), the configurations alternating within each; the meshes run side by side (each its own redis-server), every process with V8 heaps sized from its pod's memory limit (@tracemesh/mesh heaps.ts: 256 MiB of old space, semi-spaces of 1/16 of the limit, 16 MiB for 256 MiB) except where the configuration says otherwise. Ours preloads \`@tracemesh/telemetry/register\` (five instrumentations with their options, X-Ray ids, our span processors); the OpenTelemetry Demo's way preloads \`@opentelemetry/auto-instrumentations-node/register\` (the metapackage's default set, the SDK's defaults, OTEL_SERVICE_NAME per service). All export OTLP/HTTP protobuf to the real Collector (otelcol-tracemesh, config.yaml + local.yaml: memory_limiter, batch, Honeycomb and X-Ray exporters to a local sink, the span_metrics and service_graph connectors; no file exporter). "Before the upgrade" is the project at ${baseline ?? "the baseline commit"} (tools/bench/baseline.sh) with its own SDK and its own Collector build and config (the same components, its file exporter left out).`,
    `- ${SPREAD_NOTE}`,
    "",
    table(["route", "configuration", "max rate (req/s)", "half-load rate", "achieved (req/s)", "p50 (ms)", "p99 (ms)"], rows),
    "",
    ...lines.map((line) => `- ${line}`),
    "",
    "CPU time per request during the max-rate runs (ms of user + system CPU per 2xx response, from /proc/<pid>/stat; where the tracing cost lands; each Collector is charged to the configurations it served):",
    "",
    cpuTable(r, kinds),
  ].join("\n");
  return { title: "1. Tracing overhead", body, goals };
}

function cpuTable(r: OverheadResult<OverheadKind>, kinds: ReadonlyArray<OverheadKind>): string {
  const rows: string[][] = [];
  for (const route of OVERHEAD_ROUTES) {
    const per = r.cpuPerRequest[route];
    const names = [...new Set(kinds.flatMap((k) => Object.keys(per[k])))];
    for (const n of names) rows.push([route, n, ...kinds.map((k) => (per[k][n] === undefined ? "–" : fmt(per[k][n]!.median, 2)))]);
    const off = cpuTotal(per.untraced);
    rows.push([route, "**all**", ...kinds.map((k) => fmt(cpuTotal(per[k]), 2))]);
    rows.push([route, "added to SDK off", ...kinds.map((k) => (k === "untraced" ? "" : `+${fmt(cpuTotal(per[k]) - off, 2)}`))]);
  }
  return table(["route", "process", ...kinds.map((k) => `${SHORT_LABEL[k]} (ms/req)`)], rows);
}

/** CPU ms per request summed over a configuration's processes (medians per process, as the **all** row of benchmark 1). */
function cpuTotal(perProcess: Record<string, { median: number }>): number {
  return Object.values(perProcess).reduce((sum, x) => sum + (Number.isFinite(x.median) ? x.median : 0), 0);
}

/** A max-rate cell, saying when runs were not counted (≥ 1 % errors). */
function maxCell(c: OverheadCell): string {
  return fmtSpread(c.maxRate, 0) + (c.maxErrorRuns ? ` (${c.maxErrorRuns} run(s) ≥ 1 % errors, counted 0)` : "");
}

/** A p99-at-the-common-rate cell, with the errors of those runs when there were any. */
function p99Cell(c: OverheadCell): string {
  return fmtSpread(c.halfP99) + (c.halfErrors ? ` (${c.halfErrors} errors)` : "");
}

/** The comparisons benchmark 6 exists for: [after, before, what the difference isolates]. */
const RUNTIME_COMPARISONS: Array<[string, string, string]> = [
  ["node24", "node24-no-acf", "AsyncContextFrame on its own (same binary, only the flag differs)"],
  ["node24-no-acf", "node20", "Node 24 vs Node 20, both with AsyncLocalStorage on async hooks"],
  ["node24", "node20", "Node 24 as it ships vs Node 20"],
];

export function runtimesSection(r: RuntimesResult, s: OverheadSettings, sampleRatio = 1): Section {
  const ids = r.runtimes.map((x) => x.id);
  const cell = (route: OverheadRoute, runtime: string, kind: "untraced" | "traced") => r.overhead.cells[route][runtimeConfigId(runtime, kind)]!;
  const cpu = (route: OverheadRoute, runtime: string, kind: "untraced" | "traced") =>
    cpuTotal(r.overhead.cpuPerRequest[route][runtimeConfigId(runtime, kind)]!);
  const rows: string[][] = [];
  for (const route of OVERHEAD_ROUTES) {
    for (const id of ids) {
      const u = cell(route, id, "untraced");
      const t = cell(route, id, "traced");
      rows.push([
        route,
        id,
        maxCell(u),
        maxCell(t),
        `${((t.maxRate.median / u.maxRate.median) * 100).toFixed(1)} %`,
        p99Cell(u),
        p99Cell(t),
        pct(t.halfP99.median / u.halfP99.median - 1),
        fmt(cpu(route, id, "untraced"), 2),
        fmt(cpu(route, id, "traced"), 2),
      ]);
    }
  }
  const comparisons: string[] = [];
  for (const [after, before, what] of RUNTIME_COMPARISONS) {
    if (!ids.includes(after) || !ids.includes(before)) continue;
    const parts = OVERHEAD_ROUTES.map((route) => {
      const a = cell(route, after, "traced");
      const b = cell(route, before, "traced");
      return (
        `${route}: traced max rate ${pct(a.maxRate.median / b.maxRate.median - 1)}, ` +
        `traced CPU per request ${pct(cpu(route, after, "traced") / cpu(route, before, "traced") - 1)}, ` +
        `traced p99 ${pct(a.halfP99.median / b.halfP99.median - 1)}`
      );
    });
    comparisons.push(`- **${what}** (${after} vs ${before}): ${parts.join("; ")}.`);
  }
  const commonRates = OVERHEAD_ROUTES.map((route) => `${route} ${cell(route, ids[0]!, "traced").halfRate} req/s`).join(", ");
  const body = [
    `- The mesh of benchmark 1 on each Node runtime below, an untraced and a traced (${tracedLabel(sampleRatio)}) one per runtime, all up side by side and exporting to one Collector; ${s.reps} repetition(s), each alternating over all ${ids.length * 2} meshes. The load generators run on the benchmark's own Node (${process.version}), the same for every mesh.`,
    `- ${MAX_RATE_DEFINITION(s)}`,
    `- p99 at a common rate: ${HALF_LOAD_DEFINITION(s, "50 % of the lowest traced maximum (median) among the runtimes, the same rate for every mesh")} Here: ${commonRates}.`,
    "- CPU per request: ms of user + system CPU per 2xx response during the max-rate runs, summed over the mesh's processes (and the Collector, for the traced mesh).",
    `- ${SPREAD_NOTE}`,
    "",
    table(
      ["runtime", "Node", "flags", "AsyncLocalStorage", "binary"],
      r.runtimes.map((x) => [x.id, x.version, x.execArgv.join(" ") || "–", x.asyncContext, x.execPath]),
    ),
    "",
    table(
      ["route", "runtime", "untraced max (req/s)", "traced max (req/s)", "traced ÷ untraced", "untraced p99 (ms)", "traced p99 (ms)", "p99 change", "untraced CPU (ms/req)", "traced CPU (ms/req)"],
      rows,
    ),
    ...(comparisons.length ? ["", ...comparisons] : []),
  ].join("\n");
  return { title: "6. Node runtimes: AsyncContextFrame on its own", body, goals: [] };
}

export function efficiencySection(r: EfficiencyResult, s: EfficiencySettings, reps: number): Section {
  const rows = GENERATORS.map((g) => [g, fmtSpread(r[g].rate, 0), fmtSpread(r[g].coresUsed), fmtSpread(r[g].perCore, 0)]);
  const ratio = r.loadgen.perCore.median / r.autocannon.perCore.median;
  const vsAutocannon = (g: (typeof GENERATORS)[number]) => `${((r[g].perCore.median / r.autocannon.perCore.median) * 100).toFixed(1)} %`;
  const reached = (g: "loadgen" | "vegeta") => `${((r[g].rate.median / r.autocannon.rate.median) * 100).toFixed(0)} %`;

  const st = r.stall.settings;
  const threshold = st.forMs * STALL_SHOWN_SHARE;
  const stallRows = STALL_GENERATORS.map((g) => {
    const x = r.stall.rows[g];
    return [g, fmtSpread(x.rate, 0), fmtSpread(x.p50), fmtSpread(x.p90), fmtSpread(x.p99), fmtSpread(x.max), String(x.errors), x.held.join(", ")];
  });
  const verdicts = STALL_GENERATORS.map((g) => {
    const p99 = r.stall.rows[g].p99.median;
    return { g, p99, shows: p99 >= threshold };
  });
  const missing = verdicts.filter((v) => !v.shows);
  const stallText =
    verdicts.map((v) => `${v.g} ${v.shows ? "shows" : "does **not** show"} the stall (p99 ${fmt(v.p99, 0)} ms ${v.shows ? "≥" : "<"} ${fmt(threshold, 0)} ms)`).join("; ") +
    (missing.length
      ? `. ${missing.map((v) => v.g).join(" and ")} ${missing.length > 1 ? "hide" : "hides"} a ${st.forMs} ms stall: ${missing.length > 1 ? "their" : "its"} latencies are not measured from the intended send time (or the requests due during the stall were not sent).`
      : `: both count the whole wait of the requests due during the stall, as timing each request from its intended send time does.`);

  const body = [
    `- ${EFFICIENCY_DEFINITION(s)}`,
    `- ${reps} repetition(s). ${SPREAD_NOTE}`,
    "",
    table(["generator", "rate (req/s)", "CPU cores used", "req/s per core"], rows),
    "",
    `Per core, ÷ autocannon: loadgen ${vsAutocannon("loadgen")}, wrk ${vsAutocannon("wrk")}, vegeta ${vsAutocannon("vegeta")}; loadgen ÷ vegeta ${((r.loadgen.perCore.median / r.vegeta.perCore.median) * 100).toFixed(1)} %. ` +
      `Of the rate asked for (autocannon's), loadgen sent ${reached("loadgen")} and vegeta ${reached("vegeta")}.`,
    "",
    `- ${STALL_DEFINITION(st, s.connections)} "Shows the stall": p99 ≥ ${STALL_SHOWN_SHARE * 100} % of the stall (${fmt(threshold, 0)} ms). "held": requests that reached the server during the stall, per repetition — a generator that keeps to its ${s.connections} connections gets at most that many there, the others wait in its own queue (still timed from their due time, if it measures so).`,
    "",
    table(["generator (stalled server)", "rate (req/s)", "p50 (ms)", "p90 (ms)", "p99 (ms)", "max (ms)", "errors", "held"], stallRows),
    "",
    stallText,
  ].join("\n");
  return {
    title: "2. Load generator efficiency",
    body,
    goals: [
      { benchmark: "2 loadgen efficiency", goal: `≥ ${GOAL_LOADGEN_VS_AUTOCANNON * 100} % of autocannon per core`, measured: `${(ratio * 100).toFixed(1)} %`, met: ratio >= GOAL_LOADGEN_VS_AUTOCANNON },
      {
        benchmark: `2 stalled server (${st.forMs} ms stall at ${st.rate} req/s)`,
        goal: `loadgen and vegeta show it (p99 ≥ ${fmt(threshold, 0)} ms)`,
        measured: verdicts.map((v) => `${v.g} p99 ${fmt(v.p99, 0)} ms`).join(", "),
        met: missing.length === 0,
      },
    ],
  };
}

export function hopsSection(r: HopsResult, reps: number, rawCount: number, feedCount: number): Section {
  const hopRows = [
    ["HTTP/1.1 keep-alive GET (node:http → node:http)", fmtSpread(r.http.p50, 3), fmtSpread(r.http.p99, 3)],
    ["grpc-js unary round trip (64 B, separate processes)", fmtSpread(r.grpc.p50, 3), fmtSpread(r.grpc.p99, 3)],
    ["ioredis GET (64 B, redis-server 7)", fmtSpread(r.redis.p50, 3), fmtSpread(r.redis.p99, 3)],
    ["home feed, untraced mesh (client-measured)", fmtSpread(r.feedUntraced.p50), fmtSpread(r.feedUntraced.p99)],
    ["home feed, traced mesh (client-measured)", fmtSpread(r.feedTraced.p50), fmtSpread(r.feedTraced.p99)],
  ];
  const spanRows = r.spans.map((x) => [x.span, x.kind, fmt(x.perTrace, 0), fmt(x.p50Ms, 3)]);
  const measured = r.feedTraced.p50.median;
  const gap = measured - r.floorMs;
  const body = [
    `- Raw hops: ${rawCount} sequential round trips per repetition on loopback; home feed: ${feedCount} sequential requests per repetition (GET /api/activities/home?limit=20, one at a time, idle machine otherwise). ${reps} repetition(s). ${SPREAD_NOTE}`,
    `- Spans: the traced requests carry a traceparent of ours, so their spans are picked out of the Collector's file exporter output; ${r.traces} complete traces. Per trace and span name: how many, and the wall time they cover together (the Redis commands of one pipeline overlap, so their durations are not added); median over traces.`,
    "",
    table(["hop", "p50 (ms)", "p99 (ms)"], hopRows),
    "",
    table(["span (service: name)", "kind", "per request", "p50 wall time covered (ms)"], spanRows),
    "",
    table(
      ["", "ms"],
      [
        ["home feed p50, client-measured (traced)", fmt(measured, 3)],
        ["api server span p50", fmt(r.apiSpanP50Ms, 3)],
        [`unavoidable hops: 1 HTTP + ${r.grpcRounds} sequential gRPC + ${r.redisRounds} sequential Redis round trips (raw p50s)`, fmt(r.floorMs, 3)],
        ["gap: measured − unavoidable (serialisation, handlers, instrumentation, event loop)", `${fmt(gap, 3)} (${((gap / measured) * 100).toFixed(0)} % of the latency)`],
      ],
    ),
  ].join("\n");
  return { title: "3. Per-hop cost", body, goals: [] };
}

export function footprintSection(f: FootprintResult, demo?: DemoFootprint, overhead?: OverheadResult<OverheadKind>): Section {
  const loaded = (["untraced", "traced", "machine-heaps"] as const).filter((k) => f.underLoad[k]);
  const names = [...new Set([...Object.keys(f.idle.untraced ?? {}), ...Object.keys(f.idle.traced ?? {}), ...loaded.flatMap((k) => Object.keys(f.underLoad[k] ?? {}))])];
  const cellOf = (m: Record<string, number> | undefined, name: string) => {
    const v = m?.[name];
    return v === undefined || Number.isNaN(v) ? "–" : mib(v);
  };
  const total = (m: Record<string, number> | undefined) => Object.values(m ?? {}).filter((v) => !Number.isNaN(v)).reduce((a, b) => a + b, 0);
  const columns: Array<[string, Record<string, number> | undefined]> = [
    ["untraced idle", f.idle.untraced],
    ["untraced under load", f.underLoad.untraced],
    ["traced idle", f.idle.traced],
    ["traced under load", f.underLoad.traced],
    ...(f.underLoad["machine-heaps"] ? [["traced under load, V8 heaps sized from this machine", f.underLoad["machine-heaps"]] as [string, Record<string, number>]] : []),
  ];
  const rows = names.map((n) => [n, ...columns.map(([, m]) => cellOf(m, n))]);
  rows.push(["**total**", ...columns.map(([, m]) => mib(total(m)))]);
  const pssOf: Record<string, number | undefined> = {
    "untraced under load": f.underLoadPss.untraced,
    "traced under load": f.underLoadPss.traced,
    "traced under load, V8 heaps sized from this machine": f.underLoadPss["machine-heaps"],
  };
  rows.push(["total PSS (shared pages split)", ...columns.map(([label]) => (pssOf[label] ? mib(pssOf[label]!) : "–"))]);
  const worst = Math.max(total(f.underLoad.traced), total(f.underLoad.untraced));
  const goals: Goal[] = [{ benchmark: "4 footprint under benchmark 1's load", goal: "traced mesh + Collector ≤ 1 GiB", measured: `${mib(worst)} MiB at peak`, met: worst <= GOAL_TOTAL_BYTES }];
  const body = [
    "- VmRSS from /proc/<pid>/status in MiB, summed as the goal defines it: a page shared by several processes (the Node binary's, ~50 MiB in each Node process) is counted once per process. The PSS row sums /proc/<pid>/smaps_rollup's Pss instead (shared pages split among their sharers): the memory the processes use together. Idle: once the meshes are up, seeded and warm, before any load. Under load: the peak of samples every 250 ms during all of benchmark 1's maximum-rate runs on that mesh (the Collector serves the traced ones). Every process runs with V8 heaps sized from its pod's memory limit (@tracemesh/mesh heaps.ts) except in the last column, where Node sizes them from this machine's memory (as before 2026-12-06); benchmark 1 gives the CPU each costs.",
    "",
    table(["process", ...columns.map(([label]) => label)], rows),
  ];
  if (overhead?.cpuPerRequest[OVERHEAD_ROUTES[0]]["machine-heaps"]) {
    body.push("", ...OVERHEAD_ROUTES.map((route) => {
      const cpu = overhead.cpuPerRequest[route];
      return `- ${route}: CPU per request with the pods' heaps ${fmt(cpuTotal(cpu.traced), 2)} ms, with this machine's ${fmt(cpuTotal(cpu["machine-heaps"]!), 2)} ms (${pct(cpuTotal(cpu.traced) / cpuTotal(cpu["machine-heaps"]!) - 1)}).`;
    }));
  }
  if (demo) {
    body.push(
      "",
      `- The demo (\`tracemesh demo --rate ${demo.rate} --duration ${demo.duration}\`, what \`npm run demo\` runs): the largest sum of the resident memory of everything it started, sampled every 250 ms over the whole run: **${mib(demo.peakBytes)} MiB** over ${demo.atPeak.length} processes (the demo's own process, not counted: ${mib(demo.cliBytes)} MiB); their PSS summed peaked at ${mib(demo.peakPssBytes)} MiB. At the RSS peak:`,
      "",
      table(["process", "MiB"], demo.atPeak.map((p) => [p.name, mib(p.bytes)])),
    );
    goals.push({ benchmark: `4 footprint of the demo at ${demo.rate} req/s`, goal: "everything it started ≤ 1 GiB", measured: `${mib(demo.peakBytes)} MiB at peak`, met: demo.peakBytes <= GOAL_TOTAL_BYTES });
  }
  return { title: "4. Footprint", body: body.join("\n"), goals };
}

export function spanBudgetSection(r: SpanBudgetResult, s: SpanBudgetSettings): Section {
  const body = [
    `- One HTTP server span's life in µs of this process's CPU (process.cpuUsage(): user + system, garbage collection included), part by part, in batches of 500 spans (8 attributes at start as instrumentation-http sets them, 2 more and a rename at the end, made active around a handler, the incoming W3C headers extracted and the outgoing call's injected, ended, then exported as OTLP/HTTP protobuf to a sink in another process). ${s.batches} batches per round, ${s.rounds} rounds after a warm-up round, medians; ${s.reps} repetition(s), the set-ups alternating, each in a process of its own; cells: the median over the repetitions.`,
    "- SDK floor: a bare TracerProvider (random ids, always-on sampler), W3C trace context only, the batch processor and the OTLP/HTTP protobuf exporter. Ours: `startTelemetry()` of @tracemesh/telemetry as the services run it (X-Ray ids, W3C trace context + baggage + X-Ray propagators, our three span processors, the batch processor behind our export-health wrapper). The OpenTelemetry Demo's way: `@opentelemetry/auto-instrumentations-node/register` (random ids, W3C trace context + baggage).",
    "- Unsampled: the incoming parent says not sampled (what a request left out by 10 % sampling pays per span: the span is a non-recording one).",
    "",
    spanBudgetTable(r),
  ].join("\n");
  return { title: "7. The span cost budget", body, goals: [] };
}

export function collectorCostSection(r: CollectorCostResult, s: CollectorCostSettings): Section {
  const body = [
    `- The real Collector (otelcol-tracemesh, config.yaml + local.yaml + file.yaml, exporting to the Honeycomb/X-Ray sink) under the same open-loop load each run: ${s.rate} post-shaped traces per second (18 spans each, across api, users, activities and notifications, sent as four SDKs send them: OTLP/HTTP protobuf through batch processors), ${s.durationS} s after ${s.warmupS} s of warm-up; µs of the Collector's CPU (/proc/<pid>/stat) per span sent, ${r.spansSent} spans per run. Each component is switched off in turn by an overlay that leaves it out of the pipelines; its cost is everything on minus that run. ${s.reps} repetition(s), the configurations alternating; cells: medians.`,
    "",
    collectorCostTable(r),
  ].join("\n");
  return { title: "8. The Collector's CPU per span, per component", body, goals: [] };
}

export function notifySection(r: Record<MeshKind, NotifyResult>, s: NotifySettings, sampleRatio = 1): Section {
  const u = r.untraced;
  const t = r.traced;
  const rows = [
    ["event → notification p50 (ms)", fmtSpread(u.p50), fmtSpread(t.p50)],
    ["event → notification p99 (ms)", fmtSpread(u.p99), fmtSpread(t.p99)],
    ["event → notification max (ms)", fmtSpread(u.max), fmtSpread(t.max)],
    ["samples (not seen within 3 s, counted as 3000 ms)", `${u.samples} (${u.timeouts})`, `${t.samples} (${t.timeouts})`],
    ["read round trip p50 = resolution (ms)", fmt(u.pollRttP50Ms, 3), fmt(t.pollRttP50Ms, 3)],
    ["read round trip p99 (ms)", fmt(u.pollRttP99Ms, 3), fmt(t.pollRttP99Ms, 3)],
    ["lower bound p99: 201 → the last read that missed it was sent (ms)", fmtSpread(u.lowerBoundP99), fmtSpread(t.lowerBoundP99)],
    ["reads per sample p50", fmt(u.pollsPerSampleP50, 0), fmt(t.pollsPerSampleP50, 0)],
    ["background rate achieved (req/s)", fmtSpread(u.backgroundAchieved, 0), fmtSpread(t.backgroundAchieved, 0)],
    ["background errors", String(u.backgroundErrors), String(t.backgroundErrors)],
  ];
  const body = [
    `- Background: loadgen's default mix (browse home, profiles, posts with mentions, replies, likes, notifications) at ${s.rate} req/s open loop, ${s.durationS} s per repetition, ${s.reps} repetition(s), on the untraced mesh and then on the traced one; before the first repetition on each mesh, ${s.warmupS} s of the same load, not measured (a mesh nobody has driven yet runs cold code).`,
    `- Probe: ${s.probeRate} samples/s on top, each POSTs an activity mentioning a user of its own, then reads GET /api/notifications as that user back to back (no sleep) until the notification is there (gives up after 3 s; such a sample counts as 3000 ms). Latency = first read that shows it − the POST's 201. It is an upper bound off by at most one read's round trip (the resolution row); there is no polling interval to dominate it. The lower bound row stops when the last read that did not show it yet was sent (0 when the first read showed it): the notification was stored between the two bounds. The goal is judged on the upper one, the latency a reader sees. The notification's created_at cannot be used: it is the activity's time, copied from the event.`,
    `- ${SPREAD_NOTE}`,
    "",
    table(["", "SDK off", tracedLabel(sampleRatio)], rows),
  ].join("\n");
  return {
    title: "5. Event → notification latency",
    body,
    goals: [
      { benchmark: `5 event → notification at ${s.rate} req/s, SDK off`, goal: `p99 ≤ ${GOAL_NOTIFY_P99_MS} ms`, measured: `${fmt(u.p99.median)} ms`, met: u.p99.median <= GOAL_NOTIFY_P99_MS },
      {
        benchmark: `5 event → notification at ${s.rate} req/s, traced`,
        goal: `p99 ≤ ${GOAL_NOTIFY_P99_MS} ms in every repetition`,
        measured: `${fmt(t.p99.median)} ms (repetitions ${t.p99.runs.map((x) => fmt(x)).join(", ")})`,
        met: t.p99.max <= GOAL_NOTIFY_P99_MS,
      },
    ],
  };
}

export function goalsTable(goals: Goal[]): string {
  return table(["benchmark", "goal", "measured (median)", "met"], goals.map((g) => [g.benchmark, g.goal, g.measured, g.met ? "yes" : "**no**"]));
}

export function machineMarkdown(m: Machine): string {
  const busy = m.loadAtStart >= 2 || (m.loadAtEnd ?? 0) >= 4;
  return `Machine: ${machineLine(m)}.` + (busy ? " **The machine was busy with other work during this run (load average ≥ 2 at start): expect lower rates and wider spreads than on a quiet machine.**" : "");
}

export function document(opts: { date: string; machine: Machine; quick: boolean; sections: Section[]; notes: string; durationS: number }): string {
  const goals = opts.sections.flatMap((s) => s.goals);
  return [
    "# Benchmarks",
    "",
    `Measured ${opts.date} with \`npm run bench\` (\`bash tools/bench/run.sh\`${opts.quick ? " --quick" : ""}; ${Math.round(opts.durationS)} s in all). ${machineMarkdown(opts.machine)}`,
    "",
    "Everything runs on this one machine: the mesh (users, activities, notifications, api — real processes, real redis-server), the Collector, and the load generators share its cores, so rates are what this machine sustains with the generator on board, not a cluster's capacity.",
    "",
    "## Goals",
    "",
    goalsTable(goals),
    "",
    ...opts.sections.flatMap((s) => [`## ${s.title}`, "", s.body, ""]),
    opts.notes ? `## Notes\n\n${opts.notes}\n` : "",
  ].join("\n");
}
