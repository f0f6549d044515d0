// tracemesh verify --browser: the browser's frontend-web spans must be the ancestors of api's server spans in the
// same traces; the check fails when the browser's spans are missing or their traces never reach the api. And the
// edge X-Ray alone draws for a page load (frontend → frontend-web) is named, not counted as a disagreement.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { graphFromXrayFiles, graphFromXraySegments, spansFromOtlpFiles, type Span } from "@tracemesh/trace-model";
import { verifyExports } from "../src/verify.js";

const FIXTURES = path.join(path.dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");
const xray = graphFromXrayFiles([path.join(FIXTURES, "xray-segments.jsonl")]);
const WEB = { "telemetry.sdk.language": "webjs", "telemetry.sdk.name": "opentelemetry", "service.name": "frontend-web" };

/** The fixture's home-feed traces, each entered from a browser: fetch (frontend-web) → frontend server → api. */
function fromBrowser(joined: boolean): Span[] {
  const spans = spansFromOtlpFiles([path.join(FIXTURES, "otlp.jsonl")]);
  const extra: Span[] = [];
  const out = spans.map((s) => {
    if (s.serviceName !== "api" || s.kind !== "SERVER" || s.attributes["http.route"] !== "/api/activities/home") return s;
    const fetchSpan: Span = { ...s, spanId: `f${s.spanId.slice(1)}`, parentSpanId: "", serviceName: "frontend-web", kind: "CLIENT", name: "HTTP GET", resource: WEB };
    const proxy: Span = { ...s, spanId: `e${s.spanId.slice(1)}`, parentSpanId: fetchSpan.spanId, serviceName: "frontend", kind: "SERVER", name: "GET /api/*" };
    extra.push(fetchSpan, proxy);
    return joined ? { ...s, parentSpanId: proxy.spanId } : s;
  });
  return [...out, ...extra];
}

const browserCheck = (spans: Span[], browser = true) =>
  verifyExports({ spans, xray, graceMs: 0, browser, kubernetes: undefined }).find((c) => c.name.startsWith("the browser's spans"));

describe("tracemesh verify --browser", () => {
  test("passes when a browser fetch is an ancestor of api's server span, and says how many traces", () => {
    const check = browserCheck(fromBrowser(true))!;
    assert.equal(check.ok, true, check.detail);
    assert.match(check.detail, /^3 of 3 browser traces reach api through the frontend server \(3 spans of frontend-web\)$/);
  });

  test("fails when the browser's traces never reach the api, or there are no browser spans", () => {
    assert.equal(browserCheck(fromBrowser(false))!.ok, false);
    const none = browserCheck(spansFromOtlpFiles([path.join(FIXTURES, "otlp.jsonl")]))!;
    assert.equal(none.ok, false);
    assert.equal(none.detail, "no span from a browser in the export");
  });

  test("off unless asked for; browser spans are not held to the pods' Kubernetes attributes", () => {
    assert.equal(browserCheck(fromBrowser(true), false), undefined);
    const k8s = verifyExports({ spans: fromBrowser(true), xray, graceMs: 0, kubernetes: { namespace: "tracemesh", node: "n" } }).find((c) => c.name.startsWith("Kubernetes attributes"))!;
    assert.doesNotMatch(k8s.detail, /frontend-web/);
  });
});

describe("tracemesh verify --browser: a page load's edge", () => {
  // A page's document load continues the frontend server's span: X-Ray draws frontend → frontend-web (a child
  // segment in another service), the OTLP map has no such client → server call.
  const traceId = "695645a1000000000000000000abc999";
  const served: Span = { ...spansFromOtlpFiles([path.join(FIXTURES, "otlp.jsonl")])[0]!, traceId, spanId: "cccccccccccc0001", parentSpanId: "", serviceName: "frontend", kind: "SERVER", name: "GET /*", attributes: {} };
  const load: Span = { ...served, spanId: "cccccccccccc0002", parentSpanId: served.spanId, serviceName: "frontend-web", kind: "INTERNAL", name: "documentLoad", resource: WEB };
  const docs = [
    ...fs.readFileSync(path.join(FIXTURES, "xray-segments.jsonl"), "utf8").split("\n").filter(Boolean),
    JSON.stringify({ name: "frontend", id: served.spanId, trace_id: "1-695645a1-000000000000000000abc999", start_time: 1767261601, end_time: 1767261601.05 }),
    JSON.stringify({ name: "frontend-web", id: load.spanId, parent_id: served.spanId, trace_id: "1-695645a1-000000000000000000abc999", start_time: 1767261601.01, end_time: 1767261601.04 }),
  ];
  const compareCheck = (browser: boolean) =>
    verifyExports({ spans: [...spansFromOtlpFiles([path.join(FIXTURES, "otlp.jsonl")]), served, load], xray: graphFromXraySegments(docs), graceMs: 0, browser }).find((c) => c.name.startsWith("X-Ray and OTLP agree"))!;
  const without = verifyExports({ spans: spansFromOtlpFiles([path.join(FIXTURES, "otlp.jsonl")]), xray, graceMs: 0 }).find((c) => c.name.startsWith("X-Ray and OTLP agree"))!;

  test("is X-Ray's only, named as a page load, and not counted against agreement with --browser", () => {
    const excused = compareCheck(true);
    assert.match(excused.detail, /a page load continuing the server's span, X-Ray only: frontend → frontend-web/);
    assert.equal(excused.ok, without.ok, `${excused.detail} vs ${without.detail}`);
  });

  test("without --browser it counts as an edge only X-Ray drew", () => {
    const counted = compareCheck(false);
    assert.equal(counted.ok, false);
    assert.doesNotMatch(counted.detail, /page load/);
  });
});
