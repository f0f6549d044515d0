// Runs the load generators (loadgen, autocannon, wrk, vegeta) as separate processes and measures the CPU
// each one used: bash's `times` builtin reports the user+system time of the command it waited for
// (every thread of it), so the figure is exact and needs no sampling.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { entryPoint } from "@tracemesh/mesh";
import type { Summary } from "@tracemesh/loadgen";

export interface MeasuredRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** User + system CPU seconds of the command (all threads, children it waited for). */
  cpuSeconds: number;
  wallSeconds: number;
}

/** "0m1.234s" → 1.234 */
function clockText(text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
}

/** Runs command with a bounded wall time; resolves its output and its CPU time. */
export function runMeasured(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<MeasuredRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // times prints two lines: the shell's own user/sys, then its children's.
    const child = spawn("bash", ["-c", '"$@"; rc=$?; times >&3; exit $rc', "bash", command, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let times = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (c: Buffer) => (times += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${path.basename(command)} ${args.join(" ")} still running after ${opts.timeoutMs} ms\n${stderr.slice(-2000)}`));
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      const childLine = times.trim().split("\n")[1] ?? "";
      const [user, sys] = childLine.split(/\s+/).map(clockText);
      resolve({ code, stdout, stderr, cpuSeconds: (user ?? NaN) + (sys ?? NaN), wallSeconds: (performance.now() - started) / 1000 });
    });
  });
}

// ---------- loadgen ----------


export interface LoadgenRun {
  summary: Summary;
  measured: MeasuredRun;
}

/** Runs the loadgen CLI (SDK off: the generator itself is not what is measured) and reads its --json. */
export async function runLoadgen(opts: {
  baseUrl: string;
  rate: number;
  durationS: number;
  scenario: object;
  connections?: number;
  users?: number;
}): Promise<LoadgenRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-bench-"));
  const json = path.join(dir, "summary.json");
  try {
    const args = [
      entryPoint("loadgen"),
      "--base-url", opts.baseUrl,
      "--rate", String(Math.max(1, Math.round(opts.rate))),
      "--duration", `${opts.durationS}s`,
      "--scenario", JSON.stringify(opts.scenario),
      "--json", json,
      "--connections", String(opts.connections ?? 64),
      "--timeout", "5s",
      "--wait-ready", "5s",
    ];
    if (opts.users) args.push("--users", String(opts.users));
    const measured = await runMeasured(process.execPath, args, {
      env: { OTEL_SDK_DISABLED: "true" },
      timeoutMs: (opts.durationS + 30) * 1000,
    });
    if (!fs.existsSync(json)) throw new Error(`loadgen wrote no summary (exit ${measured.code}):\n${measured.stderr.slice(-2000)}`);
    return { summary: JSON.parse(fs.readFileSync(json, "utf8")) as Summary, measured };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------- autocannon ----------

export interface AutocannonResult {
  /** 2xx responses per second over the run. */
  okRate: number;
  requests: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  measured: MeasuredRun;
}

function autocannonBin(): string {
  const pkg = require.resolve("autocannon/package.json");
  return path.join(path.dirname(pkg), "autocannon.js");
}

/** Closed loop: `connections` connections each send the next request as soon as the previous answered. */
export async function runAutocannon(opts: {
  url: string;
  connections: number;
  durationS: number;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}): Promise<AutocannonResult> {
  const args = [autocannonBin(), "-j", "-n", "-c", String(opts.connections), "-d", String(opts.durationS), "-t", "5"];
  if (opts.method) args.push("-m", opts.method);
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}=${v}`);
  if (opts.body !== undefined) args.push("-b", opts.body);
  args.push(opts.url);
  const measured = await runMeasured(process.execPath, args, { timeoutMs: (opts.durationS + 30) * 1000 });
  let r: {
    requests: { total: number };
    latency: { p50: number; p99: number };
    duration: number;
    non2xx: number;
    errors: number;
    timeouts: number;
    "2xx": number;
  };
  try {
    r = JSON.parse(measured.stdout.trim().split("\n").pop() ?? "");
  } catch {
    throw new Error(`autocannon printed no JSON (exit ${measured.code}):\n${measured.stderr.slice(-2000)}`);
  }
  return {
    okRate: r["2xx"] / r.duration,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    measured,
  };
}

// ---------- wrk ----------

export interface WrkResult {
  rate: number;
  requests: number;
  measured: MeasuredRun;
}

/** wrk (Debian): one thread, closed loop over `connections` connections. */
export async function runWrk(opts: { url: string; connections: number; durationS: number }): Promise<WrkResult> {
  const measured = await runMeasured("wrk", ["-t1", `-c${opts.connections}`, `-d${opts.durationS}s`, opts.url], {
    timeoutMs: (opts.durationS + 30) * 1000,
  });
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(measured.stdout);
  if (measured.code !== 0 || !m) throw new Error(`wrk failed (exit ${measured.code}): ${measured.stdout}${measured.stderr}`);
  const seconds = Number(m[2]) * { ms: 0.001, s: 1, m: 60 }[m[3] as "ms" | "s" | "m"];
  return { rate: Number(m[1]) / seconds, requests: Number(m[1]), measured };
}

// ---------- vegeta ----------

export interface VegetaResult {
  /** Requests sent per second (vegeta's "rate"). */
  rate: number;
  requests: number;
  /** 2xx responses. */
  successes: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The attack alone; the report is read afterwards, outside the measurement. */
  measured: MeasuredRun;
}

/** vegeta built by scripts/tools/32-vegeta.sh into the cache's bin/ (on PATH in the scripts), else the one on PATH. */
export function vegetaBin(): string {
  const bin = process.env.TRACEMESH_BIN ?? path.join(os.homedir(), ".cache", "tracemesh", "bin");
  const cached = path.join(bin, "vegeta");
  return fs.existsSync(cached) ? cached : "vegeta";
}

/**
 * vegeta: open loop at a constant `rate` per second for `durationS`, HTTP/1.1 keep-alive over at most
 * `connections` connections (-connections alone only caps the idle ones: vegeta then opens a new connection for
 * every request that finds them all busy and closes it after, which costs it several times the CPU). Its workers
 * are not capped: each request is started on schedule, its latency timed from then, and it waits for a free
 * connection. The attack writes its results (gob) to a file; `vegeta report -type=json` reads them.
 */
export async function runVegeta(opts: { url: string; rate: number; durationS: number; connections: number }): Promise<VegetaResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-bench-"));
  const targets = path.join(dir, "targets.txt");
  const results = path.join(dir, "results.gob");
  const bin = vegetaBin();
  try {
    fs.writeFileSync(targets, `GET ${opts.url}\n`);
    const measured = await runMeasured(
      bin,
      [
        "attack",
        `-rate=${Math.max(1, Math.round(opts.rate))}/1s`,
        `-duration=${opts.durationS}s`,
        `-connections=${opts.connections}`,
        `-max-connections=${opts.connections}`,
        "-keepalive=true",
        "-http2=false",
        "-timeout=5s",
        `-targets=${targets}`,
        `-output=${results}`,
      ],
      { timeoutMs: (opts.durationS + 30) * 1000 },
    );
    if (measured.code !== 0 || !fs.existsSync(results)) throw new Error(`vegeta attack failed (exit ${measured.code}): ${measured.stderr.slice(-2000)}`);
    const report = await runMeasured(bin, ["report", "-type=json", results], { timeoutMs: 60_000 });
    let r: {
      latencies: { "50th": number; "90th": number; "99th": number; max: number };
      requests: number;
      rate: number;
      status_codes: Record<string, number> | null;
    };
    try {
      r = JSON.parse(report.stdout);
    } catch {
      throw new Error(`vegeta report printed no JSON (exit ${report.code}): ${report.stderr.slice(-2000)}`);
    }
    const ns = (x: number) => x / 1e6;
    const successes = Object.entries(r.status_codes ?? {}).reduce((n, [code, count]) => (/^2\d\d$/.test(code) ? n + count : n), 0);
    return {
      rate: r.rate,
      requests: r.requests,
      successes,
      p50Ms: ns(r.latencies["50th"]),
      p90Ms: ns(r.latencies["90th"]),
      p99Ms: ns(r.latencies["99th"]),
      maxMs: ns(r.latencies.max),
      measured,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
