// `tracemesh verify`: asserts, from what the Collector exported and what Honeycomb and X-Ray received, that the mesh
// told one story — each flow one trace across api → activities → users → notifications (the stream hop included),
// error traces (4xx and 5xx roots) whole too, judged on the spans Honeycomb received; Kubernetes attributes on the
// OpenTelemetry services' spans; the X-Ray map with the same nodes and edges as Honeycomb's, no inferred node but
// the mesh's dependencies, and every judged trace's segments in X-Ray; Honeycomb having received every span of
// every judged trace; with --browser, the web app's spans joined to api's. CI runs it as a Job on the cluster after the load (deploy/k8s/overlays/ci/verify); its exit
// status is the verdict.
import { compareGraphs, graphFromSpans, renderTable, xrayTraceId, type ServiceGraph, type Span, type XraySegment } from "@tracemesh/trace-model";
import { browserChecks, isBrowserSpan, pageLoadEdges } from "./verify-web.js";

export interface VerifyCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** The edges the mesh always draws under loadgen's traffic (README's architecture). */
export const MESH_EDGES: ReadonlyArray<readonly [string, string]> = [
  ["loadgen", "api"],
  ["api", "users"],
  ["api", "activities"],
  ["api", "notifications"],
  ["activities", "users"],
  ["activities", "moderation"],
  ["activities", "redis"],
  ["activities", "notifications"],
  ["notifications", "redis"],
];

/** The nodes X-Ray may infer (from client subsegments with no segment behind them): the mesh's dependencies. */
export const INFERRED_DEPENDENCIES: ReadonlySet<string> = new Set(["redis"]);

interface Flow {
  name: string;
  method: string;
  route: string;
  /** Services every trace of the flow must hold besides api. */
  services: string[];
  /**
   * The Redis Stream hop: every event activities published (a PRODUCER span with `messaging.message.id`) is
   * consumed in the same trace by notifications, as a child. "always": every trace of the flow publishes one (a
   * post); "when published": only some do (liking twice or replying adds no event the second time).
   */
  streamHop: "always" | "when published" | "none";
}

/** loadgen's flows (services/loadgen/src/scenario.ts), as api's server spans name them. */
export const FLOWS: readonly Flow[] = [
  { name: "post", method: "POST", route: "/api/activities", services: ["users", "activities", "moderation"], streamHop: "always" },
  { name: "reply", method: "POST", route: "/api/activities/:uuid/replies", services: ["users", "activities"], streamHop: "when published" },
  { name: "like", method: "POST", route: "/api/activities/:uuid/likes", services: ["users", "activities"], streamHop: "when published" },
  { name: "home feed", method: "GET", route: "/api/activities/home", services: ["activities"], streamHop: "none" },
  { name: "notifications", method: "GET", route: "/api/notifications", services: ["users", "notifications"], streamHop: "none" },
];

export interface VerifyInput {
  /** Every span the Collector exported (its file exporter): which traces there are to judge. */
  spans: readonly Span[];
  /** The X-Ray service graph from the segments the X-Ray API received. */
  xray: ServiceGraph;
  /** The segment documents the X-Ray API received, when known: every judged trace must have one per span. */
  xraySegments?: readonly XraySegment[];
  /**
   * The spans Honeycomb accepted (the stand-in keeps them), when known: the flows and the map are judged on them,
   * and every span of every judged trace must be among them.
   */
  honeycombSpans?: readonly Span[];
  /** Trace ids Honeycomb accepted, when only those are known (an older stand-in's record). */
  honeycombTraceIds?: ReadonlySet<string>;
  /** The servicegraph connector's edges ("client → server") in the RED metrics Honeycomb accepted, when known. */
  honeycombMetricEdges?: ReadonlySet<string>;
  /** Where the pods run: every OpenTelemetry span must say so. */
  kubernetes?: { namespace: string; node: string };
  /** The web app was used in a browser: its spans must be joined to api's (verify-web.ts). */
  browser?: boolean;
  /** Traces whose root started this close to the end of the capture may still be arriving: not judged. */
  graceMs?: number;
  tolerance?: number;
}

const toMs = (ns: bigint): number => Number(ns / 1_000_000n);

function statusOf(span: Span): number {
  return Number(span.attributes["http.response.status_code"] ?? span.attributes["http.status_code"] ?? 0);
}

function methodOf(span: Span): string {
  return String(span.attributes["http.request.method"] ?? span.attributes["http.method"] ?? "");
}

