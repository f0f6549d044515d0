// `npm run bench` (bash tools/bench/run.sh → this file): runs the eight benchmarks, prints each table with
// the machine's description, and writes docs/benchmarks.md.
//   --quick          a smoke run in seconds (1 repetition, 1 s runs); writes the doc only with --out
//   --only 1,3       run only these benchmarks
//   --baseline REF   benchmark 1's "before" configuration: the project at REF (default BASELINE_REF, the last
//                    commit before the OpenTelemetry 0.301 / Collector 0.152 upgrade), prepared by
//                    tools/bench/baseline.sh; "none" leaves it out (a quick run leaves it out unless named)
//   --runtimes LIST  benchmark 6's Node runtimes, e.g. node20,node24-no-acf,node24 (the default: those of
//                    them found on this machine; named here, each must be found)
//   --reps N         repetitions (default 3; quick 1)
//   --out FILE       where to write the Markdown (default docs/benchmarks.md; "-" = nowhere)
//   --sample-ratio R the traced mesh samples R of the traces at the root (parentbased_traceidratio);
//                    default 1 (every trace). With R < 1 give --out: docs/benchmarks.md is for R = 1.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "@tracemesh/devkit";
import { describeMachine, loadAverage, machineLine } from "./machine.js";
import { EXTRA_KINDS, meshPids, startBenchEnv, startTraceBackend, startTracedMesh, seed, Stops, type BenchEnv, type ExtraKind, type OverheadKind } from "./env.js";
import { rssNow, runDemoFootprint, type DemoFootprint, type FootprintResult } from "./footprint.js";
import { runSpanBudget, type SpanBudgetSettings } from "./span-budget.js";
import { COMPONENT_VARIANTS, runCollectorCost, TUNING_VARIANTS, type CollectorCostSettings } from "./collector-cost.js";
import { pairConfigs, runOverhead, type OverheadConfig, type OverheadResult, type OverheadSettings } from "./overhead.js";
import { DEFAULT_RUNTIMES, parseRuntimeSpec, resolveRuntimes, runRuntimes, type NodeRuntime } from "./runtimes.js";
import { runEfficiency, type EfficiencySettings } from "./efficiency.js";
import { runHops, type HopsSettings } from "./hops.js";
import { runNotify, type NotifySettings } from "./notify.js";
import {
  document,
  efficiencySection,
  collectorCostSection,
  footprintSection,
  goalsTable,
  spanBudgetSection,
  hopsSection,
  notifySection,
  overheadSection,
  runtimesSection,
  type Section,
} from "./report.js";

/** The last commit before the OpenTelemetry JS 0.301 / Collector 0.152 upgrade (main, 2026-12-06). */
export const BASELINE_REF = "9e9a963";

export interface BenchOptions {
  quick: boolean;
  /** Benchmark 1's "before" configuration: a git ref, or undefined for none. */
  baseline?: string;
  only: Set<number>;
  reps: number;
  /** Head-sampling ratio of the traced mesh (1 = every trace). */
  sampleRatio: number;
  /** Benchmark 6's runtimes as named on the command line; undefined = DEFAULT_RUNTIMES, those found. */
  runtimes?: string[];
  /** Markdown output path, or undefined for none. */
  out?: string;
  log?: (line: string) => void;
  print?: (text: string) => void;
}

export interface BenchRun {
  sections: Section[];
  markdown: string;
}

