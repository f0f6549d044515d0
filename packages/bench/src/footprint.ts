// Benchmark 4: resident memory (VmRSS) of every process of the mesh, Redis and the Collector, at idle
// and at the peak sampled while benchmark 1 drives each mesh at its maximum rate.
import { rssBytes } from "./machine.js";

/** Samples the RSS of named pids every intervalMs; keeps each one's peak. */
export class RssSampler {
  private readonly peak = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

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
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = rssBytes(pid);
      if (rss !== undefined && rss > (this.peak.get(name) ?? 0)) this.peak.set(name, rss);
    }
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
  idle: Record<string, Record<string, number>>;
  /** Per mesh kind: process → peak bytes under the load of benchmark 1 (max over all its runs). */
  underLoad: Record<string, Record<string, number>>;
}

/** Merges peaks: the largest value per process. */
export function mergePeaks(into: Record<string, number>, peaks: Record<string, number>): void {
  for (const [name, bytes] of Object.entries(peaks)) into[name] = Math.max(into[name] ?? 0, bytes);
}

export const GOAL_TOTAL_BYTES = 2 ** 30;
