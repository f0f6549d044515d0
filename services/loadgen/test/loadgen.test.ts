// runLoad against a real HTTP server on a free port (test/fake-api.ts): open-loop timing, achieved rate,
// the weighted mix, synthetic marking, and exact merging of summaries.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startFakeApi, type FakeApi } from "./fake-api.js";
import { runLoad, parseScenario, Recorder, summarize, mergeSummaries, decodeHistogram, ROUTES } from "../src/index.js";
import { arrivalOffsetMs } from "../src/scheduler.js";

const PING = parseScenario('{"flows": {"ping": 1}}', "test");

describe("runLoad", { timeout: 60_000 }, () => {
  let api: FakeApi;
  before(async () => {
    api = await startFakeApi();
  });
  after(async () => {
    await api.close();
  });

  test("latency counts from the intended send time: a 500 ms stall shows on every request scheduled in it", { timeout: 15_000 }, async () => {
    // 100 req/s for 1.5 s; at 0.4 s the server holds every request for the next 500 ms. About 50 requests are
    // due during the stall; measured from their due time, about half of them wait more than 250 ms. A
    // closed-loop generator (or one timing from the actual send) would show a handful of slow requests at most.
    const stall = setTimeout(() => api.stallFor(500), 400);
    const summary = await runLoad({ baseUrl: api.url, rate: 100, durationMs: 1500, scenario: PING, progress: "off" });
    clearTimeout(stall);
    const route = summary.routes["GET /healthz"];
    assert.ok(route, `routes: ${Object.keys(summary.routes).join(", ")}`);
    assert.equal(route.errors, 0);
    assert.ok(route.max_ms >= 400, `max ${route.max_ms} ms should include the ~500 ms stall`);
    const h = decodeHistogram(summary.histograms["GET /healthz"]!);
    const slow = route.count * (1 - percentileRank(h, 250_000));
    assert.ok(slow >= 12, `only ${slow.toFixed(0)} of ${route.count} requests took >= 250 ms; the stall's queueing is hidden`);
  });

  test("sends exactly the target rate's arrivals (200 req/s for 2 s: 400), the rate counted over the drain too", { timeout: 15_000 }, async () => {
    const summary = await runLoad({ baseUrl: api.url, rate: 200, durationMs: 2000, scenario: PING, progress: "off" });
    assert.equal(summary.errors, 0);
    assert.equal(summary.target_rate, 200);
    // Open loop: the k-th arrival is due at k × 5 ms whatever the machine does (a late timer fires a burst), so
    // the count is the schedule's, not the machine's: 0 … 1995 ms.
    assert.equal(summary.requests, 400);
    assert.equal(summary.dropped_flows, 0);
    // The achieved rate is the requests over the whole run, the drain of the last requests included: never above
    // the target, and exactly requests / duration (how slow the machine is only moves duration_s).
    assert.ok(summary.duration_s >= 2, `duration ${summary.duration_s} s covers the 2 s schedule and the drain`);
    // (duration_s is rounded to the millisecond in the summary: equal to 0.1 %.)
    assert.ok(Math.abs(summary.achieved_rate / (summary.requests / summary.duration_s) - 1) < 1e-3, `${summary.achieved_rate} = ${summary.requests} / ${summary.duration_s}`);
  });

  test("honours the weights of the mix", { timeout: 20_000 }, async () => {
    const scenario = parseScenario('{"flows": {"post": 1, "read_notifications": 3}, "users": 5}', "test");
    const summary = await runLoad({ baseUrl: api.url, rate: 300, durationMs: 3000, scenario, progress: "off" });
    const posts = summary.routes[ROUTES.post]?.count ?? 0;
    const reads = summary.routes[ROUTES.notifications]?.count ?? 0;
    assert.equal(summary.errors, 0, JSON.stringify(summary.routes));
    assert.ok(posts > 0 && reads / posts > 2.2 && reads / posts < 4.0, `notifications/posts = ${reads}/${posts}, expected about 3`);
    assert.deepEqual(Object.keys(summary.routes).sort(), [ROUTES.notifications, ROUTES.post].sort());
  });

  test("the default mix drives every route, counted per route template, each request marked synthetic once", { timeout: 20_000 }, async () => {
    const before = api.seen.length;
    const summary = await runLoad({ baseUrl: api.url, rate: 150, durationMs: 2500, runId: "mix1", progress: "off" });
    assert.equal(summary.errors, 0, JSON.stringify(summary.routes));
    assert.deepEqual(Object.keys(summary.routes).sort(), Object.values(ROUTES).sort());
    assert.equal(summary.users, 20);
    assert.equal(summary.user_prefix, "lg_mix1_");

    const seen = api.seen.slice(before);
    // The server saw exactly what the summary counts, plus the sign-ups (not part of the mix).
    const serverCounts = new Map<string, number>();
    for (const s of seen) {
      const t = `${s.method} ${s.path.replace(/\?.*$/, "").replace(/\/@[a-z0-9_]+/, "/@:handle").replace(/[0-9a-f-]{36}/, ":uuid")}`;
      serverCounts.set(t, (serverCounts.get(t) ?? 0) + 1);
    }
    assert.equal(serverCounts.get("POST /api/users"), 20);
    for (const [route, r] of Object.entries(summary.routes)) assert.equal(serverCounts.get(route), r.count, route);

    for (const s of seen) {
      assert.deepEqual(s.baggage, ["synthetic=true"], `${s.method} ${s.path} baggage`);
      assert.deepEqual(s.traceparent, [], "no OpenTelemetry here, so no traceparent");
    }
  });

  test("a linear ramp sends about half as many requests during the ramp", { timeout: 15_000 }, async () => {
    // rate 200, ramp 1 s, duration 2 s → 100 requests in the ramp + 200 after it.
    assert.equal(arrivalOffsetMs(0, 0.2, 1000), 0);
    assert.ok(Math.abs(arrivalOffsetMs(100, 0.2, 1000) - 1000) < 1e-9);
    assert.ok(Math.abs(arrivalOffsetMs(300, 0.2, 1000) - 2000) < 1e-9);
    const summary = await runLoad({ baseUrl: api.url, rate: 200, durationMs: 2000, rampMs: 1000, scenario: PING, progress: "off" });
    assert.ok(summary.requests >= 270 && summary.requests <= 330, `${summary.requests} requests, expected ~300`);
  });
});

