// `node tools/bench/dist/src/ab.js --route post --config untraced --config ours --config otel-demo [--rounds 5]
//  [--rate 100] [--duration 8]`: CPU per request of whole meshes side by side, for A/B experiments, and the
// requests' latency (loadgen's p50/p99/max) beside it. --route is post, home or mix (loadgen's default mix of
// flows, benchmark 5's background load).
// Every configuration is a mesh of its own, all up at once and exporting to one Collector; each round drives
// every mesh in turn with open-loop loadgen at the same fixed rate (well below saturation, so the figures are
// the work per request, not queueing) and reads each process's CPU time from /proc/<pid>/stat. The medians of
// several alternating rounds separate effects that a single run's noise would hide.
//   --config ID[=BASE][,VAR=value…]  BASE is untraced, ours or otel-demo (default: ID itself); VARs go into every
//                                    service's environment, e.g. ours-nopino=ours,OTEL_NODE_DISABLED_INSTRUMENTATIONS=pino
//                                    or ours-noparts=ours,BENCH_SKIP_PARTS=span-processors (experiment-preload.js);
//                                    NODE_FLAGS="--a --b" are node flags after the heap sizes, so they override them
//                                    (e.g. semi32=ours,NODE_FLAGS=--max-semi-space-size=32; not with otel-demo)
//   --heaps machine                  V8 heaps sized from this machine's memory instead of the pods' limits
//   --settle 6                       seconds to wait after each run before reading the CPU clocks, so that the spans the
//                                    batch processor still holds (OTEL_BSP_SCHEDULE_DELAY, 5 s by default) are exported
//                                    and the Collector has passed them on inside the round they belong to
import path from "node:path";
import { parseArgs } from "node:util";
import { startMesh, type HeapSizing, type Mesh } from "@tracemesh/mesh";
import { Stops, meshPids, samplerEnv, startOtelDemoMesh, startTraceBackend } from "./env.js";
import { cpuSeconds } from "./machine.js";
import { loadgenScenario } from "./overhead.js";
import { fmt, fmtSpread, spread, table } from "./stats.js";
import { runLoadgen } from "./tools.js";

type Base = "untraced" | "ours" | "otel-demo";

export interface AbConfig {
  id: string;
  base: Base;
  env: NodeJS.ProcessEnv;
  /** Node flags of every service, after the heap sizes (NODE_FLAGS). */
  nodeFlags: string[];
}

export function parseConfig(spec: string): AbConfig {
  const [head = "", ...vars] = spec.split(",");
  const [id = "", baseName] = head.split("=");
  const base = (baseName ?? id) as Base;
  if (!["untraced", "ours", "otel-demo"].includes(base)) throw new Error(`--config ${spec}: the base must be untraced, ours or otel-demo`);
  const env: NodeJS.ProcessEnv = {};
  let nodeFlags: string[] = [];
  for (const v of vars) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new Error(`--config ${spec}: "${v}" is not VAR=value`);
    if (v.slice(0, eq) === "NODE_FLAGS") nodeFlags = v.slice(eq + 1).split(" ").filter(Boolean);
    else env[v.slice(0, eq)] = v.slice(eq + 1);
  }
  if (nodeFlags.length > 0 && base === "otel-demo") throw new Error(`--config ${spec}: NODE_FLAGS is not supported with otel-demo`);
  return { id, base, env, nodeFlags };
}

