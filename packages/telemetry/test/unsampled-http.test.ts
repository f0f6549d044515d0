// HTTP requests that will not be sampled step around the http and undici instrumentations (unsampled-http.ts), with a
// real node:http server and real fetch in one process: the handler still runs in the request's trace, its fetch still
// carries the decision on, and sampled requests get upstream's spans as before.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { context, propagation, ROOT_CONTEXT, SpanKind, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { suppressTracing, W3CTraceContextPropagator } from "@opentelemetry/core";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  RandomIdGenerator,
  SamplingDecision,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from "@opentelemetry/sdk-trace";
import { EdgeDecidedIdGenerator, HttpUnsampledBypass } from "../src/unsampled-http.js";
import { CountingSampler, PARENT_IDS } from "./helpers.js";

/** The root sampler behind ParentBasedSampler, switched per test (a process has one tracer provider). */
class SwitchableRoot implements Sampler {
  root: Sampler = new AlwaysOnSampler();
  shouldSample(...args: Parameters<Sampler["shouldSample"]>) {
    return this.root.shouldSample(...args);
  }
}

/** A span context as the handler saw it. */
interface Seen {
  traceId: string;
  sampled: boolean;
}
interface CallReply {
  atStart: Seen | null;
  /** In the request body's `end` listener: after the handler returned. */
  atEnd: Seen | null;
  body: string;
  /** What the fetch the handler made delivered to /leaf. */
  leaf: { traceparent: string | null; seen: Seen | null };
}

function seen(): Seen | null {
  const span = trace.getSpanContext(context.active());
  return span ? { traceId: span.traceId, sampled: (span.traceFlags & TraceFlags.SAMPLED) !== 0 } : null;
}

const untraced = (url: string | undefined) => (url ?? "").startsWith("/healthz");