describe("merging summaries", { timeout: 10_000 }, () => {
  test("merged histograms equal the histograms recorded together (exact counts and percentiles)", () => {
    const a = new Recorder();
    const b = new Recorder();
    const together = new Recorder();
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) {
      const route = i % 3 === 0 ? "GET /api/activities/home" : "POST /api/activities";
      // Different shapes in each half, so averaging percentiles would be visibly wrong.
      const half = i % 2 === 0 ? a : b;
      const latency = half === a ? random() * 20 : 50 + random() ** 4 * 2000;
      const error = random() < 0.01 ? "HTTP 503" : undefined;
      half.route(route).record(latency, error);
      together.route(route).record(latency, error);
    }
    const meta = { target_rate: 100, duration_s: 10, dropped_flows: 0 };
    const merged = mergeSummaries([
      JSON.parse(JSON.stringify(summarize(a, meta))),
      JSON.parse(JSON.stringify(summarize(b, meta))),
    ]);
    const expected = summarize(together, { ...meta, target_rate: 200 });
    assert.deepEqual(merged.routes, expected.routes);
    assert.deepEqual(merged.total, expected.total);
    assert.equal(merged.requests, 20_000);
    assert.equal(merged.target_rate, 200);
    assert.equal(merged.shards, 2);
    // And the merged p99 is not the average of the two p99s.
    const home = "GET /api/activities/home";
    const avg = (summarize(a, meta).routes[home]!.p99_ms + summarize(b, meta).routes[home]!.p99_ms) / 2;
    assert.notEqual(merged.routes[home]!.p99_ms, avg);
  });
});

/** Fraction of recorded values below `value` (microseconds). */
function percentileRank(h: ReturnType<typeof decodeHistogram>, value: number): number {
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) < value) lo = mid;
    else hi = mid;
  }
  return lo / 100;
}
