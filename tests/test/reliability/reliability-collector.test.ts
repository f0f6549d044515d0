// tools: redis collector
// The Collector gone for 60 s under load, twice: first refusing connections (nothing listening),
// then accepting connections but never answering. The services export through a TCP proxy in
// front of the real Collector (with the Honeycomb and X-Ray stand-ins behind it), which the test
// switches. Serving must be unaffected (no errors; p99 compared with the phases where the
// Collector works), memory bounded by the batch processor's queue, dropped spans counted and
// logged once per outage by each process, and export resuming by itself when the Collector is back.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { standInCollectorEnv, startCollector, startHoneycombStandIn, startXrayStandIn, type HoneycombStandIn, type LocalCollector, type ManagedProcess, type XrayStandIn } from "@tracemesh/devkit";
import { startMesh, type Mesh, type MeshService } from "@tracemesh/mesh";
import {
  byStatus,
  mixedLoad,
  median,
  percentile,
  report,
  rssMiB,
  signUp,
  sleep,
  startFaultProxy,
  timeUntil,
  type Acked,
  type FaultProxy,
  type Op,
  type ProxyMode,
  type SignedUp,
} from "./reliability-helpers.js";

const RATE = 25;
// RELIABILITY_COLLECTOR_OUTAGE_MS shortens the outages for local iteration only; CI runs the 60 s.
const OUTAGE_MS = Number(process.env.RELIABILITY_COLLECTOR_OUTAGE_MS ?? 60_000);
const BASELINE_MS = Math.min(15_000, OUTAGE_MS);
// Load runs this long before the first measured phase: JIT and heap growth settle first.
const WARMUP_MS = 10_000;
const SERVICES: MeshService[] = ["api", "users", "activities", "notifications"];
const HONEYCOMB_KEY = "reliability-key";
// The batch processor's bounds (SDK defaults, stated so the memory bound below is explicit).
const BSP = { OTEL_BSP_MAX_QUEUE_SIZE: "2048", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "512", OTEL_BSP_SCHEDULE_DELAY: "1000" };
// Memory the process holds after a full GC (V8 heap in use + external and ArrayBuffer memory), at the end of an
// outage over the end of the working phase before it: 2048 queued + 512 in-flight spans are a few MiB; an
// unbounded queue at this load (~500 spans/s for 60 s) would be far more. RSS is sampled and reported too, but
// not judged: V8 keeps pages it grew into after collecting, so RSS says when the heap grew, not what it holds.
const HELD_GROWTH_BOUND_MIB = 32;
const FAILING = "span export failing; dropping spans until the Collector answers";

interface Phase {
  name: string;
  mode: ProxyMode;
  start: number;
  end: number;
  rss: Record<string, number[]>;
  /** Memory held after a full GC at the phase's end, per service. */
  held: Record<string, number>;
}

/** Each service's inspector (--inspect on a free loopback port), from the line Node prints when it listens. */
function inspectorUrl(proc: ManagedProcess): string {
  const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]+)/.exec(proc.output())?.[1];
  if (!url) throw new Error(`${proc.name}: no inspector URL in its output`);
  return url;
}

/**
 * A full GC in the process, then what it still holds (MiB): heapUsed + external (ArrayBuffers included), read
 * through the inspector protocol (HeapProfiler.collectGarbage, then process.memoryUsage()). Bounded: 15 s.
 */
async function heldAfterGcMiB(proc: ManagedProcess): Promise<number> {
  const ws = new WebSocket(inspectorUrl(proc));
  const replies = new Map<number, (result: Record<string, unknown>) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> };
    if (message.id !== undefined) replies.get(message.id)?.(message.result ?? {});
  });
  let next = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++next;
      replies.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const timeout = setTimeout(() => ws.close(), 15_000);
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`${proc.name}: inspector connection failed`)), { once: true });
    });
    await call("HeapProfiler.collectGarbage");
    const evaluated = await call("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true });
    const usage = JSON.parse(String((evaluated.result as { value?: unknown } | undefined)?.value)) as { heapUsed: number; external: number };
    return Math.round(((usage.heapUsed + usage.external) / 2 ** 20) * 10) / 10;
  } finally {
    clearTimeout(timeout);
    ws.close();
  }
}

function telemetryLines(proc: ManagedProcess): Array<Record<string, unknown>> {
  return proc
    .output()
    .split("\n")
    .filter((l) => l.includes('"component":"telemetry"'))
    .map((l) => JSON.parse(l.slice(l.indexOf("{"))) as Record<string, unknown>);
}

