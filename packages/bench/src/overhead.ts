// Benchmark 1: tracing overhead through the whole mesh, untraced (OTEL_SDK_DISABLED=true) and traced
// (100 % sampling, exporting to the real Collector) side by side, repetitions alternating between them.
import type { Mesh } from "@tracemesh/mesh";
import { signUp, meshPids, type BenchEnv, type MeshKind } from "./env.js";
import { mergePeaks, RssSampler } from "./footprint.js";
import { cpuSeconds } from "./machine.js";
import { runAutocannon, runLoadgen } from "./tools.js";
import { spread, type Spread } from "./stats.js";

export const ROUTE_HOME = "GET /api/activities/home";
export const ROUTE_POST = "POST /api/activities";
export const OVERHEAD_ROUTES = [ROUTE_HOME, ROUTE_POST] as const;
export type OverheadRoute = (typeof OVERHEAD_ROUTES)[number];

export interface OverheadSettings {
  reps: number;
  maxDurationS: number;
  halfDurationS: number;
  connections: number;
  warmupS: number;
}

export const MAX_RATE_DEFINITION = (s: OverheadSettings) =>
  `maximum sustainable rate = 2xx responses/s of a closed-loop saturating client (autocannon, ${s.connections} ` +
  `connections, ${s.maxDurationS} s, each connection sends its next request as soon as the previous one answered), ` +
  `a run counting only when < 1 % of its responses are errors; the client shares the machine's 2 cores with the mesh, alike for both configurations.`;

export const HALF_LOAD_DEFINITION = (s: OverheadSettings) =>
  `half load = open-loop loadgen at a constant arrival rate of 50 % of the untraced maximum (median), the same rate for both ` +
  `configurations, ${s.halfDurationS} s per run; latency from each request's intended send time (no coordinated omission).`;

export interface OverheadCell {
  maxRate: Spread;
  maxErrorRuns: number;
  halfRate: number;
  halfAchieved: Spread;
  halfP50: Spread;
  halfP99: Spread;
  halfErrors: number;
}

export interface OverheadResult {
  cells: Record<OverheadRoute, Record<MeshKind, OverheadCell>>;
  /** CPU milliseconds each process spent per successful request during the max-rate runs (median over runs). */
  cpuPerRequest: Record<OverheadRoute, Record<MeshKind, Record<string, Spread>>>;
}

function cpuOf(pids: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) ?? NaN]));
}

