// `node tools/bench/dist/src/profile.js --route home|post [--duration S] [--untraced] [--no-profile] [--sample-ratio R] [--heaps machine]`:
// where the traced mesh spends its CPU (with --sample-ratio 0.1: what the requests sampling leaves out still cost).
// Starts the traced mesh with a CPU profiler (cpu-profile-preload.js through NODE_OPTIONS) on every service, drives one route
// at saturation with autocannon, stops the mesh (profiles are written on exit) and prints the top
// frames by self time and the self time per package (@opentelemetry/*, grpc-js, ioredis, node core…).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startCollector, standInCollectorEnv } from "@tracemesh/devkit";
import { startMesh, type Mesh } from "@tracemesh/mesh";
import { samplerEnv, signUp, startHelper } from "./env.js";
import { runAutocannon } from "./tools.js";
import { table } from "./stats.js";
import { cpuSeconds } from "./machine.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** The package a script belongs to: the last node_modules/<pkg> segment, "node:…" for core, else the workspace folder. */
function packageOf(url: string): string {
  if (!url) return "(native / GC / idle)";
  if (url.startsWith("node:")) return "node core";
  const m = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  const w = /\/(services|packages)\/([^/]+)\//.exec(url);
  return w ? `${w[1]}/${w[2]}` : url;
}

interface FullNode extends ProfileNode {
  children?: number[];
}

/**
 * Self time per frame, and per package where a sample is charged to the nearest frame on its stack
 * that is not node core or native (a socket write counts for whoever wrote: ioredis, the OTLP
 * exporter, grpc-js…).
 */
export function summarizeProfile(file: string, top = 15): { frames: string[][]; packages: string[][]; packageMs: Map<string, number>; totalMs: number } {
  const p = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile & { nodes: FullNode[] };
  const totalMs = (p.endTime - p.startTime) / 1000;
  const msPerSample = totalMs / (p.samples.length || 1);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const isCore = (n: FullNode) => !n.callFrame.url || n.callFrame.url.startsWith("node:");
  const chargedTo = new Map<number, string>();
  const charge = (id: number): string => {
    const known = chargedTo.get(id);
    if (known) return known;
    const n = byId.get(id)!;
    let pkg: string;
    if (n.callFrame.functionName === "(garbage collector)" || n.callFrame.functionName === "(program)") pkg = n.callFrame.functionName;
    else if (!isCore(n)) pkg = packageOf(n.callFrame.url);
    else pkg = parent.has(id) ? charge(parent.get(id)!) : "node core (no caller)";
    chargedTo.set(id, pkg);
    return pkg;
  };
  const byFrame = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const n of p.nodes) {
    const hits = n.hitCount ?? 0;
    if (!hits || n.callFrame.functionName === "(idle)") continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const frame = `${functionName || "(anonymous)"} ${url ? `${path.basename(url)}:${lineNumber + 1}` : ""} [${packageOf(url)}]`;
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits);
    const pkg = charge(n.id);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
  }
  const busy = [...byPackage.values()].reduce((a, b) => a + b, 0) || 1;
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, hits]) => [k, (hits * msPerSample).toFixed(0), `${((hits / busy) * 100).toFixed(1)} %`]);
  const packageMs = new Map([...byPackage.entries()].map(([k, hits]) => [k, hits * msPerSample]));
  return { frames: rows(byFrame), packages: rows(byPackage), packageMs, totalMs };
}

/** The packages that are tracing: the OpenTelemetry JS ones and our telemetry package. */
const isTracingPackage = (pkg: string) => pkg.startsWith("@opentelemetry/") || pkg === "packages/telemetry";

/**
 * Prints each service's tables, then (given the requests served while profiling) the tracing
 * packages' CPU per request summed over the whole mesh: what each part of tracing costs a request.
 */
