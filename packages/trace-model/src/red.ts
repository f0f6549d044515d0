// RED metrics (rate, errors, duration) as the Collector's connectors compute them from the spans, read from its
// Prometheus endpoint: the servicegraph connector's edges become a third ServiceGraph next to X-Ray's and the
// OTLP spans', and the spanmetrics connector's series a table per service and operation.
//
// The Prometheus text format is parsed here (about forty lines): the JavaScript Prometheus libraries produce
// it (prom-client) or parse PromQL, none reads an exposition, and we need only samples and their labels.
import { round, type GraphEdge, type GraphNode, type ServiceGraph } from "./graph.js";

/** One sample of the exposition: `name{labels} value`. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** The samples of a Prometheus text exposition (version 0.0.4); comments and blank lines are skipped. */
export function parsePrometheusText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1} is not a Prometheus sample: ${line.slice(0, 120)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1]!] = unescapeLabel(l[2]!);
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return samples;
}

const seriesKey = (s: PromSample): string =>
  s.name + "\u0000" + Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join("\u0000");

/**
 * What happened between two scrapes of cumulative counters and histograms: `after − before` per series (a series
 * new in `after` counts whole). That is the RED of a time window, as Prometheus' increase() would give it.
 */
export function samplesBetween(before: readonly PromSample[], after: readonly PromSample[]): PromSample[] {
  const earlier = new Map(before.map((s) => [seriesKey(s), s.value]));
  return after.map((s) => ({ ...s, value: s.value - (earlier.get(seriesKey(s)) ?? 0) }));
}

/**
 * The q-quantile (0..1) of a histogram given as cumulative buckets, interpolated linearly inside the bucket it
 * falls in, as Prometheus' histogram_quantile() does; null when the histogram is empty. In milliseconds.
 */
export function histogramQuantileMs(buckets: ReadonlyArray<{ le: number; count: number }>, q: number): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerLe = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      // In the +Inf bucket nothing can be interpolated: the largest finite bound is the answer.
      if (!Number.isFinite(b.le)) return round(lowerLe * 1000);
      const inBucket = b.count - lowerCount;
      const fraction = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return round((lowerLe + (b.le - lowerLe) * fraction) * 1000);
    }
    lowerLe = b.le;
    lowerCount = b.count;
  }
  return round(lowerLe * 1000);
}

/** Sums the `_bucket` series of one histogram by `le` over every other label that `match` accepts; `le` in
 *  seconds (a histogram in milliseconds is given `perSecond` 1000). */
function bucketsOf(samples: readonly PromSample[], name: string, match: (labels: Record<string, string>) => boolean, perSecond = 1): Array<{ le: number; count: number }> {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !match(s.labels)) continue;
    const le = parseValue(s.labels.le ?? "+Inf") / perSecond;
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count }));
}

const sum = (samples: readonly PromSample[], name: string, match: (labels: Record<string, string>) => boolean): number =>
  samples.filter((s) => s.name === name && match(s.labels)).reduce((n, s) => n + s.value, 0);

/** The servicegraph connector's metric names (Prometheus form, seconds histograms). */
export const SERVICE_GRAPH_METRICS = {
  requests: "traces_service_graph_request_total",
  failed: "traces_service_graph_request_failed_total",
  serverSeconds: "traces_service_graph_request_server_seconds",
  clientSeconds: "traces_service_graph_request_client_seconds",
} as const;

/** The spanmetrics connector's metric names (its default namespace traces.span.metrics, Prometheus form; the
 *  duration histogram in seconds as our config sets it, or in the connector's default milliseconds). */
export const SPAN_METRICS = {
  calls: "traces_span_metrics_calls_total",
  durationSeconds: "traces_span_metrics_duration_seconds",
  durationMilliseconds: "traces_span_metrics_duration_milliseconds",
} as const;

/**
 * The service graph the servicegraph connector saw: one edge per client → server pair (its `connection_type`
 * says how: "" a call answered by a server span, messaging_system a producer/consumer pair, database a Redis
 * command, virtual_node a client span nobody answered within the store's ttl). Latency is the server side's
 * (p50/p99 estimated from the histogram); `failed` requests (either span with status ERROR) count as faults
 * and as statusErrors (the connector does not split 4xx from 5xx, and a 4xx whose spans are not ERROR is no
 * failure to it).
 */