export function settings(quick: boolean, reps: number) {
  const overhead: OverheadSettings = quick
    ? { reps, maxDurationS: 1, halfDurationS: 1, connections: 16, warmupS: 0 }
    : { reps, maxDurationS: 5, halfDurationS: 5, connections: 32, warmupS: 2 };
  const efficiency: EfficiencySettings = { reps, durationS: quick ? 1 : 5, connections: 50 };
  const hops: HopsSettings = quick ? { reps, rawCount: 200, feedCount: 10 } : { reps, rawCount: 2000, feedCount: 100 };
  const notify: NotifySettings = quick ? { reps, rate: 200, durationS: 3, probeRate: 10, warmupS: 1 } : { reps, rate: 200, durationS: 8, probeRate: 20, warmupS: 5 };
  const budget: SpanBudgetSettings = quick ? { reps, batches: 2, rounds: 1 } : { reps, batches: 8, rounds: 5 };
  const collector: CollectorCostSettings = quick ? { reps, rate: 50, durationS: 1, warmupS: 0.3 } : { reps, rate: 100, durationS: 4, warmupS: 1 };
  const demoFootprint = quick ? { rate: 50, duration: "3s" } : { rate: 150, duration: "20s" };
  return { overhead, efficiency, hops, notify, budget, collector, demoFootprint };
}

