// Our gRPC instrumentation over real grpc-js calls on loopback: the spans a sampled call makes, and the path an
// unsampled call takes — the decision carried to the server in the metadata, the SDK never asked.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type * as grpcTypes from "@grpc/grpc-js";
import { context, propagation, trace, TraceFlags, type Context, type SpanContext } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { CompositePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { AWSXRayPropagator } from "@opentelemetry/propagator-aws-xray";
import {
  AlwaysOnSampler,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { GrpcInstrumentation, GRPC_INSTRUMENTATION_NAME } from "../src/index.js";
import { CountingSampler, jsonUnaryMethod, PARENT_IDS as ids, parentWith } from "./helpers.js";

const SERVICE = {
  GetUser: jsonUnaryMethod("/tracemesh.v1.UsersService/GetUser"),
  Check: jsonUnaryMethod("/tracemesh.v1.UsersService/Check"),
};

/** What the server handler saw: the metadata's propagation headers and its own active span context. */
interface Seen {
  traceparent?: string;
  xray?: string;
  active?: SpanContext;
}

type Call = (req: object, md: grpcTypes.Metadata, opts: grpcTypes.CallOptions, cb: (err: grpcTypes.ServiceError | null, res?: unknown) => void) => void;

describe("our gRPC instrumentation (real grpc-js calls on loopback)", () => {
  const exporter = new InMemorySpanExporter();
  const sampler = new CountingSampler(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
  const provider = new TracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const instrumentation = new GrpcInstrumentation({ ignoreGrpcMethods: ["Check"], unsampledParentDecides: true });
  let grpc: typeof grpcTypes;
  let server: grpcTypes.Server;
  let client: Record<"GetUser" | "Check", Call> & grpcTypes.Client;
  let seen: Seen[] = [];

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new AWSXRayPropagator()] }));
    trace.setGlobalTracerProvider(provider);
    registerInstrumentations({ instrumentations: [instrumentation] });
    // Loaded after the instrumentation is registered, as `--require @tracemesh/telemetry/register` orders it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    grpc = require("@grpc/grpc-js") as typeof grpcTypes;
    server = new grpc.Server();
    const handler = (call: grpcTypes.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpcTypes.sendUnaryData<unknown>) => {
      seen.push({
        traceparent: call.metadata.get("traceparent")[0]?.toString(),
        xray: call.metadata.get("x-amzn-trace-id")[0]?.toString(),
        active: trace.getSpanContext(context.active()),
      });
      if (call.request.fail) callback({ code: grpc.status.UNAVAILABLE, details: "redis unavailable" });
      else callback(null, { handle: call.request.handle });
    };
    server.addService(SERVICE, { GetUser: handler, Check: handler });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    const Client = grpc.makeGenericClientConstructor(SERVICE, "UsersService");
    client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as typeof client;
  });
  after(async () => {
    client?.close();
    server?.forceShutdown();
    await provider.shutdown();
    instrumentation.disable();
  });

  const call = (name: "GetUser" | "Check", parent: Context, req: object = { handle: "ada" }) =>
    context.with(parent, () => new Promise<{ err: grpcTypes.ServiceError | null }>((resolve) => {
      client[name](req, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err) => resolve({ err }));
    }));
  const reset = () => {
    exporter.reset();
    sampler.calls = 0;
    seen = [];
  };

  test("a sampled call: CLIENT and SERVER spans named and attributed as instrumentation-grpc names them, parent to child", async () => {
    reset();
    const parent = parentWith(TraceFlags.SAMPLED);
    const { err } = await call("GetUser", parent);
    assert.equal(err, null);
    const spans = exporter.getFinishedSpans();
    const clientSpan = spans.find((s) => s.kind === 2 /* CLIENT */);
    const serverSpan = spans.find((s) => s.kind === 1 /* SERVER */);
    assert.ok(clientSpan && serverSpan, JSON.stringify(spans.map((s) => [s.name, s.kind])));
    for (const span of [clientSpan, serverSpan]) {
      assert.equal(span.name, "grpc.tracemesh.v1.UsersService/GetUser");
      assert.equal(span.instrumentationScope.name, GRPC_INSTRUMENTATION_NAME);
      assert.equal(span.spanContext().traceId, ids.traceId);
      assert.equal(span.attributes["rpc.system"], "grpc");
      assert.equal(span.attributes["rpc.service"], "tracemesh.v1.UsersService");
      assert.equal(span.attributes["rpc.method"], "GetUser");
      assert.equal(span.attributes["rpc.grpc.status_code"], 0);
      assert.equal(span.status.code, 0 /* UNSET */);
    }
    assert.equal(clientSpan.parentSpanContext?.spanId, ids.spanId);
    assert.equal(serverSpan.parentSpanContext?.spanId, clientSpan.spanContext().spanId);
    assert.equal(clientSpan.attributes["server.address"], "127.0.0.1");
    assert.equal(typeof clientSpan.attributes["server.port"], "number");
    // The handler runs in the server span's context; the X-Ray header travelled beside the W3C one.
    assert.equal(seen[0]?.active?.spanId, serverSpan.spanContext().spanId);
    assert.match(seen[0]?.xray ?? "", /;Sampled=1/);
  });

  test("a failing call: ERROR with the status's message and code on both spans", async () => {
    reset();
    const parent = parentWith(TraceFlags.SAMPLED);
    const { err } = await call("GetUser", parent, { fail: true });
    assert.equal(err?.code, grpc.status.UNAVAILABLE);
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 2);
    for (const span of spans) {
      assert.equal(span.status.code, 2 /* ERROR */, span.name);
      assert.match(span.status.message ?? "", /redis unavailable/);
      assert.equal(span.attributes["rpc.grpc.status_code"], grpc.status.UNAVAILABLE);
    }
  });

  test("an unsampled call records nothing and never asks the SDK, but carries the decision to the server", async () => {
    reset();
    const parent = parentWith(TraceFlags.NONE);
    const { err } = await call("GetUser", parent);
    assert.equal(err, null);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
    assert.equal(sampler.calls, 0, "the sampler was asked: a span was started through the SDK");
    assert.equal(seen[0]?.traceparent, `00-${ids.traceId}-${ids.spanId}-00`);
    assert.match(seen[0]?.xray ?? "", /;Sampled=0/);
    // The handler runs in the caller's trace, so its own calls and log lines carry the trace id and the decision.
    assert.equal(seen[0]?.active?.traceId, ids.traceId);
    assert.equal(seen[0]?.active?.traceFlags, TraceFlags.NONE);
  });

  test("with a sampler that does not follow its parent, an unsampled parent's call goes through the SDK", async () => {
    reset();
    instrumentation.setConfig({ ...instrumentation.getConfig(), unsampledParentDecides: false });
    try {
      const parent = parentWith(TraceFlags.NONE);
      await call("GetUser", parent);
      assert.equal(sampler.calls, 2, "client and server each asked the sampler");
    } finally {
      instrumentation.setConfig({ ...instrumentation.getConfig(), unsampledParentDecides: true });
    }
  });

  test("an ignored method (health Check) is not traced and carries nothing", async () => {
    reset();
    const parent = parentWith(TraceFlags.SAMPLED);
    const { err } = await call("Check", parent);
    assert.equal(err, null);
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
    assert.equal(seen[0]?.traceparent, undefined);
  });
});
