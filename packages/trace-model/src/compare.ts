// Lines up the X-Ray graph with the OTLP (Honeycomb) graph edge by edge and says why they differ.
import { percentile, type GraphEdge, type GraphNode, type ServiceGraph } from "./graph.js";

export type MatchCategory = "both" | "renamed" | "only-xray" | "only-otlp";

export interface EdgeComparison {
  category: MatchCategory;
  /** The edge as X-Ray shows it (several X-Ray edges may stand for one OTLP edge, e.g. per-command Redis nodes). */
  xray: GraphEdge[];
  otlp: GraphEdge | null;
  /** Count/latency/failure differences beyond the tolerance that nothing known accounts for. */
  differences: string[];
  /** Differences beyond the tolerance that a known behaviour accounts for exactly: not a problem. */
  explained: ExplainedDifference[];
  /** Likely reasons, in plain words. */
  reasons: string[];
  /** The edge as the Collector's servicegraph connector counted it: only when a servicegraph view was given
   *  (null: the connector has no such edge). */
  servicegraph?: GraphEdge | null;
  /** Request/failure counts where the connector and the OTLP spans (or X-Ray, for an X-Ray-only edge) disagree. */
  servicegraphDifferences?: string[];
}

export interface ExplainedDifference {
  difference: string;
  explanation: string;
}

export interface Comparison {
  tolerance: number;
  xray: ServiceGraph;
  otlp: ServiceGraph;
  edges: EdgeComparison[];
  /** `differing`: edges with unexplained differences; `explained`: edges whose differences are all explained. */
  summary: Record<MatchCategory | "differing" | "explained", number>;
  /** The third view, when given: the servicegraph connector's graph, the edges no row matched, and counts. */
  servicegraph?: {
    graph: ServiceGraph;
    unmatched: GraphEdge[];
    summary: { matched: number; differing: number; unmatched: number };
  };
}

export interface CompareOptions {
  /** Relative tolerance for counts and latencies (0.1 = 10 %). */
  tolerance?: number;
  /** Latency differences below this many milliseconds are ignored whatever the ratio. */
  latencySlackMs?: number;
  /** The Collector's servicegraph connector's view (graphFromServiceGraphMetrics): adds a third column. */
  servicegraph?: ServiceGraph;
}

const edgeKey = (from: string, to: string): string => `${from}\u0000${to}`;

function nodeOf(graph: ServiceGraph, name: string): GraphNode | undefined {
  return graph.nodes.find((n) => n.name === name);
}

function sameCaller(x: GraphEdge, o: GraphEdge): boolean {
  return x.from === o.from || x.callerAliases.includes(o.from);
}

function sameCallee(x: GraphEdge, o: GraphEdge): boolean {
  if (x.to === o.to || o.calleeAliases.includes(x.to) || x.calleeAliases.includes(o.to)) return true;
  return x.calleeAliases.some((a) => o.calleeAliases.includes(a));
}

/** Sums several X-Ray edges that stand for one OTLP edge (percentiles from the pooled samples when known). */
export function combined(edges: GraphEdge[]): GraphEdge {
  if (edges.length === 1) return edges[0];
  const samples = edges.flatMap((e) => e.latencySamplesMs);
  const pooled = samples.length > 0 && edges.every((e) => e.latencySamplesMs.length > 0 || e.calls === 0);
  const busiest = [...edges].sort((a, b) => b.calls - a.calls)[0];
  return {
    ...busiest,
    from: [...new Set(edges.map((e) => e.from))].join(" + "),
    to: [...new Set(edges.map((e) => e.to))].join(" + "),
    p50Ms: pooled ? percentile(samples, 50) : busiest.p50Ms,
    p99Ms: pooled ? percentile(samples, 99) : busiest.p99Ms,
    latencySamplesMs: samples,
    calls: edges.reduce((n, e) => n + e.calls, 0),
    errors: edges.reduce((n, e) => n + e.errors, 0),
    faults: edges.reduce((n, e) => n + e.faults, 0),
    throttles: edges.reduce((n, e) => n + e.throttles, 0),
  };
}

function beyond(a: number, b: number, tolerance: number): boolean {
  const base = Math.max(Math.abs(a), Math.abs(b));
  return base > 0 && Math.abs(a - b) / base > tolerance;
}

