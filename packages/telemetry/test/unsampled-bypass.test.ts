// tools: redis
// The ioredis instrumentation stepped around under an unsampled parent, against a real redis-server: the
// command runs, the SDK is never asked; under a sampled parent the command's span is recorded as before.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Redis as RedisClient } from "ioredis";
import { context, trace, TraceFlags } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { AlwaysOnSampler, InMemorySpanExporter, ParentBasedSampler, SimpleSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { startRedis, type LocalRedis } from "@tracemesh/devkit";
import { RedisUnsampledBypass } from "../src/unsampled-bypass.js";
import { CountingSampler, PARENT_IDS as ids, parentWith } from "./helpers.js";


describe("Redis commands under an unsampled parent skip the ioredis instrumentation (real redis-server)", () => {
  const exporter = new InMemorySpanExporter();
  const sampler = new CountingSampler(new ParentBasedSampler({ root: new AlwaysOnSampler() }));
  const provider = new TracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  // In this order, as telemetry.ts constructs them: the bypass wraps the instrumentation's wrapper.
  const ioredis = new IORedisInstrumentation();
  const bypass = new RedisUnsampledBypass({ unsampledParentDecides: true });
  let server: LocalRedis;
  let redis: RedisClient;

  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    registerInstrumentations({ instrumentations: [ioredis, bypass] });
    server = await startRedis();
    // Loaded after the instrumentations are registered, as `--require @tracemesh/telemetry/register` orders it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Redis } = require("ioredis") as typeof import("ioredis");
    redis = new Redis(server.url, { commandTimeout: 2000 });
  });
  after(async () => {
    redis?.disconnect();
    await server?.stop();
    await provider.shutdown();
  });

  test("unsampled: the command answers, no span, the sampler never asked", async () => {
    exporter.reset();
    sampler.calls = 0;
    const reply = await context.with(parentWith(TraceFlags.NONE), () => redis.set("bypass:k", "v"));
    assert.equal(reply, "OK");
    assert.equal(await context.with(parentWith(TraceFlags.NONE), () => redis.get("bypass:k")), "v");
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.name), []);
    assert.equal(sampler.calls, 0);
  });

  test("sampled: each command's CLIENT span, as the ioredis instrumentation makes it", async () => {
    exporter.reset();
    sampler.calls = 0;
    await context.with(parentWith(TraceFlags.SAMPLED), () => redis.set("bypass:k", "w"));
    const spans = exporter.getFinishedSpans();
    assert.deepEqual(spans.map((s) => [s.name, s.instrumentationScope.name]), [["set", "@opentelemetry/instrumentation-ioredis"]]);
    assert.equal(spans[0]?.parentSpanContext?.spanId, ids.spanId);
    assert.equal(sampler.calls, 1);
  });

  test("with a sampler that does not follow its parent, unsampled commands go through the instrumentation", async () => {
    exporter.reset();
    sampler.calls = 0;
    bypass.setConfig({ ...bypass.getConfig(), unsampledParentDecides: false });
    try {
      await context.with(parentWith(TraceFlags.NONE), () => redis.get("bypass:k"));
      assert.equal(sampler.calls, 1);
    } finally {
      bypass.setConfig({ ...bypass.getConfig(), unsampledParentDecides: true });
    }
  });
});
