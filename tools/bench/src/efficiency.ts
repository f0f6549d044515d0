// Benchmark 2: how many requests each load generator sends per second of its own CPU time, against a
// trivial endpoint (a tiny node:http server in its own process answering 200 "ok"); then the two open-loop
// generators (loadgen, vegeta) at one constant rate against a server that stalls for a while
// (servers/stalling-http.ts), to see whether their latency percentiles show the stall.
import { startHelper } from "./env.js";
import { runAutocannon, runLoadgen, runVegeta, runWrk, type MeasuredRun } from "./tools.js";
import { spread, type Spread } from "./stats.js";

export interface EfficiencySettings {
  reps: number;
  durationS: number;
  connections: number;
}

export const EFFICIENCY_DEFINITION = (s: EfficiencySettings) =>
  `requests/s per core = successful requests / CPU seconds (user + system, all threads) of the generator process, ` +
  `i.e. rate ÷ cores used; ${s.durationS} s per run, ${s.connections} keep-alive connections; wrk with one thread, ` +
  `autocannon closed loop; loadgen (its "ping" flow) and vegeta (\`vegeta attack -rate=R/1s -connections=${s.connections} ` +
  `-max-connections=${s.connections} -keepalive\`, HTTP/1.1; -connections alone caps only the idle connections) open loop ` +
  `at the rate R autocannon reached in the same repetition. vegeta's CPU is the attack's alone (it writes its results to a ` +
  `file; \`vegeta report\` reads them afterwards). ` +
  `loadgen and vegeta keep sending at R whatever the server does; wrk and autocannon send as fast as the answers come.`;

export const GENERATORS = ["loadgen", "autocannon", "wrk", "vegeta"] as const;
export type Generator = (typeof GENERATORS)[number];

export interface EfficiencyRow {
  rate: Spread;
  coresUsed: Spread;
  perCore: Spread;
}

// ---------- the stalled server ----------

export interface StallSettings {
  /** Requests per second, the same for both generators. */
  rate: number;
  runS: number;
  /** The stall starts this long after the run's first request… */
  afterMs: number;
  /** …and holds every request arriving in it until it ends. */
  forMs: number;
}

/** A run of at least 3 s (5 s in the full benchmark), stalled for 1 s starting 40 % of the way in. */
export function stallSettings(s: EfficiencySettings): StallSettings {
  const runS = Math.max(3, s.durationS);
  return { rate: 200, runS, afterMs: Math.round(runS * 400), forMs: 1000 };
}

export const STALL_DEFINITION = (st: StallSettings, connections: number) =>
  `Stalled server: 200 "ok" to every request, except that from ${st.afterMs} ms after a run's first request it answers ` +
  `nothing for ${st.forMs} ms and then answers every request it held. loadgen (its "ping" flow) and vegeta each run ` +
  `${st.runS} s open loop at ${st.rate} req/s, ${connections} keep-alive connections. A generator that measures from each ` +
  `request's intended send time sees the ${(st.forMs / st.runS / 10).toFixed(0)} % of requests due during the stall wait ` +
  `up to ${st.forMs} ms: p99 ≈ ${expectedStallP99Ms(st).toFixed(0)} ms (stall − 1 % of the run), max ≈ ${st.forMs} ms. ` +
  `One that measures from when it actually sent (coordinated omission) reports far less.`;

/** p99 of a generator that measures from the intended send time: requests due in the stall wait uniformly 0…stall. */
export function expectedStallP99Ms(st: StallSettings): number {
  return st.forMs - 0.01 * st.runS * 1000;
}

/** A generator "shows the stall" when its p99 is at least this share of the stall's length. */
export const STALL_SHOWN_SHARE = 0.5;

export const STALL_GENERATORS = ["loadgen", "vegeta"] as const;
export type StallGenerator = (typeof STALL_GENERATORS)[number];

export interface StallRow {
  /** Requests per second achieved. */
  rate: Spread;
  p50: Spread;
  p90: Spread;
  p99: Spread;
  max: Spread;
  /** Requests that failed (non-2xx, errors, timeouts), all repetitions together. */
  errors: number;
  /** Requests the server held during the stall, per repetition. */
  held: number[];
}

export interface StallResult {
  settings: StallSettings;
  rows: Record<StallGenerator, StallRow>;
}

export type EfficiencyResult = Record<Generator, EfficiencyRow> & { stall: StallResult };