describe("reliability: the Collector gone for 60 s under load", { timeout: 480_000 }, () => {
  let honeycomb: HoneycombStandIn;
  let xray: XrayStandIn;
  let collector: LocalCollector;
  let proxy: FaultProxy;
  let mesh: Mesh;
  let users: SignedUp[];

  before(async () => {
    [honeycomb, xray] = await Promise.all([startHoneycombStandIn({ apiKey: HONEYCOMB_KEY }), startXrayStandIn()]);
    collector = await startCollector({
      env: standInCollectorEnv({ honeycombUrl: honeycomb.url, honeycombKey: HONEYCOMB_KEY, xrayEndpoint: xray.endpoint }),
    });
    const target = new URL(collector.otlpHttpUrl);
    proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
    // --inspect on port 0: each service's inspector on a free loopback port, for the memory it holds after a GC.
    mesh = await startMesh({ env: { LOG_LEVEL: "warn", NODE_OPTIONS: "--inspect=127.0.0.1:0" }, otel: { endpoint: `http://127.0.0.1:${proxy.port}`, env: BSP } });
    users = [];
    for (let i = 0; i < 8; i++) users.push(await signUp(mesh.apiUrl, `otel_${i}`));
  });
  after(async () => {
    await mesh?.stop();
    await proxy?.close();
    await collector?.stop();
    await Promise.all([honeycomb?.stop(), xray?.stop()]);
  });

  test("refusing, then black hole: serving unaffected, memory bounded, drops counted once, export resumes", { timeout: 420_000 }, async () => {
    const acked: Acked = { users: [...users], posts: [], replies: [], likes: [] };
    const load = mixedLoad(mesh.apiUrl, RATE, users, acked, "o");
    const phases: Phase[] = [];
    const runPhase = async (name: string, mode: ProxyMode, ms: number) => {
      await proxy.set(mode);
      const phase: Phase = { name, mode, start: Date.now(), end: 0, rss: Object.fromEntries(SERVICES.map((s) => [s, []])), held: {} };
      while (Date.now() - phase.start < ms) {
        for (const s of SERVICES) phase.rss[s]!.push(rssMiB(mesh.processes[s].child.pid!));
        await sleep(2000);
      }
      phase.end = Date.now();
      // After the phase's window, so the GC pauses fall outside the latencies judged for it.
      for (const s of SERVICES) phase.held[s] = await heldAfterGcMiB(mesh.processes[s]);
      phases.push(phase);
      return phase;
    };
    const count = (s: MeshService, msg: string) => telemetryLines(mesh.processes[s]).filter((l) => l.msg === msg).length;
    // Every process that logged export failing logs its resumption (asserted per process below).
    const waitResumed = async (times: number) =>
      timeUntil(`export resumed after outage ${times}`, async () =>
        SERVICES.every((s) => count(s, "span export resumed") >= Math.min(times, count(s, FAILING))), 60_000, 250);

    await sleep(Math.min(WARMUP_MS, OUTAGE_MS));
    await runPhase("working (before)", "forward", BASELINE_MS);
    await runPhase("refusing", "refuse", OUTAGE_MS);
    const back1 = Date.now();
    await proxy.set("forward");
    const resume1Ms = await waitResumed(1);
    await runPhase("working (between)", "forward", BASELINE_MS);
    await runPhase("black hole", "blackhole", OUTAGE_MS);
    await proxy.set("forward");
    const back2 = Date.now();
    const resume2Ms = await waitResumed(2);
    const spansBefore = collector.fileSpans().length;
    await sleep(3000);
    const ops = await load.stop();

    // Spans made after the return reach the Collector.
    await timeUntil("new spans in the Collector", async () => {
      const spans = collector.fileSpans();
      return spans.length > spansBefore && spans.some((s) => Number(s.startNs / 1_000_000n) > back2);
    }, 30_000, 500);

    const inPhase = (p: Phase) => ops.filter((o: Op) => o.result.started >= p.start && o.result.started < p.end);
    const figures: Record<string, unknown> = {};
    const p99 = (p: Phase) => percentile(inPhase(p).map((o) => o.result.ms), 99);
    const working = phases.filter((p) => p.mode === "forward");
    const baselineP99 = percentile(working.flatMap((p) => inPhase(p).map((o) => o.result.ms)), 99);
    const during: Record<string, number> = {};
    for (const p of phases) {
      const results = inPhase(p).map((o) => o.result);
      const statuses = byStatus(results);
      const errors = results.filter((r) => r.status < 200 || r.status >= 300);
      assert.deepEqual(errors.map((r) => `${r.status} ${r.error ?? ""} ${JSON.stringify(r.json)}`), [], `${p.name}: every request succeeds`);
      const rss = Object.fromEntries(SERVICES.map((s) => [s, { min: Math.min(...p.rss[s]!), max: Math.max(...p.rss[s]!) }]));
      figures[p.name] = { requests: results.length, statuses, p50_ms: Math.round(percentile(results.map((r) => r.ms), 50)), p99_ms: Math.round(p99(p)), rss_mib: rss };
      if (p.mode !== "forward") for (const [k, v] of Object.entries(statuses)) during[`${p.mode} ${k}`] = v;
    }
    // Memory: what each process holds after a full GC at the end of an outage, against the end of the working
    // phase before it. Checked after the report below, so the figures are printed either way.
    const memoryProblems: string[] = [];
    const memory: Record<string, Record<string, number[]>> = {};
    const held: Record<string, Record<string, number>> = {};
    for (const [outage, before] of [[phases[1]!, phases[0]!], [phases[3]!, phases[2]!]] as const) {
      memory[outage.name] = {};
      held[outage.name] = {};
      for (const s of SERVICES) {
        memory[outage.name]![s] = outage.rss[s]!;
        const grew = Math.round((outage.held[s]! - before.held[s]!) * 10) / 10;
        held[outage.name]![s] = grew;
        if (grew > HELD_GROWTH_BOUND_MIB) {
          memoryProblems.push(`${s} during ${outage.name}: held after GC ${before.held[s]} → ${outage.held[s]} MiB (bound +${HELD_GROWTH_BOUND_MIB})`);
        }
      }
    }
    // Latency. The goal is p99 within 15 % of the working phases. On 2 shared cores one pooled p99
    // is noise (other processes' bursts), so the assertion compares the medians of 10 s windows'
    // p99s, loosely: what it catches is serving waiting on export (seconds, not percent).
    const windowP99s = (p: Phase) => {
      const out: number[] = [];
      for (let t = p.start; t + 10_000 <= p.end + 1; t += 10_000) {
        const ms = ops.filter((o) => o.result.started >= t && o.result.started < t + 10_000).map((o) => o.result.ms);
        if (ms.length > 20) out.push(percentile(ms, 99));
      }
      return out;
    };
    const workingWindowP99 = median(working.flatMap(windowP99s));
    const ratios = phases.filter((p) => p.mode !== "forward").map((p) => {
      const windowed = median(windowP99s(p));
      return {
        phase: p.name,
        ratio: Math.round((p99(p) / baselineP99) * 100) / 100,
        windowed_ratio: Math.round((windowed / workingWindowP99) * 100) / 100,
        windowed_p99_ms: Math.round(windowed),
      };
    });
    for (const r of ratios) {
      assert.ok(r.windowed_p99_ms <= 2 * workingWindowP99 + 20, `${r.phase}: median 10 s-window p99 ${r.windowed_p99_ms} ms vs ${Math.round(workingWindowP99)} ms working`);
    }

    // Dropped spans: counted, and logged once per outage per process (failing once, resumed once).
    let dropped = 0;
    const logCounts: Record<string, unknown> = {};
    for (const s of SERVICES) {
      const lines = telemetryLines(mesh.processes[s]);
      const failing = lines.filter((l) => l.msg === FAILING);
      const resumed = lines.filter((l) => l.msg === "span export resumed");
      assert.equal(failing.length, 2, `${s}: "export failing" logged once per outage:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`);
      assert.equal(resumed.length, 2, `${s}: "export resumed" logged once per outage`);
      for (const r of resumed) assert.ok(Number(r.dropped_spans) > 0, `${s}: dropped spans counted`);
      dropped += resumed.reduce((n, r) => n + Number(r.dropped_spans), 0);
      logCounts[s] = { failing: failing.length, resumed: resumed.map((r) => ({ dropped_spans: r.dropped_spans, outage_ms: r.outage_ms })), other: lines.filter((l) => !failing.includes(l) && !resumed.includes(l)).map((l) => l.msg) };
    }
    for (const [name, proc] of Object.entries(mesh.processes)) assert.equal(proc.child.exitCode, null, `${name} still running`);

    report({
      scenario: "collector gone",
      fault: "Collector refusing connections 60 s, then accepting but never answering 60 s",
      duration: `${OUTAGE_MS / 1000} s + ${OUTAGE_MS / 1000} s`,
      load: `${RATE} req/s mixed, ${ops.length} requests`,
      during,
      checked: `errors 0; p99 ×${ratios.map((r) => `${r.ratio} pooled / ×${r.windowed_ratio} windowed (${r.phase})`).join(", ")} of the working phases (${Math.round(baselineP99)} / ${Math.round(workingWindowP99)} ms); ` +
        `memory held after a GC grew ≤ ${HELD_GROWTH_BOUND_MIB} MiB per outage (queue ${BSP.OTEL_BSP_MAX_QUEUE_SIZE} + batch ${BSP.OTEL_BSP_MAX_EXPORT_BATCH_SIZE} spans); dropped spans ${dropped}, logged once per outage per process`,
      recovery: `export resumed ${(resume1Ms / 1000).toFixed(1)} s / ${(resume2Ms / 1000).toFixed(1)} s after the Collector returned`,
      figures: { ...figures, held_after_gc_growth_mib: held, held_after_gc_mib: Object.fromEntries(phases.map((p) => [p.name, p.held])), rss_samples_mib: memory, p99_ratio_goal: 1.15, p99_ratios: ratios, p99_goal_met: ratios.every((r) => r.windowed_ratio <= 1.15), logs: logCounts, refuse_back_at: back1 - phases[1]!.start },
    });
    assert.deepEqual(memoryProblems, [], "memory bounded during the outages");
  });
});