describe("HTTP requests that will not be sampled skip the http and undici instrumentations (real server, real fetch)", () => {
  const exporter = new InMemorySpanExporter();
  const root = new SwitchableRoot();
  const sampler = new CountingSampler(new ParentBasedSampler({ root }));
  const ids = new EdgeDecidedIdGenerator(new RandomIdGenerator());
  const provider = new TracerProvider({ sampler, idGenerator: ids, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  let server: Server;
  let base = "";

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(provider);
    // In this order, as telemetry.ts constructs them: the bypass wraps the http instrumentation's wrapper.
    const http = new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => untraced(req.url) });
    const undici = new UndiciInstrumentation();
    const bypass = new HttpUnsampledBypass({ sampler, ids, untraced });
    undici.setConfig({ ignoreRequestHook: (req) => untraced(req.path) || bypass.propagateOnly(req) });
    registerInstrumentations({ instrumentations: [http, undici, bypass] });
    // Loaded after the instrumentations are registered, as `--require @tracemesh/telemetry/register` orders it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createServer } = require("node:http") as typeof import("node:http");
    server = createServer((req, res) => {
      if (req.url === "/leaf" || req.url === "/healthz") {
        res.end(JSON.stringify({ traceparent: req.headers.traceparent ?? null, seen: seen() }));
        return;
      }
      const atStart = seen();
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => (body += chunk));
      req.on("end", () => {
        const atEnd = seen();
        fetch(`${base}/leaf`, { signal: AbortSignal.timeout(5000) })
          .then((leafRes) => leafRes.json())
          .then(
            (leaf) => res.end(JSON.stringify({ atStart, atEnd, body, leaf })),
            (err: unknown) => {
              res.statusCode = 500;
              res.end(String(err));
            },
          );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await provider.shutdown();
  });

  /** The test's own request, made with tracing suppressed: only the headers given here are sent. */
  async function call(path: string, headers: Record<string, string> = {}): Promise<CallReply> {
    const suppressed: Context = suppressTracing(ROOT_CONTEXT);
    const res = await context.with(suppressed, () =>
      fetch(`${base}${path}`, { method: "POST", headers, body: "payload", signal: AbortSignal.timeout(5000) }),
    );
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as CallReply;
  }

  function reset(rootSampler: Sampler): void {
    root.root = rootSampler;
    exporter.reset();
    sampler.reset();
  }

  /** Waits (bounded) for spans the SDK ends after the response was sent. */
  async function spansWhenAtLeast(count: number) {
    const deadline = Date.now() + 5000;
    while (exporter.getFinishedSpans().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return exporter.getFinishedSpans();
  }

  const traceparent = (flags: string) => `00-${PARENT_IDS.traceId}-${PARENT_IDS.spanId}-${flags}`;

  test("its parent not sampled: no span, the sampler never asked; the handler and its body's listeners run in the caller's trace, and its fetch carries it on", async () => {
    reset(new AlwaysOnSampler());
    const reply = await call("/call", { traceparent: traceparent("00") });
    const caller = { traceId: PARENT_IDS.traceId, sampled: false };
    assert.deepEqual([reply.atStart, reply.atEnd, reply.body], [caller, caller, "payload"]);
    assert.deepEqual(reply.leaf.seen, caller);
    assert.match(reply.leaf.traceparent ?? "", new RegExp(`^00-${PARENT_IDS.traceId}-[0-9a-f]{16}-00$`));
    // Every span the SDK starts asks the sampler first: none was started.
    assert.equal(sampler.calls, 0);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
  });

  test("no parent and the sampler says no: a new trace, not sampled, carried on; the sampler asked once, about that trace's id", async () => {
    reset(new AlwaysOffSampler());
    const reply = await call("/call");
    const traceId = reply.atStart?.traceId ?? "";
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(traceId, "0".repeat(32));
    const unsampled = { traceId, sampled: false };
    assert.deepEqual([reply.atEnd, reply.leaf.seen], [unsampled, unsampled]);
    assert.match(reply.leaf.traceparent ?? "", new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    assert.deepEqual(sampler.traceIds, [traceId]);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
  });

  test("its parent sampled: the spans the instrumentations make, as before", async () => {
    reset(new AlwaysOffSampler());
    const reply = await call("/call", { traceparent: traceparent("01") });
    assert.deepEqual(reply.atStart, { traceId: PARENT_IDS.traceId, sampled: true });
    const spans = await spansWhenAtLeast(3);
    const byScope = (scope: string, kind: SpanKind) =>
      spans.filter((s) => s.instrumentationScope.name === scope && s.kind === kind && s.spanContext().traceId === PARENT_IDS.traceId);
    const servers = byScope("@opentelemetry/instrumentation-http", SpanKind.SERVER);
    const [client] = byScope("@opentelemetry/instrumentation-undici", SpanKind.CLIENT);
    assert.equal(servers.length, 2);
    assert.ok(client);
    const edge = servers.find((s) => s.parentSpanContext?.spanId === PARENT_IDS.spanId);
    const leaf = servers.find((s) => s.parentSpanContext?.spanId === client.spanContext().spanId);
    assert.ok(edge && leaf, "the edge's span is the caller's child, the leaf's the fetch's");
    assert.equal(client.parentSpanContext?.spanId, edge.spanContext().spanId);
    assert.equal(reply.leaf.traceparent, `00-${PARENT_IDS.traceId}-${client.spanContext().spanId}-01`);
  });

  test("roots decided by a ratio: every trace id the sampler was asked about is a request's, and decided as that ratio decides it", async () => {
    const ratio = new TraceIdRatioBasedSampler(0.5);
    reset(ratio);
    const replies: CallReply[] = [];
    for (let i = 0; i < 40; i++) replies.push(await call("/call"));
    const decisions = replies.map((reply) => {
      const traceId = reply.atStart?.traceId ?? "";
      const decided = ratio.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
      assert.equal(reply.atStart?.sampled, decided, `trace ${traceId}`);
      assert.equal(reply.leaf.seen?.sampled, decided);
      return { traceId, decided };
    });
    const sampled = decisions.filter((d) => d.decided);
    assert.ok(sampled.length > 0 && sampled.length < decisions.length, `both kinds among 40 requests (${sampled.length} sampled)`);
    // A sampled request: asked by the bypass, then by the SDK for its three spans (the edge's, the fetch's, the
    // leaf's), each time about the request's own trace id. An unsampled one: by the bypass only.
    const asked = new Map<string, number>();
    for (const traceId of sampler.traceIds) asked.set(traceId, (asked.get(traceId) ?? 0) + 1);
    assert.deepEqual(
      [...asked].sort(),
      decisions.map((d) => [d.traceId, d.decided ? 4 : 1] as [string, number]).sort(),
    );
    const spans = await spansWhenAtLeast(sampled.length * 3);
    assert.deepEqual(new Set(spans.map((s) => s.spanContext().traceId)), new Set(sampled.map((d) => d.traceId)));
  });

  test("a path no server traces (a probe) goes to the instrumentation untouched: no span, the sampler never asked", async () => {
    reset(new AlwaysOnSampler());
    const res = await context.with(suppressTracing(ROOT_CONTEXT), () => fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) }));
    assert.equal(res.status, 200);
    assert.equal(sampler.calls, 0);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
  });
});