/** The ids of every (sub)segment document per X-Ray trace id, embedded subsegments under their segment's trace. */
function documentIdsByTrace(docs: readonly XraySegment[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const visit = (d: XraySegment, traceId: string): void => {
    const ids = out.get(traceId) ?? new Set<string>();
    if (d.id) ids.add(d.id);
    out.set(traceId, ids);
    for (const sub of d.subsegments ?? []) visit(sub, sub.trace_id ?? traceId);
  };
  for (const d of docs) visit(d, d.trace_id ?? "");
  return out;
}

function groupByTrace(spans: readonly Span[]): Map<string, Span[]> {
  const byTrace = new Map<string, Span[]>();
  for (const span of spans) {
    const list = byTrace.get(span.traceId);
    if (list) list.push(span);
    else byTrace.set(span.traceId, [span]);
  }
  return byTrace;
}

/** Runs every check; the verdict is that all are ok. */
export function verifyExports(input: VerifyInput): VerifyCheck[] {
  const checks: VerifyCheck[] = [];
  const graceMs = input.graceMs ?? 10_000;
  // What Honeycomb received when it is known, else what the Collector exported (which it sends to Honeycomb).
  const intake = input.honeycombSpans ?? input.spans;
  const intakeName = input.honeycombSpans ? "Honeycomb" : "OTLP";
  const exportedByTrace = groupByTrace(input.spans);
  const byTrace = input.honeycombSpans ? groupByTrace(input.honeycombSpans) : exportedByTrace;
  const captureEnd = Math.max(0, ...input.spans.map((s) => toMs(s.endNs)));
  const judged: string[] = [];

  for (const flow of FLOWS) {
    const roots = input.spans.filter(
      (s) => s.serviceName === "api" && s.kind === "SERVER" && s.attributes["http.route"] === flow.route && methodOf(s) === flow.method,
    );
    // Every root, error traces (4xx, 5xx) included; only those still arriving are left out.
    const settled = roots.filter((s) => toMs(s.startNs) < captureEnd - graceMs);
    const errors = settled.filter((s) => statusOf(s) >= 400).length;
    const problems: string[] = [];
    let hops = 0;
    for (const root of settled) {
      const trace = byTrace.get(root.traceId) ?? [];
      const ids = new Set(trace.map((s) => s.spanId));
      const failed = statusOf(root) >= 400;
      if (!ids.has(root.spanId)) problems.push(`${root.traceId}: ${intakeName} has no api span of it`);
      // An error trace stops where it failed: the services it reached are not fixed. A whole trace reaches all.
      const services = new Set(trace.map((s) => s.serviceName));
      const missing = failed ? [] : flow.services.filter((s) => !services.has(s));
      if (missing.length > 0) problems.push(`${root.traceId}: no ${missing.join(", ")}`);
      // One trace, no broken links: every parent is in it, and only the top span has none.
      const orphans = trace.filter((s) => s.parentSpanId !== "" && !ids.has(s.parentSpanId));
      if (orphans.length > 0) problems.push(`${root.traceId}: ${orphans.length} span(s) whose parent is not in the trace (${orphans[0]!.serviceName} ${orphans[0]!.name})`);
      if (flow.streamHop !== "none" && !failed) {
        const published = trace.filter((s) => s.kind === "PRODUCER" && s.serviceName === "activities" && s.attributes["messaging.message.id"] !== undefined);
        if (published.length === 0 && flow.streamHop === "always") problems.push(`${root.traceId}: activities published no event`);
        for (const producer of published) {
          if (trace.some((s) => s.kind === "CONSUMER" && s.serviceName === "notifications" && s.parentSpanId === producer.spanId)) hops++;
          else problems.push(`${root.traceId}: event ${String(producer.attributes["messaging.message.id"])} has no notifications CONSUMER continuing activities' PRODUCER`);
        }
      }
      judged.push(root.traceId);
    }
    if (flow.streamHop !== "none" && settled.length - errors > 0 && hops === 0) problems.push("no trace of the flow crossed the stream");
    const hopText = flow.streamHop === "none" ? "" : `, ${hops} stream hops`;
    const errorText = errors > 0 ? ` (${errors} error traces)` : "";
    checks.push({
      name: `${flow.name} (${flow.method} ${flow.route}) is one trace: api → ${flow.services.join(", ")}${flow.streamHop === "none" ? "" : ` → stream → notifications (${flow.streamHop})`}`,
      ok: settled.length > 0 && problems.length === 0,
      detail:
        settled.length === 0
          ? `no settled ${flow.method} ${flow.route} trace in the export (${roots.length} in total)`
          : problems.length === 0
            ? `${settled.length} traces${errorText}, all whole in ${intakeName}${hopText}`
            : `${problems.length} problem(s) in ${settled.length} traces${errorText}; first: ${problems.slice(0, 3).join("; ")}`,
    });
  }

  if (input.kubernetes) {
    const { namespace, node } = input.kubernetes;
    // moderation on the X-Ray SDK (MODERATION_TRACING=xray-sdk, the default) sends segments over UDP with no pod
    // resource: only OpenTelemetry spans are judged (with MODERATION_TRACING=otel, moderation's too); neither are
    // the browser's spans (frontend-web), made outside the cluster.
    const otel = intake.filter((s) => s.resource["telemetry.sdk.name"] === "opentelemetry" && !isBrowserSpan(s));
    const wrong: string[] = [];
    for (const s of otel) {
      const r = s.resource;
      const problems = [
        r["k8s.namespace.name"] === namespace ? "" : `k8s.namespace.name=${String(r["k8s.namespace.name"])}`,
        r["k8s.node.name"] === node ? "" : `k8s.node.name=${String(r["k8s.node.name"])}`,
        String(r["k8s.pod.name"] ?? "").startsWith(`${s.serviceName}-`) ? "" : `k8s.pod.name=${String(r["k8s.pod.name"])}`,
        // Added by the Collector's k8sattributes processor (the pod looked up by its address).
        /^[0-9a-f-]{36}$/.test(String(r["k8s.pod.uid"] ?? "")) ? "" : "no k8s.pod.uid",
        r["k8s.pod.start_time"] ? "" : "no k8s.pod.start_time",
        s.serviceName === "loadgen" || r["k8s.deployment.name"] === s.serviceName ? "" : `k8s.deployment.name=${String(r["k8s.deployment.name"])}`,
      ].filter(Boolean);
      if (problems.length > 0) wrong.push(`${s.serviceName} ${s.name}: ${problems.join(", ")}`);
    }
    const services = [...new Set(otel.map((s) => s.serviceName))].sort();
    checks.push({
      name: "Kubernetes attributes on every OpenTelemetry span (downward API + k8sattributes)",
      ok: otel.length > 0 && wrong.length === 0,
      detail: wrong.length === 0 ? `${otel.length} spans of ${services.join(", ")}` : `${wrong.length} of ${otel.length} spans lack them; first: ${wrong.slice(0, 3).join("; ")}`,
    });
  }

  const comparison = compareGraphs(input.xray, graphFromSpans(intake), { tolerance: input.tolerance });
  const inBoth = (from: string, to: string) =>
    comparison.edges.some((e) => e.otlp?.from === from && e.otlp.to === to && e.xray.some((x) => x.from === from && x.to === to));
  const xrayProblems = MESH_EDGES.filter(([from, to]) => !inBoth(from, to)).map(([from, to]) => `missing: ${from} → ${to}`);
  // A node X-Ray inferred from a client subsegment nothing answered: a span named after its operation (`GET`) or
  // a host instead of the service it called. Only the mesh's own dependencies may be inferred.
  const stray = input.xray.nodes.filter((n) => n.inferred && !INFERRED_DEPENDENCIES.has(n.name)).map((n) => n.name);
  if (stray.length > 0) xrayProblems.push(`inferred node(s) that are no mesh dependency: ${stray.join(", ")}`);
  // Per trace, not as an aggregate: every span of every judged trace has its X-Ray document (segment or subsegment).
  let segmentsChecked = "";
  if (input.xraySegments) {
    const documents = documentIdsByTrace(input.xraySegments);
    const lacking: string[] = [];
    let spansChecked = 0;
    for (const traceId of judged) {
      const docs = documents.get(xrayTraceId(traceId)) ?? new Set<string>();
      const spans = exportedByTrace.get(traceId) ?? [];
      spansChecked += spans.length;
      const without = spans.filter((s) => !docs.has(s.spanId));
      if (without.length > 0) lacking.push(`${xrayTraceId(traceId)}: ${without.length} of ${spans.length} spans (${without[0]!.serviceName} ${without[0]!.name})`);
    }
    if (lacking.length > 0) xrayProblems.push(`${lacking.length} of ${judged.length} judged traces lack segments; first: ${lacking.slice(0, 3).join("; ")}`);
    segmentsChecked = `; ${judged.length} judged traces, each with a document per span (${spansChecked})`;
  }
  checks.push({
    name: `the X-Ray map has every edge of the mesh, named as in ${intakeName}'s, no inferred node but ${[...INFERRED_DEPENDENCIES].join(", ")}${input.xraySegments ? "; every judged trace has its segments" : ""}`,
    ok: xrayProblems.length === 0 && (!input.xraySegments || judged.length > 0),
    detail: xrayProblems.length === 0 ? `${MESH_EDGES.length} edges in both${segmentsChecked}` : xrayProblems.join("; "),
  });
  const pageLoads = input.browser ? pageLoadEdges(comparison, intake) : [];
  const onlyOne = comparison.summary["only-xray"] + comparison.summary["only-otlp"] - pageLoads.length;
  checks.push({
    name: `X-Ray and ${intakeName} agree edge by edge (tracemesh compare, tolerance ${comparison.tolerance})`,
    ok: onlyOne === 0 && comparison.summary.differing === 0,
    detail:
      `${comparison.summary.both} same, ${comparison.summary.renamed} renamed, ${comparison.summary.explained} explained, ` +
      `${comparison.summary.differing} differing, ${comparison.summary["only-xray"]} only in X-Ray, ${comparison.summary["only-otlp"]} only in ${intakeName}` +
      (pageLoads.length > 0 ? ` (of which a page load continuing the server's span, X-Ray only: ${pageLoads.join(", ")})` : ""),
  });

  if (input.browser) checks.push(...browserChecks(intake));

  if (input.honeycombSpans) {
    // Span by span: everything the Collector exported for a judged trace reached Honeycomb.
    const received = new Set(input.honeycombSpans.map((s) => `${s.traceId}/${s.spanId}`));
    let total = 0;
    const lost: string[] = [];
    for (const traceId of judged) {
      const spans = exportedByTrace.get(traceId) ?? [];
      total += spans.length;
      const missing = spans.filter((s) => !received.has(`${s.traceId}/${s.spanId}`));
      if (missing.length > 0) lost.push(`${traceId}: ${missing.length} of ${spans.length} (${missing[0]!.serviceName} ${missing[0]!.name})`);
    }
    checks.push({
      name: "Honeycomb received every span of every trace checked",
      ok: judged.length > 0 && lost.length === 0,
      detail: lost.length === 0 ? `${total} spans of ${judged.length} traces` : `${lost.length} of ${judged.length} traces incomplete; first: ${lost.slice(0, 3).join("; ")}`,
    });
  } else if (input.honeycombTraceIds) {
    const seen = input.honeycombTraceIds;
    const lost = judged.filter((id) => !seen.has(id));
    checks.push({
      name: "Honeycomb received every trace checked",
      ok: judged.length > 0 && lost.length === 0,
      detail: lost.length === 0 ? `${judged.length} of ${judged.length}` : `${lost.length} of ${judged.length} never reached it; first: ${lost.slice(0, 3).join(", ")}`,
    });
  }
  if (input.honeycombMetricEdges) {
    const missing = MESH_EDGES.map(([from, to]) => `${from} → ${to}`).filter((e) => !input.honeycombMetricEdges!.has(e));
    checks.push({
      name: "Honeycomb received RED metrics for every edge of the mesh (the Collector's servicegraph connector)",
      ok: missing.length === 0,
      detail: missing.length === 0 ? `${MESH_EDGES.length} edges of ${input.honeycombMetricEdges.size} in the metrics` : `missing: ${missing.join(", ")}`,
    });
  }
  return checks;
}

/** The checks as a table, then the compare table for the record. */
export function renderVerdict(checks: readonly VerifyCheck[], input: VerifyInput): string {
  const lines = checks.map((c) => `${c.ok ? "PASS" : "FAIL"}  ${c.name}\n      ${c.detail}`);
  const failed = checks.filter((c) => !c.ok).length;
  return [
    ...lines,
    "",
    failed === 0 ? `verdict: PASS (${checks.length} checks)` : `verdict: FAIL (${failed} of ${checks.length} checks failed)`,
    "",
    renderTable(compareGraphs(input.xray, graphFromSpans(input.honeycombSpans ?? input.spans), { tolerance: input.tolerance })),
  ].join("\n");
}
