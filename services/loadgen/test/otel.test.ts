// With OpenTelemetry active (a real SDK tracer provider, W3C propagators, instrumentation-undici on undici's
// diagnostics channel), each flow is a root span `flow <name>` with app.synthetic=true, the requests' client
// spans are its children, and the synthetic baggage reaches the server exactly once (via the propagator).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { context, propagation, trace, SpanKind } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { startFakeApi, type FakeApi } from "./fake-api.js";
import { runLoad, parseScenario } from "../src/index.js";

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
// Constructed (and so enabled) once the provider is registered; `{enabled: false}` + enable() would subscribe
// to the channel yet create no spans (instrumentation-undici reads config.enabled per request).
let instrumentation: UndiciInstrumentation;

describe("loadgen with OpenTelemetry active", { timeout: 60_000 }, () => {
  let api: FakeApi;
  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    trace.setGlobalTracerProvider(provider);
    instrumentation = new UndiciInstrumentation();
    instrumentation.setTracerProvider(provider);
    api = await startFakeApi();
  });
  after(async () => {
    instrumentation.disable();
    await api.close();
    await provider.shutdown();
  });

  const scenario = parseScenario('{"flows": {"browse_home": 1, "post": 1}, "users": 3, "think_time_ms": 0}', "test");
  const isFlow = (s: ReadableSpan) => s.name.startsWith("flow ");

  test("with instrumentation-undici: flow spans are the parents of the client spans; baggage sent once", { timeout: 20_000 }, async () => {
    exporter.reset();
    const seenBefore = api.seen.length;
    const summary = await runLoad({ baseUrl: api.url, rate: 60, durationMs: 1500, scenario, progress: "off" });
    assert.equal(summary.errors, 0);
    assert.equal(summary.synthetic_marking, "otel-context+instrumentation-undici");

    const spans = exporter.getFinishedSpans();
    const flows = spans.filter(isFlow);
    assert.ok(flows.length >= 40, `${flows.length} flow spans`);
    for (const f of flows) {
      assert.ok(["flow browse_home", "flow post"].includes(f.name), f.name);
      assert.equal(f.attributes["app.synthetic"], true);
      assert.equal(f.parentSpanContext, undefined, "a flow is a root span");
    }
    const flowIds = new Map(flows.map((f) => [f.spanContext().spanId, f]));
    const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT && flowIds.has(s.parentSpanContext?.spanId ?? ""));
    assert.equal(clientSpans.length, summary.requests, "every counted request has a client span under its flow");
    for (const c of clientSpans) assert.equal(c.spanContext().traceId, flowIds.get(c.parentSpanContext!.spanId)!.spanContext().traceId);
    // browse_home makes two requests: both are children of the same flow span.
    const perFlow = new Map<string, number>();
    for (const c of clientSpans) perFlow.set(c.parentSpanContext!.spanId, (perFlow.get(c.parentSpanContext!.spanId) ?? 0) + 1);
    assert.ok([...perFlow.values()].some((n) => n === 2), "some flow has two requests under it");

    const clientIds = new Set(spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.spanContext().spanId));
    for (const s of api.seen.slice(seenBefore)) {
      assert.deepEqual(s.baggage, ["synthetic=true"], `${s.method} ${s.path}: baggage exactly once`);
      assert.equal(s.traceparent.length, 1, `${s.method} ${s.path}: one traceparent`);
      assert.ok(clientIds.has(s.traceparent[0]!.split("-")[2]!), "the server's parent is the undici client span");
    }
  });

  test("with every connection busy, a queued request's client span stays in its own flow", { timeout: 20_000 }, async () => {
    // One connection: most requests wait for it. undici's Pool would create them (and their spans) in the context
    // of whatever freed the connection — another flow's, or none — so a client span left its own flow.
    exporter.reset();
    const summary = await runLoad({ baseUrl: api.url, rate: 150, durationMs: 1000, scenario, connections: 1, progress: "off" });
    instrumentation.disable();
    assert.equal(summary.errors, 0);
    const spans = exporter.getFinishedSpans();
    const flows = new Map(spans.filter(isFlow).map((f) => [f.spanContext().spanId, f]));
    const clientSpans = spans.filter((s) => s.kind === SpanKind.CLIENT && flows.has(s.parentSpanContext?.spanId ?? ""));
    // Before the fix about half of them had another flow, or none, as parent. One request at the very start of the
    // load can still come out parentless (not yet understood; see the issue-25 report): at most 1 %.
    const strays = spans.filter((s) => s.kind === SpanKind.CLIENT && !clientSpans.includes(s) && s.attributes["url.path"] !== "/api/users");
    assert.ok(strays.length <= summary.requests * 0.01, `${strays.length} of ${summary.requests} requests' client spans are not under a flow`);
    assert.equal(clientSpans.length + strays.length, summary.requests, "every counted request has a client span");
    const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
    const wrong = clientSpans.flatMap((c) => {
      const flow = flows.get(c.parentSpanContext!.spanId)!;
      const method = String(c.attributes["http.request.method"]);
      // A post flow only POSTs; a home flow only GETs; and a request starts once its flow has (a queued one
      // created later, in another flow's context, would land in the wrong flow or after it ended).
      const kindOk = flow.name === "flow post" ? method === "POST" : method === "GET";
      // This bare SDK starts spans on whole milliseconds (no @tracemesh/telemetry here): a millisecond of slack.
      const timeOk = ms(c.startTime) >= ms(flow.startTime) - 1 && ms(c.startTime) <= ms(flow.endTime) + 1;
      return kindOk && timeOk ? [] : [`${flow.name} → ${method} ${String(c.attributes["url.path"])} (${kindOk ? "outside its flow's time" : "not this flow's request"})`];
    });
    assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${clientSpans.length} client spans in the wrong flow`);
  });

  test("without instrumentation-undici: loadgen injects the flow's context itself, still once", { timeout: 20_000 }, async () => {
    exporter.reset();
    const seenBefore = api.seen.length;
    const summary = await runLoad({ baseUrl: api.url, rate: 40, durationMs: 1000, scenario, progress: "off" });
    assert.equal(summary.errors, 0);
    assert.equal(summary.synthetic_marking, "otel-context+inject");
    const flows = exporter.getFinishedSpans().filter(isFlow);
    const flowIds = new Set(flows.map((f) => f.spanContext().spanId));
    const mixRequests = api.seen.slice(seenBefore).filter((s) => s.path !== "/api/users");
    assert.equal(mixRequests.length, summary.requests);
    for (const s of mixRequests) {
      assert.deepEqual(s.baggage, ["synthetic=true"]);
      assert.equal(s.traceparent.length, 1);
      assert.ok(flowIds.has(s.traceparent[0]!.split("-")[2]!), "the server's parent is the flow span");
    }
  });
});