export function printProfiles(dir: string, names: Record<number, string> = {}, requests?: number): void {
  const mesh = new Map<string, number>();
  let busyMs = 0;
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".cpuprofile"))) {
    const pid = Number(f.split(".")[0]);
    const s = summarizeProfile(path.join(dir, f));
    for (const [pkg, ms] of s.packageMs) {
      busyMs += ms;
      if (isTracingPackage(pkg)) mesh.set(pkg, (mesh.get(pkg) ?? 0) + ms);
    }
    process.stdout.write(`\n### ${names[pid] ?? f} (${(s.totalMs / 1000).toFixed(1)} s profiled)\n\n`);
    process.stdout.write(table(["package (charged with the core work it called)", "ms", "share of busy"], s.packages) + "\n\n");
    process.stdout.write(table(["frame (self time)", "ms", "share of busy"], s.frames) + "\n");
  }
  if (!requests) return;
  const tracingMs = [...mesh.values()].reduce((a, b) => a + b, 0);
  const rows = [...mesh.entries()].sort((a, b) => b[1] - a[1]).map(([pkg, ms]) => [pkg, ((ms * 1000) / requests).toFixed(0), `${((ms / busyMs) * 100).toFixed(1)} %`]);
  rows.push(["**all tracing packages**", ((tracingMs * 1000) / requests).toFixed(0), `${((tracingMs / busyMs) * 100).toFixed(1)} %`]);
  process.stdout.write(`\n### tracing packages across the mesh (${requests} requests; the Collector is not profiled)\n\n`);
  process.stdout.write(table(["package (charged with the core work it called)", "µs per request", "share of the mesh's busy CPU"], rows) + "\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      route: { type: "string" },
      duration: { type: "string" },
      untraced: { type: "boolean" },
      analyze: { type: "string" },
      "no-profile": { type: "boolean" },
      "sample-ratio": { type: "string" },
      heaps: { type: "string" },
    },
  });
  if (values.analyze) return printProfiles(values.analyze);
  const route = values.route ?? "home";
  if (route !== "home" && route !== "post") throw new Error(`--route must be home or post, got ${route}`);
  const durationS = Number(values.duration ?? "8");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-prof-"));
  const sink = await startHelper("saas-sink", "saas-sink.js");
  const sinkUrl = `http://127.0.0.1:${sink.port}`;
  const collector = await startCollector({ env: standInCollectorEnv({ honeycombUrl: sinkUrl, honeycombKey: "bench-key", xrayEndpoint: sinkUrl }) });
  let mesh: Mesh | undefined;
  try {
    mesh = await startMesh({
      // --no-profile: only the CPU per request, without the profiler's own cost (A/B runs of experiments).
      env: {
        LOG_LEVEL: "warn",
        NODE_OPTIONS: [...(values["no-profile"] ? [] : [path.join(__dirname, "cpu-profile-preload.js")]), path.join(__dirname, "experiment-preload.js")].map((f) => `--require ${f}`).join(" "),
        BENCH_CPU_PROF_DIR: dir,
      },
      otel: values.untraced ? undefined : { endpoint: collector.otlpHttpUrl, env: samplerEnv(Number(values["sample-ratio"] ?? "1")) },
      // --heaps machine: V8's heaps sized from this machine's memory instead of the pods' limits.
      heaps: values.heaps === "machine" ? "machine" : "pod",
    });
    const pids = Object.fromEntries(Object.entries(mesh.processes).map(([n, p]) => [p.child.pid, n]));
    const token = await signUp(mesh.apiUrl, "prof_author");
    await signUp(mesh.apiUrl, "prof_reader");
    const target =
      route === "home"
        ? { url: `${mesh.apiUrl}/api/activities/home?limit=20` }
        : {
            url: `${mesh.apiUrl}/api/activities`,
            method: "POST" as const,
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ message: "profiling post for @prof_reader", ttl: "1-hour" }),
          };
    // A home feed of 20 activities, like a seeded mesh's.
    for (let n = 0; n < 20; n++) {
      const res = await fetch(`${mesh.apiUrl}/api/activities`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ message: `profiling seed ${n}`, ttl: "1-hour" }),
        signal: AbortSignal.timeout(5000),
      });
      if (res.status !== 201) throw new Error(`seed post answered ${res.status}`);
    }
    // cpu-profile-preload starts profiling on SIGUSR2 (without it the signal would end the process).
    if (!values["no-profile"]) for (const proc of Object.values(mesh.processes)) proc.child.kill("SIGUSR2");
    const cpuPids: Record<string, number> = Object.fromEntries(Object.entries(mesh.processes).map(([n, p]) => [n, p.child.pid!]));
    if (!values.untraced) cpuPids.otelcol = collector.process.child.pid!;
    const cpuBefore = Object.fromEntries(Object.entries(cpuPids).map(([n, pid]) => [n, cpuSeconds(pid) ?? 0]));
    const r = await runAutocannon({ ...target, connections: 32, durationS });
    const okCount = r.okRate * durationS;
    const cpuRows = Object.entries(cpuPids).map(([n, pid]) => [n, (((cpuSeconds(pid) ?? 0) - cpuBefore[n]!) * 1000 / okCount).toFixed(2)]);
    process.stdout.write(`${values.untraced ? "untraced" : "traced"} ${route}: ${r.okRate.toFixed(0)} req/s (${r.non2xx} non-2xx), p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms` + (process.env.BENCH_SKIP_INSTRUMENTATIONS ? ` (skipped: ${process.env.BENCH_SKIP_INSTRUMENTATIONS})` : "") + (process.env.BENCH_SKIP_PARTS ? ` (parts off: ${process.env.BENCH_SKIP_PARTS})` : "") + (values["sample-ratio"] ? ` (sampling ${values["sample-ratio"]})` : "") + "\n");
    process.stdout.write(table(["process", "CPU ms per request"], cpuRows) + "\n");
    await mesh.stop();
    mesh = undefined;
    if (values["no-profile"]) fs.rmSync(dir, { recursive: true, force: true });
    else {
      printProfiles(dir, pids, Math.round(okCount));
      process.stdout.write(`\nprofiles kept in ${dir} (open them in Chrome DevTools → Performance)\n`);
    }
  } finally {
    await mesh?.stop();
    await collector.stop();
    await sink.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`profile failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