export async function runBench(opts: BenchOptions): Promise<BenchRun> {
  const started = Date.now();
  const log = opts.log ?? ((line: string) => process.stderr.write(`\x1b[1;34m[bench]\x1b[0m ${line}\n`));
  const print = opts.print ?? ((text: string) => process.stdout.write(text + "\n"));
  const machine = describeMachine();
  const s = settings(opts.quick, opts.reps);
  const sections: Section[] = [];
  const emit = (section: Section) => {
    sections.push(section);
    print(`\n## ${section.title}\n${machineLine({ ...machine, loadAtStart: loadAverage() })}\n\n${section.body}\n`);
  };
  log(`machine: ${machineLine(machine)}`);
  if (machine.loadAtStart >= 2) log(`load average ${machine.loadAtStart} ≥ 2: the machine is busy, figures will be noisy`);

  // Benchmark 6's runtimes are found before anything runs: one named but missing fails the run at once.
  const runtimes = opts.only.has(6) ? benchmark6Runtimes(opts.runtimes, log) : [];

  // 2, 7 and 8 first: they need no mesh, so nothing else is even idle on the machine.
  if (opts.only.has(2)) {
    log("benchmark 2: load generator efficiency");
    emit(efficiencySection(await runEfficiency(s.efficiency, log), s.efficiency, opts.reps));
  }
  if (opts.only.has(7)) {
    log("benchmark 7: the span cost budget");
    emit(spanBudgetSection(await runSpanBudget(s.budget, log), s.budget));
  }
  if (opts.only.has(8)) {
    log("benchmark 8: the Collector's CPU per span, per component");
    // A quick run switches the components off; the settings are the full run's.
    const variants = opts.quick ? COMPONENT_VARIANTS : [...COMPONENT_VARIANTS, ...TUNING_VARIANTS];
    emit(collectorCostSection(await runCollectorCost(variants, s.collector, log), s.collector));
  }

  if ([1, 3, 4, 5].some((n) => opts.only.has(n))) {
    const benchmarkOne = opts.only.has(1) || opts.only.has(4);
    const extras: ExtraKind[] = benchmarkOne ? EXTRA_KINDS.filter((k) => k !== "before" || opts.baseline !== undefined) : [];
    const baselineDir = extras.includes("before") ? prepareBaseline(opts.baseline!, log) : undefined;
    const env: BenchEnv = await startBenchEnv({ seed: !opts.quick, sampleRatio: opts.sampleRatio, extras, baselineDir, log });
    let footprintOf: { footprint: FootprintResult; overhead: OverheadResult<OverheadKind> } | undefined;
    try {
      // Idle: settle a moment after start-up and seeding.
      await new Promise((r) => setTimeout(r, opts.quick ? 200 : 2000));
      const footprint: FootprintResult = {
        idle: { untraced: rssNow(meshPids(env.untraced)), traced: rssNow(meshPids(env.traced, env.collector)) },
        underLoad: {},
        underLoadPss: {},
      };
      if (benchmarkOne) {
        log("benchmark 1: tracing overhead (max rate, then half load)");
        const configs: Array<OverheadConfig<OverheadKind>> = [
          ...pairConfigs(env, env.collector),
          ...extras.map((kind) => {
            const x = env.extra[kind]!;
            return { id: kind, mesh: x.mesh, pids: meshPids(x.mesh, x.collector ?? env.collector) };
          }),
        ];
        // The p99s are compared at a rate both of ours sustain: half the traced maximum.
        const overhead = await runOverhead<OverheadKind>(
          { configs, halfRateFrom: ["traced"], peaks: footprint.underLoad, pssPeaks: footprint.underLoadPss },
          s.overhead,
          log,
        );
        if (opts.only.has(1)) emit(overheadSection(overhead, s.overhead, opts.sampleRatio, opts.baseline));
        if (opts.only.has(4)) footprintOf = { footprint, overhead };
      }
      if (opts.only.has(3)) {
        log("benchmark 3: per-hop cost");
        const hops = await hopsEnv(env, opts, log);
        try {
          emit(hopsSection(await runHops(hops.env, s.hops, log), opts.reps, s.hops.rawCount, s.hops.feedCount));
        } finally {
          await hops.stop();
        }
      }
      if (opts.only.has(5)) {
        log(`benchmark 5: event → notification latency at ${s.notify.rate} req/s`);
        const untraced = await runNotify(env, s.notify, log, "untraced");
        const traced = await runNotify(env, s.notify, log, "traced");
        emit(notifySection({ untraced, traced }, s.notify, opts.sampleRatio));
      }
    } finally {
      await env.stop();
    }
    // The demo runs alone, once the benchmarks' meshes are gone: its own footprint, nothing else's CPU beside it.
    if (footprintOf) {
      log(`benchmark 4: the demo's footprint at ${s.demoFootprint.rate} req/s for ${s.demoFootprint.duration}`);
      const demo: DemoFootprint = await runDemoFootprint(s.demoFootprint, log);
      emit(footprintSection(footprintOf.footprint, demo, footprintOf.overhead));
    }
  }

  // 6 last, once the meshes above are gone: its own meshes (two per runtime) are all that runs.
  if (runtimes.length > 0) {
    log(`benchmark 6: tracing overhead on ${runtimes.map((r) => r.id).join(", ")}`);
    const result = await runRuntimes(runtimes, s.overhead, { seed: !opts.quick, sampleRatio: opts.sampleRatio, log });
    emit(runtimesSection(result, s.overhead, opts.sampleRatio));
  }

  machine.loadAtEnd = loadAverage();
  const goals = sections.flatMap((x) => x.goals);
  print(`\n## Goals\n${machineLine(machine)}\n\n${goalsTable(goals)}\n`);
  const analysisFile = path.join(repoRoot(), "tools", "bench", "analysis.md");
  const markdown = document({
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    machine,
    quick: opts.quick,
    sections,
    // The hand-written analysis explains the default run (every trace sampled).
    notes:
      opts.sampleRatio < 1
        ? `A variant of [benchmarks.md](benchmarks.md): the traced mesh samples ${opts.sampleRatio} of the traces at the root (OTEL_TRACES_SAMPLER=parentbased_traceidratio); the analysis is in benchmarks.md.`
        : fs.existsSync(analysisFile)
          ? fs.readFileSync(analysisFile, "utf8").trim()
          : "",
    durationS: (Date.now() - started) / 1000,
  });
  if (opts.out) {
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, markdown);
    log(`wrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { sections, markdown };
}

/** Installs and builds the project at `ref` once (tools/bench/baseline.sh), with its Collector; returns its folder. */
function prepareBaseline(ref: string, log: (line: string) => void): string {
  log(`the "before" configuration: the project at ${ref} (tools/bench/baseline.sh)`);
  const r = spawnSync("bash", [path.join(repoRoot(), "tools", "bench", "baseline.sh"), ref], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 1_800_000 });
  const dir = r.stdout?.trim().split("\n").pop();
  if (r.status !== 0 || !dir) throw new Error(`tools/bench/baseline.sh ${ref} failed (exit ${r.status})`);
  return dir;
}

/**
 * Benchmark 3 reads the traced mesh's spans back from a file: a Collector of its own with the file exporter,
 * and a traced mesh of its own exporting there (benchmark 1's Collector writes no file: it costs CPU per span).
 */
async function hopsEnv(env: BenchEnv, opts: BenchOptions, log: (line: string) => void): Promise<{ env: BenchEnv; stop(): Promise<void> }> {
  const stops = new Stops();
  try {
    const backend = await startTraceBackend(stops, log, { fileExporter: true });
    const traced = await startTracedMesh(stops, backend, { sampleRatio: opts.sampleRatio });
    if (!opts.quick) await seed(traced);
    return { env: { ...env, collector: backend.collector, traced }, stop: () => stops.run() };
  } catch (err) {
    await stops.run();
    throw err;
  }
}

/** Named runtimes must all be found; of the default ones, those found (benchmark 6 is left out with fewer than two). */
function benchmark6Runtimes(named: string[] | undefined, log: (line: string) => void): NodeRuntime[] {
  const { runtimes, missing } = resolveRuntimes(named ?? DEFAULT_RUNTIMES, { required: named !== undefined });
  if (runtimes.length < 2) {
    if (named) throw new Error(`benchmark 6 compares runtimes: name at least two (got ${named.join(", ")})`);
    log(`benchmark 6 left out: it needs two runtimes and found ${runtimes.length} (${missing.join("; ")})`);
    return [];
  }
  for (const why of missing) log(`benchmark 6 leaves out ${why}`);
  return runtimes;
}

function parseCli(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      only: { type: "string" },
      reps: { type: "string" },
      out: { type: "string" },
      "sample-ratio": { type: "string" },
      runtimes: { type: "string" },
      baseline: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      `usage: bash tools/bench/run.sh [--quick] [--only 1,2,3,4,5,6,7,8] [--reps N] [--out FILE|-] [--sample-ratio R] [--baseline REF|none] [--runtimes ${DEFAULT_RUNTIMES.join(",")}]\n`,
    );
    process.exit(0);
  }
  const quick = values.quick ?? false;
  const only = new Set((values.only ?? "1,2,3,4,5,6,7,8").split(",").map((x) => Number(x.trim())));
  for (const n of only) if (![1, 2, 3, 4, 5, 6, 7, 8].includes(n)) throw new Error(`--only takes benchmark numbers 1-8, got "${values.only}"`);
  const baselineArg = values.baseline ?? (quick ? "none" : BASELINE_REF);
  const baseline = baselineArg === "none" ? undefined : baselineArg;
  const reps = values.reps === undefined ? (quick ? 1 : 3) : Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error(`--reps must be an integer 1-20, got "${values.reps}"`);
  const sampleRatio = values["sample-ratio"] === undefined ? 1 : Number(values["sample-ratio"]);
  if (!(sampleRatio > 0 && sampleRatio <= 1)) throw new Error(`--sample-ratio must be in (0, 1], got "${values["sample-ratio"]}"`);
  // A quick run is a smoke test: it leaves docs/benchmarks.md alone unless told where to write; so
  // does a sampled run (docs/benchmarks.md and its analysis are for every trace sampled).
  const defaultOut = quick || sampleRatio < 1 ? undefined : path.join(repoRoot(), "docs", "benchmarks.md");
  const out = values.out === "-" ? undefined : values.out ? path.resolve(values.out) : defaultOut;
  const runtimes = values.runtimes?.split(",").map((x) => parseRuntimeSpec(x).id);
  if (runtimes && new Set(runtimes).size !== runtimes.length) throw new Error(`--runtimes names a runtime twice: "${values.runtimes}"`);
  return { quick, only, reps, out, sampleRatio, runtimes, baseline };
}

if (require.main === module) {
  let opts: BenchOptions;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  runBench(opts).then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