function differences(x: GraphEdge, o: GraphEdge, tolerance: number, slackMs: number): string[] {
  const out: string[] = [];
  if (beyond(x.calls, o.calls, tolerance)) out.push(`calls ${x.calls} vs ${o.calls}`);
  const xFail = x.errors + x.faults;
  const oFail = o.errors + o.faults;
  if (xFail !== oFail && beyond(xFail, oFail, tolerance)) out.push(`errors+faults ${xFail} vs ${oFail}`);
  for (const [label, a, b] of [
    ["p50", x.p50Ms, o.p50Ms],
    ["p99", x.p99Ms, o.p99Ms],
  ] as const) {
    if (a === null || b === null) continue;
    if (Math.abs(a - b) > slackMs && beyond(a, b, tolerance)) out.push(`${label} ${a}ms vs ${b}ms`);
  }
  return out;
}

/**
 * Splits differences into explained and unexplained. Known today: the awsxray exporter turns each
 * local-root CONSUMER/CLIENT span into a service segment plus a dependency subsegment, which X-Ray
 * counts as one more call to the remote node lasting the whole span. When X-Ray's extra calls on the
 * edge are exactly those subsegments, the count — and the latencies they pull up — are explained.
 */
function explainDifferences(diffs: string[], x: GraphEdge, o: GraphEdge): { explained: ExplainedDifference[]; unexplained: string[] } {
  const dependencies = x.localRootDependencyCalls;
  if (dependencies === 0 || x.calls - o.calls !== dependencies) return { explained: [], unexplained: diffs };
  const explained: ExplainedDifference[] = [];
  const unexplained: string[] = [];
  for (const difference of diffs) {
    if (difference.startsWith("calls")) {
      explained.push({
        difference,
        explanation:
          `all ${dependencies} extra X-Ray calls are the exporter's dependency subsegments of local-root spans ` +
          `(aws.span.kind=LOCAL_ROOT, e.g. the stream consumer); the OTLP side has no client span for them`,
      });
    } else if (/^p(50|99)/.test(difference)) {
      explained.push({
        difference,
        explanation: `X-Ray's samples include the ${dependencies} dependency subsegments, each as long as its whole local-root span`,
      });
    } else unexplained.push(difference);
  }
  return { explained, unexplained };
}

function differenceReasons(diffs: string[], x: GraphEdge, o: GraphEdge, xray: ServiceGraph, otlp: ServiceGraph): string[] {
  const reasons: string[] = [];
  // X-Ray's extra calls on this edge are exactly the exporter's dependency subsegments: not sampling.
  const extraAreDependencies = x.localRootDependencyCalls > 0 && x.calls - o.calls === x.localRootDependencyCalls;
  if (diffs.some((d) => d.startsWith("calls")) && !extraAreDependencies) {
    reasons.push(
      x.calls < o.calls
        ? `sampling/window: X-Ray saw ${x.calls} of ${o.calls} calls (X-Ray sampling rules or reservoir, spans the exporter ` +
            `dropped, or a different time window: ${xray.traceCount ?? "?"} vs ${otlp.traceCount ?? "?"} traces)`
        : `sampling/window: the OTLP capture has fewer calls (${o.calls} vs ${x.calls}): head sampling before the file ` +
            `exporter, or a shorter capture`,
    );
  }
  if (diffs.some((d) => d.startsWith("errors"))) {
    reasons.push(
      "failure counting: X-Ray splits 4xx (error, 429 throttle) from 5xx/ERROR status (fault); both sides are counted " +
        "that way here, so a gap means different calls were kept",
    );
  }
  const dependency = x.notes.find((n) => n.startsWith("dependency subsegment"));
  if (dependency && diffs.some((d) => /^(calls|p50|p99)/.test(d))) {
    reasons.push(
      `${dependency}; the OTLP side has no client span for it (only the consumer's own commands)` +
        (extraAreDependencies ? ` — that is all ${x.localRootDependencyCalls} extra calls` : ""),
    );
  } else if (diffs.some((d) => d.startsWith("p50") || d.startsWith("p99"))) {
    reasons.push(
      x.notes.some((n) => n.includes("downstream segment")) || x.calleeAliases.length === 0
        ? "latency: measured on different calls (sampling) or on the server side where X-Ray has no client subsegment"
        : "latency: measured on different sets of calls (sampling, window)",
    );
  }
  return reasons;
}

function xrayIsConsumer(xray: ServiceGraph, segmentName: string): boolean {
  return xray.edges.some((e) => e.to === segmentName && e.notes.some((n) => n.includes("CONSUMER") || n.startsWith("async hop")));
}

