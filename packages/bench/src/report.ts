// Turns results into the tables printed on the terminal and written to docs/benchmarks.md.
import { machineLine, type Machine } from "./machine.js";
import { fmt, fmtSpread, table } from "./stats.js";
import type { MeshKind, OverheadKind } from "./env.js";
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
const OVERHEAD_KINDS: ReadonlyArray<OverheadKind> = ["untraced", "traced", "otel-demo"];
function overheadLabel(kind: OverheadKind, sampleRatio: number): string {
  if (kind === "untraced") return "SDK off";
  return kind === "traced" ? `ours, ${tracedLabel(sampleRatio)}` : `OpenTelemetry Demo's way, ${tracedLabel(sampleRatio)}`;
}

export function overheadSection(r: OverheadResult<OverheadKind>, s: OverheadSettings, sampleRatio = 1): Section {
  const rows: string[][] = [];
  const goals: Goal[] = [];
  for (const route of OVERHEAD_ROUTES) {
    const u = r.cells[route].untraced;
    for (const kind of OVERHEAD_KINDS) {
      const c = r.cells[route][kind];
      rows.push([route, overheadLabel(kind, sampleRatio), maxCell(c), String(c.halfRate), fmtSpread(c.halfAchieved, 0), fmtSpread(c.halfP50), p99Cell(c)]);
    }
    for (const kind of ["traced", "otel-demo"] as const) {
      const c = r.cells[route][kind];
      rows.push([route, `${kind === "traced" ? "ours" : "OpenTelemetry Demo's way"} ÷ SDK off`, `${((c.maxRate.median / u.maxRate.median) * 100).toFixed(1)} %`, "", "", pct(c.halfP50.median / u.halfP50.median - 1), pct(c.halfP99.median / u.halfP99.median - 1)]);
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
  }
  const saved = OVERHEAD_ROUTES.map((route) => {
    const cpu = r.cpuPerRequest[route];
    const [ours, demo, off] = [cpuTotal(cpu.traced), cpuTotal(cpu["otel-demo"]), cpuTotal(cpu.untraced)];
    return `${route}: the OpenTelemetry Demo's way adds ${fmt(demo - off, 2)} ms of CPU per request, ours ${fmt(ours - off, 2)} ms; ` +
      `its maximum rate is ${pct(r.cells[route]["otel-demo"].maxRate.median / r.cells[route].traced.maxRate.median - 1)} of ours.`;
  });
  const body = [
    `- ${MAX_RATE_DEFINITION(s)}`,
    `- ${HALF_LOAD_DEFINITION(s)}`,
    `- ${s.reps} repetition(s), the configurations alternating within each; the three meshes run side by side (each its own redis-server). Ours preloads \`@tracemesh/telemetry/register\` (five instrumentations with their options, X-Ray ids, our span processors); the OpenTelemetry Demo's way preloads \`@opentelemetry/auto-instrumentations-node/register\` (the metapackage's default set, the SDK's defaults, OTEL_SERVICE_NAME per service). Both export OTLP/HTTP protobuf to the real Collector (otelcol-tracemesh, config.yaml + local.yaml: batch, file exporter, Honeycomb and X-Ray exporters to a local sink).`,
    `- ${SPREAD_NOTE}`,
    "",
    table(["route", "configuration", "max rate (req/s)", "half-load rate", "achieved (req/s)", "p50 (ms)", "p99 (ms)"], rows),
    "",
    ...saved.map((line) => `- ${line}`),
    "",
    "CPU time per request during the max-rate runs (ms of user + system CPU per 2xx response, from /proc/<pid>/stat; where the tracing cost lands; the Collector is charged to the configuration it served):",
    "",
    cpuTable(r),
  ].join("\n");
  return { title: "1. Tracing overhead", body, goals };
}

function cpuTable(r: OverheadResult<OverheadKind>): string {
  const rows: string[][] = [];
  for (const route of OVERHEAD_ROUTES) {
    const per = r.cpuPerRequest[route];
    const names = [...new Set(OVERHEAD_KINDS.flatMap((k) => Object.keys(per[k])))];
    const cellOf = (kind: OverheadKind, name: string) => per[kind][name]?.median;
    const change = (a: number | undefined, b: number | undefined) => (a && b ? pct(b / a - 1) : "");
    for (const n of names) {
      const [a, b, c] = OVERHEAD_KINDS.map((k) => cellOf(k, n));
      rows.push([route, n, ...[a, b, c].map((x) => (x === undefined ? "–" : fmt(x, 2))), change(a, b), change(a, c)]);
    }
    const [su, st, sd] = OVERHEAD_KINDS.map((k) => cpuTotal(per[k]));
    rows.push([route, "**all**", fmt(su, 2), fmt(st, 2), fmt(sd, 2), pct(st / su - 1), pct(sd / su - 1)]);
  }
  return table(["route", "process", "SDK off (ms/req)", "ours (ms/req)", "OTel Demo's way (ms/req)", "ours vs off", "OTel Demo's vs off"], rows);
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

export function footprintSection(f: FootprintResult): Section {
  const names = [...new Set([...Object.keys(f.idle.untraced ?? {}), ...Object.keys(f.idle.traced ?? {})])];
  const cell = (kind: MeshKind, which: "idle" | "underLoad", name: string) => {
    const v = f[which][kind]?.[name];
    return v === undefined || Number.isNaN(v) ? "–" : mib(v);
  };
  const total = (kind: MeshKind, which: "idle" | "underLoad") => Object.values(f[which][kind] ?? {}).filter((v) => !Number.isNaN(v)).reduce((a, b) => a + b, 0);
  const rows = names.map((n) => [n, cell("untraced", "idle", n), cell("untraced", "underLoad", n), cell("traced", "idle", n), cell("traced", "underLoad", n)]);
  rows.push(["**total**", mib(total("untraced", "idle")), mib(total("untraced", "underLoad")), mib(total("traced", "idle")), mib(total("traced", "underLoad"))]);
  const worst = Math.max(total("traced", "underLoad"), total("untraced", "underLoad"));
  const body = [
    "- VmRSS from /proc/<pid>/status in MiB. Idle: once the meshes are up, seeded and warm, before any load. Under load: the peak of samples every 250 ms during all of benchmark 1's maximum-rate runs on that mesh (the Collector serves the traced ones; the OpenTelemetry Demo's mesh is not shown).",
    "",
    table(["process", "untraced idle", "untraced under load", "traced idle", "traced under load"], rows),
  ].join("\n");
  return {
    title: "4. Footprint",
    body,
    goals: [{ benchmark: "4 footprint", goal: "all together ≤ 1 GiB", measured: `${mib(worst)} MiB at peak (traced mesh + Collector)`, met: worst <= GOAL_TOTAL_BYTES }],
  };
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
    ["reads per sample p50", fmt(u.pollsPerSampleP50, 0), fmt(t.pollsPerSampleP50, 0)],
    ["background rate achieved (req/s)", fmtSpread(u.backgroundAchieved, 0), fmtSpread(t.backgroundAchieved, 0)],
    ["background errors", String(u.backgroundErrors), String(t.backgroundErrors)],
  ];
  const body = [
    `- Background: loadgen's default mix (browse home, profiles, posts with mentions, replies, likes, notifications) at ${s.rate} req/s open loop, ${s.durationS} s per repetition, ${s.reps} repetition(s), on the untraced mesh and then on the traced one.`,
    `- Probe: ${s.probeRate} samples/s on top, each POSTs an activity mentioning a user of its own, then reads GET /api/notifications as that user back to back (no sleep) until the notification is there (gives up after 3 s; such a sample counts as 3000 ms). Latency = first read that shows it − the POST's 201. It is an upper bound off by at most one read's round trip (the resolution row); there is no polling interval to dominate it. The notification's created_at cannot be used: it is the activity's time, copied from the event.`,
    `- ${SPREAD_NOTE}`,
    "",
    table(["", "SDK off", tracedLabel(sampleRatio)], rows),
  ].join("\n");
  return {
    title: "5. Event → notification latency",
    body,
    goals: [
      { benchmark: `5 event → notification at ${s.rate} req/s, SDK off`, goal: `p99 ≤ ${GOAL_NOTIFY_P99_MS} ms`, measured: `${fmt(u.p99.median)} ms`, met: u.p99.median <= GOAL_NOTIFY_P99_MS },
      { benchmark: `5 event → notification at ${s.rate} req/s, traced`, goal: `p99 ≤ ${GOAL_NOTIFY_P99_MS} ms`, measured: `${fmt(t.p99.median)} ms`, met: t.p99.median <= GOAL_NOTIFY_P99_MS },
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
    `Measured ${opts.date} with \`npm run bench\` (\`bash bench/run.sh\`${opts.quick ? " --quick" : ""}; ${Math.round(opts.durationS)} s in all). ${machineMarkdown(opts.machine)}`,
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