export async function runEfficiency(s: EfficiencySettings, log: (line: string) => void): Promise<EfficiencyResult> {
  const out = {} as EfficiencyResult;
  const server = await startHelper("trivial-http", "trivial-http.js");
  const url = `http://127.0.0.1:${server.port}/`;
  const runs: Record<Generator, { rate: number[]; cores: number[]; perCore: number[] }> = {
    loadgen: { rate: [], cores: [], perCore: [] },
    autocannon: { rate: [], cores: [], perCore: [] },
    wrk: { rate: [], cores: [], perCore: [] },
    vegeta: { rate: [], cores: [], perCore: [] },
  };
  const record = (g: Generator, ok: number, m: MeasuredRun, rate: number) => {
    const cores = m.cpuSeconds / m.wallSeconds;
    runs[g].rate.push(rate);
    runs[g].cores.push(cores);
    runs[g].perCore.push(ok / m.cpuSeconds);
    log(`  ${g}: ${rate.toFixed(0)} req/s, ${cores.toFixed(2)} cores, ${(ok / m.cpuSeconds).toFixed(0)} req/s per core`);
  };
  try {
    for (let rep = 0; rep < s.reps; rep++) {
      const w = await runWrk({ url, connections: s.connections, durationS: s.durationS });
      record("wrk", w.requests, w.measured, w.rate);
      const a = await runAutocannon({ url, connections: s.connections, durationS: s.durationS });
      record("autocannon", a.requests - a.non2xx - a.errors, a.measured, a.okRate);
      const l = await runLoadgen({
        baseUrl: url.slice(0, -1),
        rate: a.okRate,
        durationS: s.durationS,
        scenario: { flows: { ping: 1 }, ping_path: "/", think_time_ms: 0 },
        connections: s.connections,
      });
      record("loadgen", l.summary.requests - l.summary.errors, l.measured, l.summary.achieved_rate);
      const v = await runVegeta({ url, rate: a.okRate, durationS: s.durationS, connections: s.connections });
      record("vegeta", v.successes, v.measured, v.rate);
    }
  } finally {
    await server.stop();
  }
  for (const g of GENERATORS) out[g] = { rate: spread(runs[g].rate), coresUsed: spread(runs[g].cores), perCore: spread(runs[g].perCore) };
  out.stall = await runStall(s, log);
  return out;
}

/** loadgen and vegeta, alternating, at the same constant rate against the stalling server. */
async function runStall(s: EfficiencySettings, log: (line: string) => void): Promise<StallResult> {
  const st = stallSettings(s);
  const server = await startHelper("stalling-http", "stalling-http.js");
  const base = `http://127.0.0.1:${server.port}`;
  const admin = async (method: "GET" | "POST") => {
    const q = method === "POST" ? `?after_ms=${st.afterMs}&for_ms=${st.forMs}` : "";
    const res = await fetch(`${base}/__stall${q}`, { method, signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`stalling-http ${method} /__stall: HTTP ${res.status}`);
    return (await res.json()) as { held?: number };
  };
  const raw: Record<StallGenerator, { rate: number[]; p50: number[]; p90: number[]; p99: number[]; max: number[]; errors: number; held: number[] }> = {
    loadgen: { rate: [], p50: [], p90: [], p99: [], max: [], errors: 0, held: [] },
    vegeta: { rate: [], p50: [], p90: [], p99: [], max: [], errors: 0, held: [] },
  };
  const record = (g: StallGenerator, x: { rate: number; p50: number; p90: number; p99: number; max: number; errors: number }, held: number) => {
    const r = raw[g];
    r.rate.push(x.rate);
    r.p50.push(x.p50);
    r.p90.push(x.p90);
    r.p99.push(x.p99);
    r.max.push(x.max);
    r.errors += x.errors;
    r.held.push(held);
    log(`  stalled server, ${g}: p50 ${x.p50.toFixed(1)} ms, p90 ${x.p90.toFixed(1)} ms, p99 ${x.p99.toFixed(1)} ms, max ${x.max.toFixed(1)} ms; ${held} requests held`);
  };
  try {
    for (let rep = 0; rep < s.reps; rep++) {
      await admin("POST");
      const l = await runLoadgen({
        baseUrl: base,
        rate: st.rate,
        durationS: st.runS,
        scenario: { flows: { ping: 1 }, ping_path: "/", think_time_ms: 0 },
        connections: s.connections,
      });
      const t = l.summary.total;
      record("loadgen", { rate: l.summary.achieved_rate, p50: t.p50_ms, p90: t.p90_ms, p99: t.p99_ms, max: t.max_ms, errors: l.summary.errors + l.summary.dropped_flows }, (await admin("GET")).held ?? 0);
      await admin("POST");
      const v = await runVegeta({ url: `${base}/`, rate: st.rate, durationS: st.runS, connections: s.connections });
      record("vegeta", { rate: v.rate, p50: v.p50Ms, p90: v.p90Ms, p99: v.p99Ms, max: v.maxMs, errors: v.requests - v.successes }, (await admin("GET")).held ?? 0);
    }
  } finally {
    await server.stop();
  }
  const rows = {} as Record<StallGenerator, StallRow>;
  for (const g of STALL_GENERATORS) {
    const r = raw[g];
    rows[g] = { rate: spread(r.rate), p50: spread(r.p50), p90: spread(r.p90), p99: spread(r.p99), max: spread(r.max), errors: r.errors, held: r.held };
  }
  return { settings: st, rows };
}

export const GOAL_LOADGEN_VS_AUTOCANNON = 1.0;
