// One process of the span budget (span-budget.ts): sets up one way of tracing, then times each part of a
// span's life with process.cpuUsage() (user + system CPU of this process, garbage collection included) and
// prints the µs per span as one JSON line. Run as `node span-budget-worker.js <setup> <OTLP endpoint> [module]`:
//   floor      the SDK alone: a bare TracerProvider, W3C trace context, the batch processor, OTLP/HTTP protobuf
//   ours       @tracemesh/telemetry's startTelemetry() (X-Ray ids, W3C + baggage + X-Ray propagators, our span
//              processors, the batch processor behind our export-health wrapper)
//   otel-demo  the module given (auto-instrumentations-node/register): the SDK's defaults from OTEL_* alone
// The span is an HTTP server span as instrumentation-http makes it: 8 attributes at start, 2 more at the end.
import { context, propagation, SpanKind, trace, type Attributes, type Context, type Span, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";

export interface SpanBudget {
  setup: string;
  /** µs of CPU per span for each part. */
  create: number;
  attributes: number;
  context: number;
  propagation: number;
  end: number;
  export: number;
  /** Spans measured per part and round, and rounds (the figures are medians over rounds). */
  spans: number;
  rounds: number;
}

const START_ATTRIBUTES: Attributes = {
  "http.request.method": "POST",
  "url.path": "/api/activities",
  "url.scheme": "http",
  "server.address": "127.0.0.1",
  "server.port": 8080,
  "network.protocol.version": "1.1",
  "user_agent.original": "tracemesh-loadgen/0.1.0",
  "client.address": "127.0.0.1",
};

const setter: TextMapSetter<Record<string, string>> = { set: (carrier, key, value) => void (carrier[key] = value) };
const getter: TextMapGetter<Record<string, string>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

async function setUp(setup: string, endpoint: string, module: string | undefined): Promise<() => Promise<void>> {
  if (setup === "ours") {
    // The telemetry package resolves as the services resolve it (the bench depends on it).
    const { startTelemetry } = require("@tracemesh/telemetry") as typeof import("@tracemesh/telemetry");
    if (!startTelemetry()) throw new Error("telemetry did not start");
  } else if (setup === "otel-demo") {
    if (!module) throw new Error("otel-demo needs the register module's path");
    require(module);
  } else if (setup === "floor") {
    const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks") as typeof import("@opentelemetry/context-async-hooks");
    const { W3CTraceContextPropagator } = require("@opentelemetry/core") as typeof import("@opentelemetry/core");
    const { BatchSpanProcessor, TracerProvider } = require("@opentelemetry/sdk-trace") as typeof import("@opentelemetry/sdk-trace");
    const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-proto") as typeof import("@opentelemetry/exporter-trace-otlp-proto");
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) })] }));
  } else throw new Error(`unknown setup ${setup}`);
  const provider = (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.() as { forceFlush?: () => Promise<void> } | undefined;
  if (!provider?.forceFlush) throw new Error(`${setup}: no SDK tracer provider registered`);
  return () => provider.forceFlush!();
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const [setup = "", endpoint = "", module] = process.argv.slice(2);
  const flush = await setUp(setup, endpoint, module);
  const tracer = trace.getTracer("tracemesh-span-budget");
  // The batch processor queues 2048 spans at most: each batch is ended and exported before the next.
  const batch = 500;
  const batches = Number(process.env.SPAN_BUDGET_BATCHES ?? "8");
  const rounds = Number(process.env.SPAN_BUDGET_ROUNDS ?? "7");
  const parts = { create: [] as number[], attributes: [] as number[], context: [] as number[], propagation: [] as number[], end: [] as number[], export: [] as number[] };
  // An incoming request's context: a remote W3C parent, sampled or not (SPAN_BUDGET_SAMPLED=0), as the services see it.
  const flags = process.env.SPAN_BUDGET_SAMPLED === "0" ? "00" : "01";
  const incoming = { traceparent: `00-6751d0a4c7ba8a6f1e9b1f42a0cc5e1a-8a3c60f7d188f8fa-${flags}`, baggage: "session.id=s-1234" };
  for (let round = 0; round <= rounds; round++) {
    const sums = { create: 0, attributes: 0, context: 0, propagation: 0, end: 0, export: 0 };
    for (let b = 0; b < batches; b++) {
      const spans: Span[] = new Array(batch);
      const parents: Context[] = new Array(batch);
      let t = cpuMicros();
      for (let i = 0; i < batch; i++) parents[i] = propagation.extract(context.active(), incoming, getter);
      const extractMicros = cpuMicros() - t;
      t = cpuMicros();
      for (let i = 0; i < batch; i++) spans[i] = tracer.startSpan("POST", { kind: SpanKind.SERVER, attributes: START_ATTRIBUTES }, parents[i]);
      sums.create += cpuMicros() - t;
      t = cpuMicros();
      for (let i = 0; i < batch; i++) {
        spans[i]!.setAttributes({ "http.route": "/api/activities", "http.response.status_code": 201 });
        spans[i]!.updateName("POST /api/activities");
      }
      sums.attributes += cpuMicros() - t;
      // Context: the span made active around the handler, and read back by the code inside it.
      t = cpuMicros();
      for (let i = 0; i < batch; i++) {
        const span = spans[i]!;
        context.with(trace.setSpan(parents[i]!, span), () => trace.getActiveSpan());
      }
      sums.context += cpuMicros() - t;
      // Propagation: the incoming headers extracted (above) and the outgoing call's headers injected.
      t = cpuMicros();
      for (let i = 0; i < batch; i++) propagation.inject(trace.setSpan(parents[i]!, spans[i]!), {}, setter);
      sums.propagation += cpuMicros() - t + extractMicros;
      t = cpuMicros();
      for (let i = 0; i < batch; i++) spans[i]!.end();
      sums.end += cpuMicros() - t;
      // Export: serialising the batch to OTLP protobuf and sending it over HTTP to a sink in another process.
      t = cpuMicros();
      await flush();
      sums.export += cpuMicros() - t;
    }
    // Round 0 warms up the JIT and the exporter's connection.
    if (round === 0) continue;
    const n = batch * batches;
    for (const k of Object.keys(sums) as Array<keyof typeof sums>) parts[k].push(sums[k] / n);
  }
  const out: SpanBudget = {
    setup,
    create: median(parts.create),
    attributes: median(parts.attributes),
    context: median(parts.context),
    propagation: median(parts.propagation),
    end: median(parts.end),
    export: median(parts.export),
    spans: batch * batches,
    rounds,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`span budget (${process.argv[2]}) failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
