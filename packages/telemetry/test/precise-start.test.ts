// Sub-millisecond span starts (src/precise-start.ts) against the real OpenTelemetry SDK this workspace pins. These
// tests are the tripwire for an SDK upgrade: each says which internal it found changed, so a new version fails here,
// loudly, instead of quietly putting every span back on a whole millisecond.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { context, trace, type HrTime } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { AnchoredClock, PreciseStartSpanProcessor, missingInternals, type ClockSources } from "../src/index.js";

const ms = (t: HrTime): number => t[0] * 1000 + t[1] / 1e6;
const onWholeMs = (t: HrTime): boolean => t[1] % 1_000_000 === 0;
/** HrTime ↔ float ms round trips cost at most a few hundred ns at epoch magnitudes. */
const EPS_MS = 0.002;

function tracerWith(precise?: PreciseStartSpanProcessor) {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [...(precise ? [precise] : []), new SimpleSpanProcessor({ exporter })],
  });
  return { tracer: provider.getTracer("precise-start-test"), exporter, provider };
}

/** A little work of a random length (0–300 µs), so span boundaries fall anywhere within a millisecond. */
function spin(): void {
  const until = performance.now() + Math.random() * 0.3;
  while (performance.now() < until);
}

/** Parent/child pairs as the mesh makes them (a client call inside a handler), started at random instants. */
async function nestedPairs(precise: PreciseStartSpanProcessor | undefined, count: number): Promise<ReadableSpan[]> {
  const { tracer, exporter, provider } = tracerWith(precise);
  for (let i = 0; i < count; i++) {
    const parent = tracer.startSpan("handler");
    spin();
    const child = tracer.startSpan("client call", {}, trace.setSpan(context.active(), parent));
    spin();
    child.end();
    spin();
    parent.end();
    if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await provider.forceFlush();
  // Read before shutting down: shutting the in-memory exporter down empties it.
  const spans = exporter.getFinishedSpans();
  await provider.shutdown();
  assert.equal(spans.length, 2 * count, "every span was exported");
  return spans;
}

function childrenOutsideParents(spans: readonly ReadableSpan[]): number {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  return spans.filter((s) => {
    const parent = s.parentSpanContext && byId.get(s.parentSpanContext.spanId);
    return parent !== undefined && (ms(s.startTime) < ms(parent.startTime) || ms(s.endTime) > ms(parent.endTime));
  }).length;
}

describe("precise span starts with the pinned OpenTelemetry SDK", { timeout: 30_000 }, () => {
  test("the SDK's span still has the internals the processor moves (an upgrade that changes them fails here)", () => {
    const { tracer } = tracerWith();
    const span = tracer.startSpan("probe");
    assert.equal(
      missingInternals(span),
      undefined,
      "@opentelemetry/sdk-trace changed its Span: update src/precise-start.ts (SdkSpanInternals) to the new fields, or drop it if the SDK now starts spans below the millisecond",
    );
    span.end();
  });

  test("without the processor the SDK starts every span on a whole millisecond (why the processor exists)", async () => {
    const spans = await nestedPairs(undefined, 200);
    const whole = spans.filter((s) => onWholeMs(s.startTime)).length;
    assert.equal(
      whole,
      spans.length,
      `only ${whole} of ${spans.length} SDK starts are whole milliseconds: the SDK now keeps sub-ms starts itself (opentelemetry-js PR #5804?); ` +
        "PreciseStartSpanProcessor leaves such spans alone and may be removed",
    );
  });

  test("with it, at most 2 % of spans start on a whole millisecond and every child lies inside its parent", async () => {
    const precise = new PreciseStartSpanProcessor();
    const spans = await nestedPairs(precise, 1000);
    const whole = spans.filter((s) => onWholeMs(s.startTime)).length;
    assert.ok(whole <= spans.length * 0.02, `${whole} of ${spans.length} starts on a whole millisecond`);
    assert.equal(childrenOutsideParents(spans), 0, "children outside their parent");
    const { adjusted, leftAlone, unsupported } = precise.stats();
    assert.deepEqual({ adjusted, leftAlone, unsupported }, { adjusted: spans.length, leftAlone: 0, unsupported: 0 });
  });

  test("start and end are both the anchored clock's readings around them; the duration is the SDK's own", () => {
    const precise = new PreciseStartSpanProcessor();
    const { tracer } = tracerWith(precise);
    const clock = precise.clock;
    for (let i = 0; i < 50; i++) {
      const p0 = performance.now();
      const span = tracer.startSpan("bracketed") as unknown as ReadableSpan & { end(t?: number): void };
      const p1 = performance.now();
      spin();
      const p2 = performance.now();
      span.end();
      const p3 = performance.now();
      const start = ms(span.startTime);
      const end = ms(span.endTime);
      assert.ok(start >= clock.epochMs(p0) - EPS_MS && start <= clock.epochMs(p1) + EPS_MS, `start ${start} not in [${clock.epochMs(p0)}, ${clock.epochMs(p1)}]`);
      // If the SDK stopped computing the end from startTime + monotonic time, the end would not move with the start.
      assert.ok(end >= clock.epochMs(p2) - EPS_MS && end <= clock.epochMs(p3) + EPS_MS, `end ${end} not in [${clock.epochMs(p2)}, ${clock.epochMs(p3)}]`);
      assert.ok(Math.abs(ms(span.duration) - (end - start)) < EPS_MS, "duration = end - start");
    }
  });

  test("performance.now() timestamps given to end() land on the same clock", () => {
    const precise = new PreciseStartSpanProcessor();
    const { tracer } = tracerWith(precise);
    const span = tracer.startSpan("ended at a performance timestamp") as unknown as ReadableSpan & { end(t?: number): void };
    spin();
    const at = performance.now();
    span.end(at);
    assert.ok(Math.abs(ms(span.endTime) - precise.clock.epochMs(at)) < EPS_MS, `${ms(span.endTime)} vs ${precise.clock.epochMs(at)}`);
  });

  test("a start the caller chose is left alone", () => {
    const precise = new PreciseStartSpanProcessor();
    const { tracer } = tracerWith(precise);
    const chosen: HrTime = [1_700_000_000, 123_456_789];
    const span = tracer.startSpan("chosen", { startTime: chosen }) as unknown as ReadableSpan & { end(): void };
    span.end();
    assert.deepEqual(span.startTime, chosen);
    assert.equal(precise.stats().leftAlone, 1);
  });

  test("a span without the SDK's internals is left alone and counted, not given a wrong time", () => {
    const precise = new PreciseStartSpanProcessor();
    const foreign = { startTime: [1_700_000_000, 0] as HrTime };
    precise.onStart(foreign as never, context.active());
    assert.deepEqual(foreign.startTime, [1_700_000_000, 0]);
    assert.equal(precise.stats().unsupported, 1);
    assert.match(missingInternals(foreign) ?? "", /_performanceStartTime/);
  });
});

describe("the anchored clock", { timeout: 10_000 }, () => {
  /** Clocks to steer: the monotonic one advances `stepMs` per reading; the wall clock is it plus `offset`, floored. */
  function steeredClocks(offset: number, stepMs = 0.0005): ClockSources & { mono: number; offset: number } {
    const c = {
      mono: 1000,
      offset,
      monotonicMs: () => (c.mono += stepMs),
      wallMs: () => Math.floor(c.mono + c.offset),
    };
    return c;
  }

  test("anchors on a tick of Date.now(): to the microsecond, not the millisecond", () => {
    for (const offset of [1_700_000_000_000.0004, 1_700_000_000_000.3721, 1_700_000_000_000.9999]) {
      const clock = new AnchoredClock(steeredClocks(offset));
      assert.ok(Math.abs(clock.offset - offset) < 0.002, `offset ${clock.offset} vs true ${offset}`);
    }
  });

  test("real clocks: a reading agrees with Date.now() within its millisecond", () => {
    const clock = new AnchoredClock();
    for (let i = 0; i < 10_000; i++) {
      // Bracketed, so a preemption between the two reads cannot fail the test: Date.now() = W at some instant
      // between p0 and p1, so our clock is past W at p1 and not yet at W + 1 at p0.
      const p0 = performance.now();
      const wall = Date.now();
      const p1 = performance.now();
      assert.ok(clock.epochMs(p1) >= wall - 0.05 && clock.epochMs(p0) < wall + 1.05, `[${clock.epochMs(p0)}, ${clock.epochMs(p1)}] vs Date.now() ${wall}`);
    }
  });

  test("a preempted anchoring sample is not trusted", () => {
    // The first tick is seen only after a 3 ms stall between the readings: anchoring on it would be 3 ms off.
    const sources = steeredClocks(1_700_000_000_000.5);
    let stalled = false;
    const wallMs = sources.wallMs;
    sources.wallMs = () => {
      if (!stalled && Math.floor(sources.mono + sources.offset) !== Math.floor(sources.mono - 0.001 + sources.offset)) {
        stalled = true;
        sources.mono += 3;
      }
      return wallMs();
    };
    const clock = new AnchoredClock(sources);
    assert.ok(stalled, "the stall happened");
    assert.ok(Math.abs(clock.offset - 1_700_000_000_000.5) < 0.002, `offset ${clock.offset}`);
  });

  test("no drift over a long run: when the monotonic clock falls behind the wall clock, it re-anchors", () => {
    const sources = steeredClocks(1_700_000_000_000.25);
    const clock = new AnchoredClock(sources, 1);
    let worst = 0;
    // A day of spans, one a second, while the monotonic clock runs 50 ppm slow (4.3 s a day) — then a 2 s NTP step.
    for (let second = 0; second < 86_400; second++) {
      sources.mono += 1000;
      sources.offset += 0.05;
      if (second === 50_000) sources.offset += 2000;
      const mono = sources.monotonicMs();
      const wall = Math.floor(mono + sources.offset);
      clock.check(wall, mono);
      worst = Math.max(worst, Math.abs(clock.epochMs(mono) - (mono + sources.offset)));
    }
    assert.ok(worst < 2.1, `worst distance from the wall clock after checks: ${worst} ms`);
    // 4320 ms of drift at most 1 ms at a time, plus the step: a few thousand anchorings, each one a span's check.
    assert.ok(clock.anchorCount > 1000 && clock.anchorCount < 5000, `${clock.anchorCount} anchorings`);
  });

  test("HrTime conversion carries the fraction exactly and never yields 1e9 nanoseconds", () => {
    const clock = new AnchoredClock(steeredClocks(1_700_000_000_000));
    const t = clock.hrTime(999.9999999 - clock.offset + 1_700_000_000_000);
    assert.ok(t[1] >= 0 && t[1] < 1e9, String(t));
  });
});