function namingReasons(xs: GraphEdge[], o: GraphEdge, xray: ServiceGraph): string[] {
  const reasons: string[] = [];
  const renamedCallers = [...new Set(xs.filter((e) => e.from !== o.from).map((e) => e.from))];
  if (renamedCallers.length > 0) {
    const quoted = renamedCallers.map((n) => `"${n}"`).join(", ");
    const asyncHop = o.notes.some((n) => n.startsWith("async hop")) || xs.some((e) => e.notes.some((n) => n.startsWith("async hop")));
    reasons.push(
      `naming: X-Ray segment${renamedCallers.length > 1 ? "s" : ""} ${quoted} ${renamedCallers.length > 1 ? "are" : "is"} ` +
        `service ${o.from} — a segment takes service.name only from a SERVER span; ` +
        `${asyncHop || renamedCallers.some((n) => xrayIsConsumer(xray, n)) ? "a CONSUMER" : "a root (INTERNAL/CLIENT)"} span is named by ` +
        `peer.service, rpc.service… or its span name`,
    );
  }
  const renamedCallees = xs.filter((e) => e.to !== o.to).map((e) => e.to);
  if (renamedCallees.length > 0) {
    const quoted = renamedCallees.map((n) => `"${n}"`).join(", ");
    const consumerSegment = xs.some((e) => nodeOf(xray, e.to)?.serviceName === o.to);
    if (consumerSegment) {
      reasons.push(
        `async hop: X-Ray's node for ${o.to} is the CONSUMER segment ${quoted} (child of the producer subsegment by ` +
          `parent_id; its name comes from the span because CONSUMER spans do not use service.name)`,
      );
    } else if (renamedCallees.some((n) => /\.[A-Za-z0-9]+Service$/.test(n) || o.calleeAliases.includes(n))) {
      reasons.push(
        `naming: X-Ray calls the callee ${quoted}, Honeycomb ${o.to} — the client span lacks peer.service, so the ` +
          `exporter fell back to rpc.service/db.name/http.host/span name`,
      );
    } else {
      reasons.push(`naming: X-Ray calls the callee ${quoted}, Honeycomb ${o.to} (peer.service missing or different)`);
    }
  }
  return reasons;
}

function bothReasons(x: GraphEdge, o: GraphEdge, xray: ServiceGraph, otlp: ServiceGraph): string[] {
  const reasons: string[] = [];
  if (nodeOf(xray, x.to)?.inferred) {
    reasons.push(
      `inferred node: X-Ray draws ${x.to} from the remote subsegments; Honeycomb has no ${x.to} dataset, only client ` +
        `spans carrying ${o.calleeAliases.includes("redis") || x.to === "redis" ? "db.system.name=redis" : "its name"}`,
    );
  }
  const hop = o.notes.find((n) => n.startsWith("async hop"));
  if (hop) reasons.push(`${hop}; X-Ray shows the child edge only (it draws no links)`);
  if (!nodeOf(xray, x.to)?.inferred && nodeOf(otlp, o.to)?.inferred) {
    reasons.push(`${o.to} sends no spans in the OTLP capture; named from the client span's attributes`);
  }
  return reasons;
}