/** A preload that turns parts of our telemetry off when BENCH_SKIP_* asks (a no-op otherwise). */
const EXPERIMENT_PRELOAD = `--require ${path.join(__dirname, "experiment-preload.js")}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      route: { type: "string", default: "post" },
      config: { type: "string", multiple: true },
      rounds: { type: "string", default: "5" },
      rate: { type: "string", default: "100" },
      duration: { type: "string", default: "8" },
      "sample-ratio": { type: "string", default: "1" },
      heaps: { type: "string", default: "pod" },
      settle: { type: "string", default: "6" },
    },
  });
  if (!["post", "home", "mix"].includes(values.route)) throw new Error(`--route must be post, home or mix, got "${values.route}"`);
  const overheadRoute = values.route === "home" ? "GET /api/activities/home" : "POST /api/activities";
  const route = values.route === "mix" ? "loadgen's default mix" : overheadRoute;
  // {}: loadgen's own default mix of flows.
  const scenario = values.route === "mix" ? {} : loadgenScenario(overheadRoute);
  const configs = (values.config?.length ? values.config : ["untraced", "ours", "otel-demo"]).map(parseConfig);
  const rounds = Number(values.rounds);
  const rate = Number(values.rate);
  const durationS = Number(values.duration);
  const sampleRatio = Number(values["sample-ratio"]);
  const heaps = values.heaps as HeapSizing;
  const settleMs = Number(values.settle) * 1000;
  const log = (line: string) => process.stderr.write(`[ab] ${line}\n`);

  const stops = new Stops();
  try {
    const backend = await startTraceBackend(stops, log);
    const meshes = new Map<string, Mesh>();
    for (const c of configs) {
      const env = { LOG_LEVEL: "warn", NODE_OPTIONS: EXPERIMENT_PRELOAD, ...c.env };
      let mesh: Mesh;
      if (c.base === "otel-demo") mesh = await startOtelDemoMesh(stops, backend, { sampleRatio, env, heaps });
      else {
        mesh = await startMesh({
          env,
          heaps,
          node: c.nodeFlags.length > 0 ? { execPath: process.execPath, execArgv: c.nodeFlags } : undefined,
          otel: c.base === "ours" ? { endpoint: backend.collector.otlpHttpUrl, env: { ...samplerEnv(sampleRatio), OTEL_SERVICE_NAMESPACE: "bench" } } : undefined,
        });
        stops.add(mesh.stop);
      }
      meshes.set(c.id, mesh);
      log(`${c.id} up: ${mesh.apiUrl}`);
    }
    // ms of CPU per request, per config and process, one value per round.
    const cpu = new Map<string, Record<string, number[]>>();
    // loadgen's latency over all requests (ms), per config and statistic, one value per round.
    const latency = new Map<string, Record<"p50" | "p99" | "max", number[]>>();
    for (let round = 0; round <= rounds; round++) {
      for (const c of configs) {
        const mesh = meshes.get(c.id)!;
        const pids = meshPids(mesh, c.base === "untraced" ? undefined : backend.collector);
        const before = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, cpuSeconds(pid) ?? NaN]));
        const { summary } = await runLoadgen({ baseUrl: mesh.apiUrl, rate, durationS, scenario, users: values.route === "mix" ? 20 : 10 });
        // A measured wait, not a readiness check: the export still to come belongs to this round's requests.
        if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
        const ok = summary.requests - summary.errors;
        // Round 0 warms every mesh up (JIT, connection pools) and is not counted.
        if (round === 0) continue;
        const perRequest = cpu.get(c.id) ?? {};
        cpu.set(c.id, perRequest);
        let all = 0;
        for (const [n, pid] of Object.entries(pids)) {
          const ms = (((cpuSeconds(pid) ?? NaN) - before[n]!) * 1000) / Math.max(1, ok);
          all += ms;
          (perRequest[n] ??= []).push(ms);
        }
        (perRequest["all"] ??= []).push(all);
        const lat = latency.get(c.id) ?? { p50: [], p99: [], max: [] };
        latency.set(c.id, lat);
        lat.p50.push(summary.total.p50_ms);
        lat.p99.push(summary.total.p99_ms);
        lat.max.push(summary.total.max_ms);
        log(`round ${round} ${c.id}: ${summary.achieved_rate} req/s, ${summary.errors} errors, ${fmt(all)} ms CPU per request, p99 ${fmt(summary.total.p99_ms)} ms`);
      }
    }
    const processes = [...new Set(configs.flatMap((c) => Object.keys(cpu.get(c.id) ?? {})))];
    const rows = processes.map((p) => [p, ...configs.map((c) => (cpu.get(c.id)?.[p] ? fmtSpread(spread(cpu.get(c.id)![p]!), 3) : "–"))]);
    process.stdout.write(`\n${route} at ${rate} req/s, ${durationS} s × ${rounds} rounds (CPU read ${settleMs / 1000} s after each run); ms of CPU per request, median (min–max)\n\n`);
    process.stdout.write(table(["process", ...configs.map((c) => c.id)], rows) + "\n");
    const latencyRows = (["p50", "p99", "max"] as const).map((k) => [`latency ${k} (ms)`, ...configs.map((c) => fmtSpread(spread(latency.get(c.id)![k]), 1))]);
    process.stdout.write(`\nloadgen's latency over all requests of a round, median of the rounds (min–max)\n\n`);
    process.stdout.write(table(["", ...configs.map((c) => c.id)], latencyRows) + "\n");
  } finally {
    await stops.run();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`ab failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