interface Target {
  url: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

async function targets(mesh: Mesh, tag: string): Promise<Record<OverheadRoute, Target>> {
  const suffix = Math.random().toString(36).slice(2, 6);
  const token = await signUp(mesh.apiUrl, `bo_a${tag}${suffix}`);
  const reader = `bo_r${tag}${suffix}`;
  await signUp(mesh.apiUrl, reader);
  return {
    [ROUTE_HOME]: { url: `${mesh.apiUrl}/api/activities/home?limit=20`, method: "GET" },
    [ROUTE_POST]: {
      url: `${mesh.apiUrl}/api/activities`,
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      // A mention, like loadgen's posts: each one also drives the event → notification path.
      body: JSON.stringify({ message: `benchmark post for @${reader}`, ttl: "1-hour" }),
    },
  };
}

/** loadgen scenario that sends only this route. */
function scenarioFor(route: OverheadRoute): object {
  return route === ROUTE_HOME
    ? { flows: { ping: 1 }, ping_path: "/api/activities/home?limit=20", think_time_ms: 0 }
    : { flows: { post: 1 }, think_time_ms: 0 };
}

/** loadgen's summary key for the route. */
function loadgenRouteKey(route: OverheadRoute): string {
  return route === ROUTE_HOME ? "GET /api/activities/home?limit=20" : ROUTE_POST;
}

export async function runOverhead(
  env: BenchEnv,
  s: OverheadSettings,
  log: (line: string) => void,
  peaks: Record<MeshKind, Record<string, number>>,
): Promise<OverheadResult> {
  const meshes: Record<MeshKind, Mesh> = { untraced: env.untraced, traced: env.traced };
  const kinds: MeshKind[] = ["untraced", "traced"];
  const pids: Record<MeshKind, Record<string, number>> = {
    untraced: meshPids(env.untraced),
    traced: meshPids(env.traced, env.collector),
  };
  const t: Record<MeshKind, Record<OverheadRoute, Target>> = {
    untraced: await targets(env.untraced, "u"),
    traced: await targets(env.traced, "t"),
  };
  const maxRuns = new Map<string, number[]>();
  const maxErrorRuns = new Map<string, number>();
  const key = (route: string, kind: string) => `${route}|${kind}`;
  const cpuCost = Object.fromEntries(OVERHEAD_ROUTES.map((r) => [r, { untraced: {}, traced: {} }])) as Record<
    OverheadRoute,
    Record<MeshKind, Record<string, number[]>>
  >;

  for (const route of OVERHEAD_ROUTES) {
    for (const kind of kinds) {
      if (s.warmupS > 0) await runAutocannon({ ...t[kind][route], connections: s.connections, durationS: s.warmupS });
    }
  }
  // Maximum rate: alternate untraced/traced within every repetition.
  for (let rep = 0; rep < s.reps; rep++) {
    for (const route of OVERHEAD_ROUTES) {
      for (const kind of kinds) {
        const sampler = new RssSampler(pids[kind]).start();
        const cpuBefore = cpuOf(pids[kind]);
        const r = await runAutocannon({ ...t[kind][route], connections: s.connections, durationS: s.maxDurationS });
        const cpuAfter = cpuOf(pids[kind]);
        mergePeaks(peaks[kind], sampler.stop());
        const okCount = r.okRate * s.maxDurationS;
        const perRequest = (cpuCost[route][kind] ??= {});
        for (const name of Object.keys(cpuAfter)) {
          (perRequest[name] ??= []).push(((cpuAfter[name]! - cpuBefore[name]!) * 1000) / Math.max(1, okCount));
        }
        const errorRate = (r.non2xx + r.errors) / Math.max(1, r.requests);
        log(`  max ${route} ${kind} rep ${rep + 1}: ${r.okRate.toFixed(0)} req/s ok, error rate ${(errorRate * 100).toFixed(2)} %`);
        const k = key(route, kind);
        if (errorRate >= 0.01) {
          maxErrorRuns.set(k, (maxErrorRuns.get(k) ?? 0) + 1);
          // The definition does not count it: record 0 (visible in the min) rather than hide it.
          maxRuns.set(k, [...(maxRuns.get(k) ?? []), 0]);
        } else maxRuns.set(k, [...(maxRuns.get(k) ?? []), r.okRate]);
      }
    }
  }

  // Half load: the same fixed rate (50 % of the untraced median maximum) for both.
  const cells = {} as OverheadResult["cells"];
  const half = new Map<string, { achieved: number[]; p50: number[]; p99: number[]; errors: number }>();
  const halfRate = Object.fromEntries(
    OVERHEAD_ROUTES.map((route) => [route, Math.max(1, Math.round(spread(maxRuns.get(key(route, "untraced"))!).median / 2))]),
  ) as Record<OverheadRoute, number>;
  for (let rep = 0; rep < s.reps; rep++) {
    for (const route of OVERHEAD_ROUTES) {
      for (const kind of kinds) {
        const { summary } = await runLoadgen({
          baseUrl: meshes[kind].apiUrl,
          rate: halfRate[route],
          durationS: s.halfDurationS,
          scenario: scenarioFor(route),
          users: 10,
        });
        const r = summary.routes[loadgenRouteKey(route)];
        if (!r) throw new Error(`loadgen summary has no route ${loadgenRouteKey(route)}: ${Object.keys(summary.routes).join(", ")}`);
        const k = key(route, kind);
        const h = half.get(k) ?? { achieved: [], p50: [], p99: [], errors: 0 };
        h.achieved.push(summary.achieved_rate);
        h.p50.push(r.p50_ms);
        h.p99.push(r.p99_ms);
        h.errors += r.errors;
        half.set(k, h);
        log(`  half ${route} ${kind} rep ${rep + 1}: ${summary.achieved_rate} req/s of ${halfRate[route]}, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ${r.errors} errors`);
      }
    }
  }
  for (const route of OVERHEAD_ROUTES) {
    cells[route] = {} as Record<MeshKind, OverheadCell>;
    for (const kind of kinds) {
      const k = key(route, kind);
      const h = half.get(k)!;
      cells[route][kind] = {
        maxRate: spread(maxRuns.get(k)!),
        maxErrorRuns: maxErrorRuns.get(k) ?? 0,
        halfRate: halfRate[route],
        halfAchieved: spread(h.achieved),
        halfP50: spread(h.p50),
        halfP99: spread(h.p99),
        halfErrors: h.errors,
      };
    }
  }
  const cpuPerRequest = Object.fromEntries(
    OVERHEAD_ROUTES.map((route) => [
      route,
      Object.fromEntries(kinds.map((kind) => [kind, Object.fromEntries(Object.entries(cpuCost[route][kind]).map(([n, v]) => [n, spread(v)]))])),
    ]),
  ) as OverheadResult["cpuPerRequest"];
  return { cells, cpuPerRequest };
}

export const GOAL_MAX_RATIO = 0.85;
export const GOAL_P99_INCREASE = 0.15;