export function compareGraphs(xray: ServiceGraph, otlp: ServiceGraph, options: CompareOptions = {}): Comparison {
  const tolerance = options.tolerance ?? 0.1;
  const slackMs = options.latencySlackMs ?? 1;
  const otlpByKey = new Map(otlp.edges.map((e) => [edgeKey(e.from, e.to), e]));
  const matchedOtlp = new Map<GraphEdge, GraphEdge[]>();
  const exact = new Set<GraphEdge>();
  const unmatchedXray: GraphEdge[] = [];

  for (const x of xray.edges) {
    const o = otlpByKey.get(edgeKey(x.from, x.to));
    if (o) {
      matchedOtlp.set(o, [x]);
      exact.add(o);
    } else unmatchedXray.push(x);
  }
  const onlyXray: GraphEdge[] = [];
  for (const x of unmatchedXray) {
    // Prefer an OTLP edge nobody matched yet; an exactly matched one can still absorb a renamed X-Ray edge
    // (e.g. activities → "zrevrange" next to activities → redis).
    const o =
      otlp.edges.find((c) => !exact.has(c) && sameCaller(x, c) && sameCallee(x, c)) ??
      otlp.edges.find((c) => sameCaller(x, c) && sameCallee(x, c));
    if (o) matchedOtlp.set(o, [...(matchedOtlp.get(o) ?? []), x]);
    else onlyXray.push(x);
  }

  const edges: EdgeComparison[] = [];
  for (const o of otlp.edges) {
    const xs = matchedOtlp.get(o);
    if (!xs) {
      const reasons: string[] = [];
      const hop = o.notes.find((n) => n.startsWith("async hop"));
      if (hop?.includes("link only")) reasons.push(`${hop}: X-Ray draws no span links, so it has no edge`);
      else if (hop) reasons.push(`${hop}: missing in X-Ray — check the consumer span is a child of the producer context`);
      else
        reasons.push(
          "not in the X-Ray data: sampled out by X-Ray sampling rules, dropped by the exporter (translation failure, " +
            "only a debug log), or outside the X-Ray time window",
        );
      edges.push({ category: "only-otlp", xray: [], otlp: o, differences: [], explained: [], reasons });
      continue;
    }
    const x = combined(xs);
    const isExact = exact.has(o) && xs.length === 1;
    const { explained, unexplained: diffs } = explainDifferences(differences(x, o, tolerance, slackMs), x, o);
    const reasons = [
      ...(isExact ? [] : namingReasons(xs, o, xray)),
      ...bothReasons(xs.find((e) => e.to === o.to) ?? x, o, xray, otlp),
      ...differenceReasons(diffs, x, o, xray, otlp),
    ];
    edges.push({ category: isExact ? "both" : "renamed", xray: xs, otlp: o, differences: diffs, explained, reasons });
  }
  for (const x of onlyXray) {
    const node = nodeOf(xray, x.to);
    const reasons = node?.inferred
      ? [
          `inferred node: X-Ray draws "${x.to}" from a remote subsegment with no segment of its own; no OTLP client span ` +
            `names it (peer.service/db.system.name/rpc.service)`,
        ]
      : ["not in the OTLP capture: the file exporter saw other traffic (window, head sampling) or the spans were dropped"];
    edges.push({ category: "only-xray", xray: [x], otlp: null, differences: [], explained: [], reasons });
  }
  const order: MatchCategory[] = ["both", "renamed", "only-xray", "only-otlp"];
  edges.sort((a, b) => {
    const ea = a.otlp ?? a.xray[0];
    const eb = b.otlp ?? b.xray[0];
    return order.indexOf(a.category) - order.indexOf(b.category) || ea.from.localeCompare(eb.from) || ea.to.localeCompare(eb.to);
  });
  const count = (c: MatchCategory): number => edges.filter((e) => e.category === c).length;
  return {
    tolerance,
    xray,
    otlp,
    edges,
    ...(options.servicegraph ? { servicegraph: alignServiceGraph(edges, options.servicegraph, tolerance) } : {}),
    summary: {
      both: count("both"),
      renamed: count("renamed"),
      "only-xray": count("only-xray"),
      "only-otlp": count("only-otlp"),
      differing: edges.filter((e) => e.differences.length > 0).length,
      explained: edges.filter((e) => e.explained.length > 0 && e.differences.length === 0).length,
    },
  };
}

/**
 * Puts the connector's edge next to each row: matched to the OTLP edge by caller and callee (or one of their
 * aliases: the connector names a Redis node by db.system.name, an unanswered call by peer.service), else to
 * the X-Ray edge. Only counts are compared: its latencies are bucket estimates, not samples.
 */
function alignServiceGraph(rows: EdgeComparison[], graph: ServiceGraph, tolerance: number): NonNullable<Comparison["servicegraph"]> {
  const free = new Set(graph.edges);
  const matches = (s: GraphEdge, e: GraphEdge) =>
    (s.from === e.from || e.callerAliases.includes(s.from)) && (s.to === e.to || e.calleeAliases.includes(s.to));
  // Exact names first, so an alias never takes the edge another row names exactly.
  for (const exact of [true, false]) {
    for (const row of rows) {
      if (row.servicegraph) continue;
      const reference = row.otlp ?? combined(row.xray);
      const found = [...free].find((s) =>
        exact ? s.from === reference.from && s.to === reference.to : matches(s, reference) || row.xray.some((x) => matches(s, x)),
      );
      if (found) {
        free.delete(found);
        row.servicegraph = found;
      } else if (!exact) {
        row.servicegraph = null;
      }
    }
  }
  let differing = 0;
  for (const row of rows) {
    const reference = row.otlp ?? combined(row.xray);
    const s = row.servicegraph;
    const diffs: string[] = [];
    if (s) {
      if (beyond(s.calls, reference.calls, tolerance)) diffs.push(`connector requests ${s.calls} vs ${reference.calls} calls`);
      // The connector's "failed" is a span with status ERROR; X-Ray's errors/faults come from HTTP statuses first.
      const failures = reference.statusErrors ?? reference.errors + reference.faults;
      const label = reference.statusErrors === undefined ? "errors+faults" : "calls with an ERROR span";
      if (s.faults !== failures && beyond(s.faults, failures, tolerance)) diffs.push(`connector failed ${s.faults} vs ${failures} ${label}`);
    }
    row.servicegraphDifferences = diffs;
    if (diffs.length > 0) differing += 1;
  }
  const unmatched = [...free];
  return { graph, unmatched, summary: { matched: rows.filter((r) => r.servicegraph).length, differing, unmatched: unmatched.length } };
}