export function graphFromServiceGraphMetrics(samples: readonly PromSample[]): ServiceGraph {
  // Requests per edge and connection type: one edge may mix answered calls and unanswered ones (virtual_node).
  const edges = new Map<string, { from: string; to: string; types: Map<string, number> }>();
  for (const s of samples) {
    if (s.name !== SERVICE_GRAPH_METRICS.requests) continue;
    const { client = "", server = "", connection_type: type = "" } = s.labels;
    if (!client || !server) continue;
    const key = `${client}\u0000${server}`;
    const edge = edges.get(key) ?? { from: client, to: server, types: new Map<string, number>() };
    edge.types.set(type, (edge.types.get(type) ?? 0) + s.value);
    edges.set(key, edge);
  }
  const nodes = new Map<string, GraphNode>();
  const graphEdges: GraphEdge[] = [];
  for (const { from, to, types } of edges.values()) {
    const match = (l: Record<string, string>) => l.client === from && l.server === to;
    const calls = sum(samples, SERVICE_GRAPH_METRICS.requests, match);
    if (calls <= 0) continue;
    const unanswered = types.get("virtual_node") ?? 0;
    const answered = [...types].filter(([t, n]) => t !== "virtual_node" && n > 0).sort((a, b) => b[1] - a[1]);
    const type = answered[0]?.[0] ?? (unanswered > 0 ? "virtual_node" : "");
    const notes = type ? [`connection_type ${type}`] : [];
    if (unanswered > 0 && answered.length > 0) notes.push(`${unanswered} requests no server span answered within the store's ttl (virtual node)`);
    const failed = sum(samples, SERVICE_GRAPH_METRICS.failed, match);
    const buckets = bucketsOf(samples, SERVICE_GRAPH_METRICS.serverSeconds, match);
    graphEdges.push({
      from,
      to,
      calls,
      errors: 0,
      faults: failed,
      throttles: 0,
      statusErrors: failed,
      localRootDependencyCalls: 0,
      p50Ms: histogramQuantileMs(buckets, 0.5),
      p99Ms: histogramQuantileMs(buckets, 0.99),
      latencySamplesMs: [],
      calleeAliases: [],
      callerAliases: [],
      notes,
    });
    if (!nodes.has(from)) nodes.set(from, { name: from, inferred: false });
    const inferred = type === "database" || type === "virtual_node";
    const existing = nodes.get(to);
    if (!existing) nodes.set(to, { name: to, inferred });
    else if (!inferred) existing.inferred = false;
  }
  graphEdges.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  return { source: "servicegraph", nodes: [...nodes.values()].sort((a, b) => a.name.localeCompare(b.name)), edges: graphEdges, traceCount: null };
}

/** RED of one operation as the spanmetrics connector counted it. */
export interface OperationRed {
  service: string;
  operation: string;
  /** SERVER, CLIENT, PRODUCER, CONSUMER or INTERNAL. */
  kind: string;
  calls: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** RED per service, span name and kind from the spanmetrics connector's series (statuses and faults summed). */
export function redFromSpanMetrics(samples: readonly PromSample[]): OperationRed[] {
  const ops = new Map<string, { service: string; operation: string; kind: string }>();
  for (const s of samples) {
    if (s.name !== SPAN_METRICS.calls) continue;
    const service = s.labels.service_name ?? s.labels.job ?? "";
    const operation = s.labels.span_name ?? "";
    const kind = (s.labels.span_kind ?? "").replace(/^SPAN_KIND_/, "");
    ops.set(`${service}\u0000${operation}\u0000${kind}`, { service, operation, kind });
  }
  const rows: OperationRed[] = [];
  for (const op of ops.values()) {
    const match = (l: Record<string, string>) =>
      (l.service_name ?? l.job ?? "") === op.service && (l.span_name ?? "") === op.operation && (l.span_kind ?? "").replace(/^SPAN_KIND_/, "") === op.kind;
    const calls = sum(samples, SPAN_METRICS.calls, match);
    if (calls <= 0) continue;
    const seconds = bucketsOf(samples, SPAN_METRICS.durationSeconds, match);
    const buckets = seconds.length > 0 ? seconds : bucketsOf(samples, SPAN_METRICS.durationMilliseconds, match, 1000);
    rows.push({
      ...op,
      calls,
      errors: sum(samples, SPAN_METRICS.calls, (l) => match(l) && l.status_code === "STATUS_CODE_ERROR"),
      p50Ms: histogramQuantileMs(buckets, 0.5),
      p99Ms: histogramQuantileMs(buckets, 0.99),
    });
  }
  return rows.sort((a, b) => a.service.localeCompare(b.service) || a.kind.localeCompare(b.kind) || a.operation.localeCompare(b.operation));
}

/** The RED table's kind column: how the connector paired the edge's requests (call, messaging, database). */
function kindOf(e: GraphEdge): string {
  const type = (e.notes.find((n) => n.startsWith("connection_type ")) ?? "").slice("connection_type ".length);
  const label = type === "" ? "call" : type === "messaging_system" ? "messaging" : type === "virtual_node" ? "unanswered" : type;
  const unanswered = /^(\d+) requests no server span answered/.exec(e.notes.find((n) => n.includes("no server span answered")) ?? "")?.[1];
  return unanswered ? `${label} (+${unanswered} unanswered)` : label;
}

/**
 * The RED table per edge: requests, their rate over `windowSeconds` (when given), failures with their share,
 * and the server-side p50/p99 (estimated within the connector's histogram buckets).
 */
export function renderRedTable(graph: ServiceGraph, windowSeconds?: number): string {
  const ms = (v: number | null) => (v === null ? "-" : v < 10 ? v.toFixed(2) : v.toFixed(1));
  const rows = graph.edges.map((e) => [
    `${e.from} → ${e.to}`,
    String(e.calls),
    windowSeconds && windowSeconds > 0 ? (e.calls / windowSeconds).toFixed(1) : "-",
    `${e.faults} (${e.calls > 0 ? ((100 * e.faults) / e.calls).toFixed(1) : "0.0"} %)`,
    ms(e.p50Ms),
    ms(e.p99Ms),
    kindOf(e),
  ]);
  const head = ["edge (client → server)", "requests", "req/s", "failed", "p50 ms", "p99 ms", "kind"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => "  " + r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ").trimEnd();
  return [line(head), "  " + w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n") + "\n";
}
