// Benchmark 2: how many requests each load generator sends per second of its own CPU time, against a
// trivial endpoint (a tiny node:http server in its own process answering 200 "ok").
import { startHelper } from "./env.js";
import { runAutocannon, runLoadgen, runWrk, type MeasuredRun } from "./tools.js";
import { spread, type Spread } from "./stats.js";

export interface EfficiencySettings {
  reps: number;
  durationS: number;
  connections: number;
}

export const EFFICIENCY_DEFINITION = (s: EfficiencySettings) =>
  `requests/s per core = successful requests / CPU seconds (user + system, all threads) of the generator process, ` +
  `i.e. rate ÷ cores used; ${s.durationS} s per run, ${s.connections} keep-alive connections; wrk with one thread, ` +
  `autocannon closed loop, loadgen open loop at the rate autocannon reached in the same repetition (its "ping" flow).`;

export const GENERATORS = ["loadgen", "autocannon", "wrk"] as const;
export type Generator = (typeof GENERATORS)[number];

export interface EfficiencyRow {
  rate: Spread;
  coresUsed: Spread;
  perCore: Spread;
}

export type EfficiencyResult = Record<Generator, EfficiencyRow>;

export async function runEfficiency(s: EfficiencySettings, log: (line: string) => void): Promise<EfficiencyResult> {
  const server = await startHelper("trivial-http", "trivial-http.js");
  const url = `http://127.0.0.1:${server.port}/`;
  const runs: Record<Generator, { rate: number[]; cores: number[]; perCore: number[] }> = {
    loadgen: { rate: [], cores: [], perCore: [] },
    autocannon: { rate: [], cores: [], perCore: [] },
    wrk: { rate: [], cores: [], perCore: [] },
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
    }
  } finally {
    await server.stop();
  }
  const out = {} as EfficiencyResult;
  for (const g of GENERATORS) out[g] = { rate: spread(runs[g].rate), coresUsed: spread(runs[g].cores), perCore: spread(runs[g].perCore) };
  return out;
}

export const GOAL_LOADGEN_VS_AUTOCANNON = 0.7;
