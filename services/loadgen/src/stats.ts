// Latency bookkeeping: one HdrHistogram per route (values in microseconds), the JSON summary, exact merging
// of summaries (decode + add the histograms, never average percentiles) and k6-style thresholds.
import * as hdr from "hdr-histogram-js";
import { UsageError } from "./errors.js";

type Histogram = hdr.Histogram;

/** Histograms record microseconds; 3 significant digits keep every percentile within 0.1 %. */
export const HISTOGRAM_UNIT = "us";
const HIGHEST_TRACKABLE_US = 3_600_000_000; // one hour; autoResize covers anything slower

export function newHistogram(): Histogram {
  // The pure-JS build: recording is a few array writes, and it needs no WebAssembly start-up.
  return hdr.build({
    bitBucketSize: 64,
    useWebAssembly: false,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(base64: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(base64, 64, false);
  // Re-home into our standard shape so later adds never overflow a smaller range.
  const h = newHistogram();
  h.add(decoded);
  return h;
}

/** Counters and latency histogram of one route, e.g. `GET /api/activities/:uuid`. */
export class RouteStats {
  readonly histogram = newHistogram();
  count = 0;
  errors = 0;
  /** Why requests failed ("HTTP 503", "timeout", "ECONNREFUSED"…), only touched on errors. */
  readonly errorKinds = new Map<string, number>();

  constructor(readonly route: string) {}

  /** Records one finished request; latencyMs is measured from the request's intended send time. */
  record(latencyMs: number, errorKind: string | undefined): void {
    const us = latencyMs <= 0 ? 0 : Math.round(latencyMs * 1000);
    this.histogram.recordValue(us);
    this.count++;
    if (errorKind !== undefined) {
      this.errors++;
      this.errorKinds.set(errorKind, (this.errorKinds.get(errorKind) ?? 0) + 1);
    }
  }
}

/** All routes of one run. */
export class Recorder {
  private readonly routes = new Map<string, RouteStats>();

  route(name: string): RouteStats {
    let stats = this.routes.get(name);
    if (!stats) {
      stats = new RouteStats(name);
      this.routes.set(name, stats);
    }
    return stats;
  }

  /** The routes' histograms added up, for the progress line (every 1 or 5 s): cheaper than recording twice. */
  allRoutes(): Histogram {
    const all = newHistogram();
    for (const r of this.routes.values()) all.add(r.histogram);
    return all;
  }

  routeStats(): RouteStats[] {
    return [...this.routes.values()].filter((r) => r.count > 0);
  }

  totals(): { count: number; errors: number } {
    let count = 0;
    let errors = 0;
    for (const r of this.routes.values()) {
      count += r.count;
      errors += r.errors;
    }
    return { count, errors };
  }
}

export interface LatencySummary {
  count: number;
  errors: number;
  p50_ms: number;
  p90_ms: number;
  p95_ms: number;
  p99_ms: number;
  max_ms: number;
  mean_ms: number;
}

export interface RouteSummary extends LatencySummary {
  errors_by_kind: Record<string, number>;
}

export interface Summary {
  target_rate: number;
  achieved_rate: number;
  duration_s: number;
  requests: number;
  errors: number;
  error_rate: number;
  /** Flows not started because too many were already in flight (the server could not keep up). */
  dropped_flows: number;
  /** How many summaries were merged into this one (1 for a single run, N for an Indexed Job). */
  shards: number;
  histogram_unit: string;
  total: LatencySummary;
  routes: Record<string, RouteSummary>;
  /** Base64 compressed HdrHistograms (microseconds), one per route: merge these, not the percentiles. */
  histograms: Record<string, string>;
  [extra: string]: unknown;
}

const ms = (us: number) => Math.round(us) / 1000;

/**
 * maxUs is the exact largest value: a histogram decoded from its encoding only knows the max's bucket, so
 * summaries carry the exact max separately and merging takes the largest. Percentiles are reported as their
 * bucket's highest equivalent value (within 0.1 %), capped at the max.
 */
function latencySummary(h: Histogram, errors: number, maxUs: number): LatencySummary {
  const at = (p: number) => ms(Math.min(h.getValueAtPercentile(p), maxUs));
  return {
    count: h.totalCount,
    errors,
    p50_ms: at(50),
    p90_ms: at(90),
    p95_ms: at(95),
    p99_ms: at(99),
    max_ms: ms(maxUs),
    mean_ms: Math.round(h.mean) / 1000,
  };
}

interface RouteData {
  histogram: Histogram;
  maxUs: number;
  errors: number;
  errorKinds: Record<string, number>;
}

function buildSummary(
  routeData: Map<string, RouteData>,
  meta: { target_rate: number; duration_s: number; dropped_flows: number; shards: number; achieved_rate?: number },
  extra: Record<string, unknown>,
): Summary {
  const total = newHistogram();
  let errors = 0;
  let maxUs = 0;
  const routes: Record<string, RouteSummary> = {};
  const histograms: Record<string, string> = {};
  for (const name of [...routeData.keys()].sort()) {
    const r = routeData.get(name)!;
    total.add(r.histogram);
    errors += r.errors;
    maxUs = Math.max(maxUs, r.maxUs);
    routes[name] = { ...latencySummary(r.histogram, r.errors, r.maxUs), errors_by_kind: r.errorKinds };
    histograms[name] = encodeHistogram(r.histogram);
  }
  const requests = total.totalCount;
  const achieved = meta.achieved_rate ?? (meta.duration_s > 0 ? requests / meta.duration_s : 0);
  return {
    ...extra,
    target_rate: round3(meta.target_rate),
    achieved_rate: round3(achieved),
    duration_s: round3(meta.duration_s),
    requests,
    errors,
    // Dropped flows count as failures: the generator could not even send them.
    error_rate: requests + meta.dropped_flows > 0 ? round6((errors + meta.dropped_flows) / (requests + meta.dropped_flows)) : 0,
    dropped_flows: meta.dropped_flows,
    shards: meta.shards,
    histogram_unit: HISTOGRAM_UNIT,
    total: latencySummary(total, errors, maxUs),
    routes,
    histograms,
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

export function summarize(
  recorder: Recorder,
  meta: { target_rate: number; duration_s: number; dropped_flows: number },
  extra: Record<string, unknown> = {},
): Summary {
  const data = new Map<string, RouteData>();
  for (const r of recorder.routeStats()) {
    data.set(r.route, { histogram: r.histogram, maxUs: r.histogram.maxValue, errors: r.errors, errorKinds: Object.fromEntries(r.errorKinds) });
  }
  return buildSummary(data, { ...meta, shards: 1 }, extra);
}

/** Thrown for a summary file that is not one of ours; the CLI prints it and exits 2. */
export class SummaryFormatError extends UsageError {}

export function parseSummary(text: string, source: string): Summary {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new SummaryFormatError(`${source}: not JSON (${(err as Error).message})`);
  }
  const s = value as Partial<Summary> | null;
  if (!s || typeof s !== "object" || typeof s.histograms !== "object" || typeof s.routes !== "object") {
    throw new SummaryFormatError(`${source}: not a loadgen summary (needs "routes" and "histograms")`);
  }
  if (s.histogram_unit !== undefined && s.histogram_unit !== HISTOGRAM_UNIT) {
    throw new SummaryFormatError(`${source}: histogram_unit "${s.histogram_unit}" is not "${HISTOGRAM_UNIT}"`);
  }
  return s as Summary;
}

/**
 * Merges summaries of runs that happened side by side (the pods of an Indexed Job): histograms are decoded
 * and added (exact percentiles), counts add up, rates add up, the duration is the longest one.
 */
export function mergeSummaries(summaries: Summary[]): Summary {
  if (summaries.length === 0) throw new SummaryFormatError("nothing to merge");
  const data = new Map<string, RouteData>();
  let target = 0;
  let achieved = 0;
  let duration = 0;
  let dropped = 0;
  let shards = 0;
  for (const s of summaries) {
    target += s.target_rate ?? 0;
    achieved += s.achieved_rate ?? 0;
    duration = Math.max(duration, s.duration_s ?? 0);
    dropped += s.dropped_flows ?? 0;
    shards += s.shards ?? 1;
    for (const [route, encoded] of Object.entries(s.histograms)) {
      let d = data.get(route);
      if (!d) {
        d = { histogram: newHistogram(), maxUs: 0, errors: 0, errorKinds: {} };
        data.set(route, d);
      }
      try {
        d.histogram.add(decodeHistogram(encoded));
      } catch (err) {
        throw new SummaryFormatError(`histogram of "${route}" does not decode: ${(err as Error).message}`);
      }
      const rs = s.routes[route];
      d.maxUs = Math.max(d.maxUs, typeof rs?.max_ms === "number" ? Math.round(rs.max_ms * 1000) : d.histogram.maxValue);
      d.errors += rs?.errors ?? 0;
      for (const [kind, n] of Object.entries(rs?.errors_by_kind ?? {})) d.errorKinds[kind] = (d.errorKinds[kind] ?? 0) + n;
    }
  }
  return buildSummary(data, { target_rate: target, achieved_rate: achieved, duration_s: duration, dropped_flows: dropped, shards }, {});
}

export interface Thresholds {
  maxErrorRate?: number;
  /** route → p99 limit in ms. */
  p99: Map<string, number>;
}

/** One line per breached threshold (empty when all hold). */
export function checkThresholds(summary: Summary, t: Thresholds): string[] {
  const breaches: string[] = [];
  if (t.maxErrorRate !== undefined && summary.error_rate > t.maxErrorRate) {
    breaches.push(
      `threshold breached: error rate ${pct(summary.error_rate)} > max ${pct(t.maxErrorRate)} ` +
        `(${summary.errors} errors, ${summary.dropped_flows} dropped flows, ${summary.requests} requests)`,
    );
  }
  for (const [route, limit] of t.p99) {
    const r = summary.routes[route];
    if (!r) {
      breaches.push(`threshold breached: p99 of "${route}" has no requests (known routes: ${Object.keys(summary.routes).join(", ") || "none"})`);
    } else if (r.p99_ms > limit) {
      breaches.push(`threshold breached: p99 of "${route}" ${r.p99_ms} ms > ${limit} ms (${r.count} requests)`);
    }
  }
  return breaches;
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/** The end-of-run table: one row per route, then the totals and achieved vs target rate. */
export function formatSummary(s: Summary): string {
  const header = ["route", "count", "errors", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "max ms"];
  const row = (name: string, r: LatencySummary) => [
    name,
    String(r.count),
    String(r.errors),
    fmt(r.p50_ms),
    fmt(r.p90_ms),
    fmt(r.p95_ms),
    fmt(r.p99_ms),
    fmt(r.max_ms),
  ];
  const rows = Object.entries(s.routes).map(([name, r]) => row(name, r));
  rows.push(row("all routes", s.total));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(0, -1).map(line)];
  out.push(widths.map((w) => "-".repeat(w)).join("  "), line(rows[rows.length - 1]!));
  const ratio = s.target_rate > 0 ? ` (${((s.achieved_rate / s.target_rate) * 100).toFixed(1)} % of target)` : "";
  out.push(
    "",
    `rate: achieved ${s.achieved_rate.toFixed(1)} req/s vs target ${s.target_rate.toFixed(1)} req/s${ratio} over ${s.duration_s.toFixed(1)} s` +
      (s.shards > 1 ? ` (${s.shards} shards merged)` : ""),
    `errors: ${s.errors} of ${s.requests} requests, ${s.dropped_flows} dropped flows, error rate ${pct(s.error_rate)}`,
  );
  const kinds = new Map<string, number>();
  for (const r of Object.values(s.routes)) for (const [k, n] of Object.entries(r.errors_by_kind ?? {})) kinds.set(k, (kinds.get(k) ?? 0) + n);
  if (kinds.size > 0) out.push(`error kinds: ${[...kinds].map(([k, n]) => `${k} × ${n}`).join(", ")}`);
  return out.join("\n");
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
