// Benchmark 4: resident memory (VmRSS) of every process of the mesh, Redis and the Collector, at idle
// and at the peak sampled while benchmark 1 drives each mesh at its maximum rate.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "@tracemesh/devkit";
import { pssBytes, rssBytes } from "./machine.js";

/** Samples the RSS of named pids every intervalMs; keeps each one's peak, and the peak of their PSS summed. */
export class RssSampler {
  private readonly peak = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The largest sum of the pids' PSS at one sample. */
  peakPssTotal = 0;

  constructor(private readonly pids: Record<string, number>, private readonly intervalMs = 250) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): Record<string, number> {
    clearInterval(this.timer);
    this.sample();
    return Object.fromEntries(this.peak);
  }

  private sample(): void {
    let pss = 0;
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = rssBytes(pid);
      if (rss !== undefined && rss > (this.peak.get(name) ?? 0)) this.peak.set(name, rss);
      pss += pssBytes(pid) ?? 0;
    }
    this.peakPssTotal = Math.max(this.peakPssTotal, pss);
  }
}

/** One reading of every pid now. */
export function rssNow(pids: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = rssBytes(pid) ?? NaN;
  return out;
}

export interface FootprintResult {
  /** Per mesh kind: process → bytes. */
  idle: Partial<Record<string, Record<string, number>>>;
  /** Per configuration: process → peak bytes under the load of benchmark 1 (max over all its runs). */
  underLoad: Partial<Record<string, Record<string, number>>>;
  /** Per configuration: the peak of its processes' PSS summed (shared pages split), under the same load. */
  underLoadPss: Partial<Record<string, number>>;
}

/** Merges peaks: the largest value per process. */
export function mergePeaks(into: Record<string, number>, peaks: Record<string, number>): void {
  for (const [name, bytes] of Object.entries(peaks)) into[name] = Math.max(into[name] ?? 0, bytes);
}

export const GOAL_TOTAL_BYTES = 2 ** 30;

/** Every live descendant of `root` (children, their children…), from /proc/<pid>/stat's parent pid. */
export function descendants(root: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone between the listing and the read.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    for (const [child, parent] of parentOf) if (parent === pid) (out.push(child), queue.push(child));
  }
  return out;
}

/**
 * What a process is: for Node, the program it runs (`services/api/dist/src/main.js` → api, `…/seed.js` → seed); for
 * anything else its command name (/proc/<pid>/comm); "?" once it is gone.
 */
export function processName(pid: number): string {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const script = [...args].reverse().find((a) => /\.(c?js|mjs)$/.test(a) && !a.includes("register"));
    if (script) {
      const m = /(?:services|packages)\/([^/]+)\/dist\/src\/([^/]+)\.js$/.exec(script);
      return m ? (m[2] === "main" ? m[1]! : `${m[1]} ${m[2]}`) : path.basename(script);
    }
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

export interface DemoFootprint {
  /** The largest sum of VmRSS over everything the demo had started at one moment (its own process not counted). */
  peakBytes: number;
  /** At that moment: each process (command name and pid) and its RSS. */
  atPeak: Array<{ name: string; bytes: number }>;
  /** The demo CLI's own RSS at that moment. */
  cliBytes: number;
  /** The largest sum of their PSS (shared pages split among the processes sharing them) at one sample. */
  peakPssBytes: number;
  rate: number;
  duration: string;
  exitCode: number | null;
}

/**
 * `tracemesh demo --rate R --duration D` (tools/cli, the same program `npm run demo` runs) with the sum of the
 * resident memory of every process it started (mesh, Redis, Collector, stand-ins, loadgen…) sampled every 250 ms.
 */
export async function runDemoFootprint(opts: { rate: number; duration: string }, log: (line: string) => void): Promise<DemoFootprint> {
  const cli = path.join(repoRoot(), "tools", "cli", "dist", "src", "main.js");
  // A temporary folder of its own: the demo keeps its output in <tmpdir>/tracemesh-demo, where a user's `npm run
  // demo` keeps theirs.
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-bench-demo-"));
  const child = spawn(process.execPath, [cli, "demo", "--rate", String(opts.rate), "--duration", opts.duration], {
    cwd: repoRoot(),
    env: { ...process.env, LOG_LEVEL: "warn", TMPDIR: tmpDir },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
  let best: DemoFootprint = { peakBytes: 0, atPeak: [], cliBytes: 0, peakPssBytes: 0, rate: opts.rate, duration: opts.duration, exitCode: null };
  const sample = () => {
    const pids = descendants(child.pid!);
    const rows = pids.map((pid) => ({ name: processName(pid), bytes: rssBytes(pid) ?? 0 })).filter((r) => r.bytes > 0);
    const sum = rows.reduce((a, r) => a + r.bytes, 0);
    const pss = pids.reduce((a, pid) => a + (pssBytes(pid) ?? 0), 0);
    best.peakPssBytes = Math.max(best.peakPssBytes, pss);
    if (sum > best.peakBytes) best = { ...best, peakBytes: sum, atPeak: rows.sort((a, b) => b.bytes - a.bytes), cliBytes: rssBytes(child.pid!) ?? 0 };
  };
  const timer = setInterval(sample, 250);
  const exitCode = await new Promise<number | null>((resolve) => {
    const bound = setTimeout(() => child.kill("SIGTERM"), 600_000);
    child.on("exit", (code) => {
      clearTimeout(bound);
      resolve(code);
    });
  });
  clearInterval(timer);
  fs.rmSync(tmpDir, { recursive: true, force: true });
  if (exitCode !== 0) throw new Error(`tracemesh demo exited ${exitCode}:\n${stderr.slice(-4000)}`);
  log(`  demo footprint: peak ${(best.peakBytes / 2 ** 20).toFixed(0)} MiB RSS (${(best.peakPssBytes / 2 ** 20).toFixed(0)} MiB PSS) over ${best.atPeak.length} processes`);
  return { ...best, exitCode };
}
