// tracemesh verify judges what the Collector exported: each check must fail when its story breaks (a hop
// missing, a parent lost, a pod attribute absent, an edge only one backend drew, a trace Honeycomb never got).
import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { graphFromXrayFiles, graphFromXraySegments, segmentDocumentsFromFiles, xrayTraceId, type Span, type XraySegment } from "@tracemesh/trace-model";
import { spansFromOtlpFiles } from "@tracemesh/trace-model";
import { MESH_EDGES, verifyExports, type VerifyCheck, type VerifyInput } from "../src/verify.js";

// The trace formats' fixtures live with the trace model (packages/trace-model/test/fixtures).
const FIXTURES = path.join(path.dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");
const spans = (): Span[] => spansFromOtlpFiles([path.join(FIXTURES, "otlp.jsonl")]);
const xray = graphFromXrayFiles([path.join(FIXTURES, "xray-segments.jsonl")]);

function check(checks: VerifyCheck[], prefix: string): VerifyCheck {
  const found = checks.find((c) => c.name.startsWith(prefix));
  assert.ok(found, `a check named "${prefix}…" in ${checks.map((c) => c.name).join(" | ")}`);
  return found;
}

const run = (overrides: Partial<VerifyInput> = {}): VerifyCheck[] => verifyExports({ spans: spans(), xray, graceMs: 0, ...overrides });

describe("tracemesh verify", () => {
  test("a whole flow passes; a flow with no trace in the capture fails, saying so", () => {
    const checks = run();
    assert.equal(check(checks, "home feed").ok, true, check(checks, "home feed").detail);
    assert.match(check(checks, "home feed").detail, /^3 traces, all whole in OTLP$/);
    const reply = check(checks, "reply");
    assert.equal(reply.ok, false);
    assert.match(reply.detail, /no settled POST \/api\/activities\/:uuid\/replies trace/);
  });

  test("a service missing from the trace fails the flow (the fixture's post never asked moderation)", () => {
    const post = check(run(), "post");
    assert.equal(post.ok, false);
    assert.match(post.detail, /no moderation/);
  });

  test("the stream hop: a published event with no consumer in the trace fails the flow; a post that published none too", () => {
    const withModeration = (list: Span[]) => {
      const post = list.find((s) => s.serviceName === "api" && s.attributes["http.route"] === "/api/activities" && s.kind === "SERVER")!;
      return [...list, { ...post, spanId: "bbbbbbbbbbbb0001", parentSpanId: post.spanId, serviceName: "moderation", kind: "SERVER" as const, name: "moderation" }];
    };
    const whole = check(run({ spans: withModeration(spans()) }), "post");
    assert.equal(whole.ok, true, whole.detail);
    assert.match(whole.detail, /^1 traces, all whole in OTLP, 1 stream hops$/);
    const noConsumer = check(run({ spans: withModeration(spans().filter((s) => s.kind !== "CONSUMER")) }), "post");
    assert.equal(noConsumer.ok, false);
    assert.match(noConsumer.detail, /event \S+ has no notifications CONSUMER continuing activities' PRODUCER/);
    const withoutId = (s: Span): Span => ({ ...s, attributes: Object.fromEntries(Object.entries(s.attributes).filter(([k]) => k !== "messaging.message.id")) });
    const unpublished = withModeration(spans().map((s) => (s.kind === "PRODUCER" ? withoutId(s) : s)));
    assert.match(check(run({ spans: unpublished }), "post").detail, /activities published no event/);
  });

  test("a span whose parent is not in the trace breaks it", () => {
    const broken = spans().map((s) => (s.serviceName === "activities" && s.kind === "SERVER" ? { ...s, parentSpanId: "ffffffffffffffff" } : s));
    const home = check(run({ spans: broken }), "home feed");
    assert.equal(home.ok, false);
    assert.match(home.detail, /whose parent is not in the trace \(activities /);
  });

  test("traces that started within the grace period are not judged", () => {
    const home = check(run({ graceMs: 3_600_000 }), "home feed");
    assert.equal(home.ok, false);
    assert.match(home.detail, /no settled GET \/api\/activities\/home trace in the export \(3 in total\)/);
  });

  test("Kubernetes attributes: required on every OpenTelemetry span, named where they lack", () => {
    const kubernetes = { namespace: "tracemesh", node: "node-1" };
    assert.match(check(run({ kubernetes }), "Kubernetes").detail, /lack them; first: .*k8s\.namespace\.name=undefined/);
    const withPods = spans().map((s) => ({
      ...s,
      resource: {
        ...s.resource,
        "k8s.namespace.name": "tracemesh",
        "k8s.node.name": "node-1",
        "k8s.pod.name": `${s.serviceName}-7d9c-abcde`,
        "k8s.pod.uid": "0b5a2c1e-3f4d-4e5f-8a9b-0c1d2e3f4a5b",
        "k8s.pod.start_time": "2026-12-02T06:00:00Z",
        ...(s.serviceName === "loadgen" ? {} : { "k8s.deployment.name": s.serviceName }),
      },
    }));
    const ok = check(run({ spans: withPods, kubernetes }), "Kubernetes");
    assert.equal(ok.ok, true, ok.detail);
    const wrongNode = check(run({ spans: withPods, kubernetes: { ...kubernetes, node: "node-2" } }), "Kubernetes");
    assert.equal(wrongNode.ok, false);
    assert.match(wrongNode.detail, /k8s\.node\.name=node-1/);
  });

  test("the X-Ray side: edges one backend lacks and unexplained differences fail, each named", () => {
    const checks = run();
    const edges = check(checks, "the X-Ray map");
    assert.equal(edges.ok, false);
    assert.match(edges.detail, /missing: .*activities → moderation/);
    const agree = check(checks, "X-Ray and OTLP agree");
    assert.equal(agree.ok, false);
    assert.match(agree.detail, /3 differing/);
  });

  test("Honeycomb: every judged trace must have reached it", () => {
    const homeTraces = spans().filter((s) => s.serviceName === "api" && s.attributes["http.route"] === "/api/activities/home").map((s) => s.traceId);
    const all = new Set(spans().map((s) => s.traceId));
    assert.equal(check(run({ honeycombTraceIds: all }), "Honeycomb").ok, true);
    const lost = new Set([...all].filter((id) => id !== homeTraces[0]));
    const honeycomb = check(run({ honeycombTraceIds: lost }), "Honeycomb");
    assert.equal(honeycomb.ok, false);
    assert.match(honeycomb.detail, new RegExp(`^1 of \\d+ never reached it; first: ${homeTraces[0]}`));
  });

  test("RED metrics: every mesh edge must be among the servicegraph edges Honeycomb received", () => {
    const edges = new Set(MESH_EDGES.map(([from, to]) => `${from} → ${to}`));
    assert.equal(check(run({ honeycombMetricEdges: edges }), "Honeycomb received RED metrics").ok, true);
    edges.delete("activities → notifications");
    const red = check(run({ honeycombMetricEdges: edges }), "Honeycomb received RED metrics");
    assert.equal(red.ok, false);
    assert.equal(red.detail, "missing: activities → notifications");
    assert.equal(run().some((c) => c.name.startsWith("Honeycomb received RED metrics")), false, "not judged without the record");
  });

  test("error traces (4xx, 5xx roots) are judged too: whole and connected, whatever services they reached", () => {
    const home = (list: Span[]) => list.find((s) => s.serviceName === "api" && s.attributes["http.route"] === "/api/activities/home" && s.kind === "SERVER")!;
    const failing = (list: Span[], status: number) => list.map((s) => (s === home(list) ? { ...s, attributes: { ...s.attributes, "http.response.status_code": status } } : s));
    // A 503 that never reached activities is judged, and whole.
    const degraded = failing(spans(), 503).filter((s) => s.traceId !== home(spans()).traceId || s.serviceName !== "activities");
    const ok = check(run({ spans: degraded }), "home feed");
    assert.match(ok.detail, /^3 traces \(1 error traces\), all whole in OTLP$/);
    // A broken link inside an error trace fails the flow (it was skipped before: roots ≥ 400 were never judged).
    const broken = failing(spans(), 500).map((s) => (s.traceId === home(spans()).traceId && s.serviceName === "activities" && s.kind === "SERVER" ? { ...s, parentSpanId: "ffffffffffffffff" } : s));
    const bad = check(run({ spans: broken }), "home feed");
    assert.equal(bad.ok, false);
    assert.match(bad.detail, /1 error traces\); first: .*whose parent is not in the trace/);
  });

  test("Honeycomb's intake, span by span: the flows are judged on it, and a span it lacks fails, named", () => {
    const all = spans();
    const full = run({ honeycombSpans: all });
    assert.equal(check(full, "Honeycomb received every span").ok, true, check(full, "Honeycomb received every span").detail);
    assert.match(check(full, "home feed").detail, /all whole in Honeycomb$/);
    const lostSpan = all.find((s) => s.serviceName === "activities" && s.kind === "SERVER" && s.attributes["rpc.method"] !== undefined) ?? all.find((s) => s.serviceName === "activities")!;
    const intake = all.filter((s) => s !== lostSpan);
    const checks = run({ honeycombSpans: intake });
    const honeycomb = check(checks, "Honeycomb received every span");
    assert.equal(honeycomb.ok, false);
    assert.match(honeycomb.detail, new RegExp(`^1 of \\d+ traces incomplete; first: ${lostSpan.traceId}: 1 of \\d+ \\(activities `));
    // The lost span's children lose their parent in Honeycomb: the flow fails there too.
    assert.ok(checks.some((c) => !c.ok && /whose parent is not in the trace|no activities/.test(c.detail)), checks.map((c) => c.detail).join(" | "));
  });

  test("X-Ray, per trace: every span of every judged trace has its document; one lost segment fails, named", () => {
    const docs = segmentDocumentsFromFiles([path.join(FIXTURES, "xray-segments.jsonl")]);
    const withDocs = run({ xraySegments: docs });
    const xrayCheck = check(withDocs, "the X-Ray map");
    assert.match(xrayCheck.name, /every judged trace has its segments/);
    // Drop one document of a judged trace (an api segment): that trace lacks it.
    const homeRoot = spans().find((s) => s.serviceName === "api" && s.attributes["http.route"] === "/api/activities/home" && s.kind === "SERVER")!;
    const drop = (list: readonly XraySegment[]): XraySegment[] => list.filter((d) => d.id !== homeRoot.spanId).map((d) => ({ ...d, subsegments: d.subsegments ? drop(d.subsegments) : undefined }));
    const lost = check(run({ xraySegments: drop(docs) }), "the X-Ray map");
    assert.equal(lost.ok, false);
    assert.match(lost.detail, new RegExp(`judged traces lack segments; first: ${xrayTraceId(homeRoot.traceId)}: 1 of \\d+ spans \\(api `));
    const before = (xrayCheck.detail.match(/judged traces lack segments/g) ?? []).length;
    assert.ok(before === 0 || !xrayCheck.detail.includes(xrayTraceId(homeRoot.traceId)), xrayCheck.detail);
  });

  test("an inferred X-Ray node that is no mesh dependency fails the map (the cluster's stray `GET`)", () => {
    const docs = segmentDocumentsFromFiles([path.join(FIXTURES, "xray-segments.jsonl")]);
    const api = docs.find((d) => d.name === "api" && d.type !== "subsegment")!;
    // A client subsegment named after its method, with no segment behind it: X-Ray infers a node `GET`.
    const stray: XraySegment = { ...api, subsegments: [...(api.subsegments ?? []), { id: "cccccccccccc0001", name: "GET", namespace: "remote", start_time: api.start_time, end_time: api.end_time, http: { request: { method: "GET", url: "http://api:8080/readyz" } } } as XraySegment] };
    const graph = graphFromXraySegments(docs.map((d) => JSON.stringify(d === api ? stray : d)));
    assert.ok(graph.nodes.some((n) => n.name === "GET" && n.inferred), graph.nodes.map((n) => `${n.name}${n.inferred ? "*" : ""}`).join(", "));
    const map = check(run({ xray: graph }), "the X-Ray map");
    assert.equal(map.ok, false);
    assert.match(map.detail, /inferred node\(s\) that are no mesh dependency: GET/);
    // The fixture's own map (an old capture) has a Redis command X-Ray inferred by name; redis itself is fine.
    const fixture = check(run(), "the X-Ray map").detail;
    assert.match(fixture, /no mesh dependency: zrevrange$/);
    assert.doesNotMatch(fixture, /dependency: .*\bredis\b/);
  });
});
