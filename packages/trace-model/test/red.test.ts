// The RED metrics read from the Collector's Prometheus endpoint: test/fixtures/red-metrics.prom is a real scrape of
// otelcol-tracemesh after it received test/fixtures/otlp.jsonl (see test/fixtures/scrape-red.mjs), so the
// connector's edges can be held against the OTLP graph of the very same spans.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  compareGraphs,
  graphFromOtlp,
  graphFromServiceGraphMetrics,
  graphFromXrayFiles,
  histogramQuantileMs,
  parsePrometheusText,
  redFromSpanMetrics,
  renderRedTable,
  renderTable,
  samplesBetween,
  spansFromOtlpFiles,
} from "../src/index.js";

const fixtures = join(__dirname, "..", "..", "test", "fixtures");
const scrape = readFileSync(join(fixtures, "red-metrics.prom"), "utf8");
const otlpFile = join(fixtures, "otlp.jsonl");
const xrayFile = join(fixtures, "xray-segments.jsonl");

describe("the Prometheus exposition", { timeout: 10_000 }, () => {
  test("samples with labels, escapes, +Inf and timestamps; comments skipped", () => {
    const samples = parsePrometheusText(
      [
        "# HELP x_total a counter",
        "# TYPE x_total counter",
        'x_total{a="1",b="say \\"hi\\"\\nthere"} 3',
        'h_bucket{le="+Inf"} 7 1767261600000',
        "plain 2.5e-3",
        "",
      ].join("\n"),
    );
    assert.deepEqual(samples, [
      { name: "x_total", labels: { a: "1", b: 'say "hi"\nthere' }, value: 3 },
      { name: "h_bucket", labels: { le: "+Inf" }, value: 7 },
      { name: "plain", labels: {}, value: 0.0025 },
    ]);
  });

  test("a line that is not a sample is refused with its number", () => {
    assert.throws(() => parsePrometheusText("ok 1\nthis is not { a sample"), /line 2 is not a Prometheus sample/);
  });

  test("histogram quantiles interpolate inside the bucket, as histogram_quantile() does", () => {
    const buckets = [
      { le: 0.01, count: 50 },
      { le: 0.1, count: 90 },
      { le: 1, count: 100 },
      { le: Infinity, count: 100 },
    ];
    assert.equal(histogramQuantileMs(buckets, 0.5), 10);
    assert.equal(histogramQuantileMs(buckets, 0.7), 55);
    assert.equal(histogramQuantileMs(buckets, 0.99), 910);
    assert.equal(histogramQuantileMs([{ le: Infinity, count: 0 }], 0.5), null);
    // Past the last finite bound nothing can be interpolated: that bound is the answer.
    assert.equal(histogramQuantileMs([{ le: 0.5, count: 1 }, { le: Infinity, count: 10 }], 0.99), 500);
  });

  test("between two scrapes: counters subtract per series; a new series counts whole", () => {
    const before = parsePrometheusText('c_total{e="a"} 5\n');
    const after = parsePrometheusText('c_total{e="a"} 8\nc_total{e="b"} 2\n');
    assert.deepEqual(samplesBetween(before, after).map((s) => [s.labels.e, s.value]), [["a", 3], ["b", 2]]);
  });
});

describe("the connectors' view of the fixture traffic (a real Collector's scrape)", { timeout: 20_000 }, () => {
  const samples = parsePrometheusText(scrape);
  const connector = graphFromServiceGraphMetrics(samples);
  const otlp = graphFromOtlp([otlpFile]);

  test("servicegraph: every edge the OTLP spans show, with the same request and failure counts", () => {
    assert.deepEqual(connector.edges.map((e) => `${e.from} → ${e.to}`), otlp.edges.map((e) => `${e.from} → ${e.to}`));
    for (const o of otlp.edges) {
      const s = connector.edges.find((e) => e.from === o.from && e.to === o.to)!;
      assert.equal(s.calls, o.calls, `${o.from} → ${o.to} requests`);
      // failed = a span with status ERROR; the 404 on loadgen → api is an X-Ray error but no ERROR span.
      assert.equal(s.faults, o.statusErrors, `${o.from} → ${o.to} failed`);
    }
    assert.equal(connector.edges.find((e) => e.from === "loadgen" && e.to === "api")!.faults, 1);
    const between = connector.edges.filter((e) => !connector.nodes.find((n) => n.name === e.to)?.inferred).map((e) => `${e.from} → ${e.to}`);
    for (const edge of ["loadgen → api", "api → activities", "api → users", "activities → users"]) assert.ok(between.includes(edge), `${edge} in ${between.join(", ")}`);
  });

  test("servicegraph: Redis commands are database edges to a node named by db.system.name", () => {
    const redis = connector.edges.filter((e) => e.to === "redis");
    assert.ok(redis.length > 0, connector.edges.map((e) => `${e.from} → ${e.to}`).join(", "));
    for (const e of redis) assert.deepEqual(e.notes, ["connection_type database"]);
    assert.equal(connector.nodes.find((n) => n.name === "redis")?.inferred, true);
  });

  test("spanmetrics: calls and errors per operation equal the spans of the fixture", () => {
    const ops = redFromSpanMetrics(samples);
    const spans = spansFromOtlpFiles([otlpFile]);
    const key = (service: string, name: string, kind: string) => `${service} ${kind} ${name}`;
    const counted = new Map<string, { calls: number; errors: number }>();
    for (const s of spans) {
      const k = key(s.serviceName, s.name, s.kind);
      const c = counted.get(k) ?? { calls: 0, errors: 0 };
      c.calls += 1;
      if (s.statusCode === "ERROR") c.errors += 1;
      counted.set(k, c);
    }
    assert.deepEqual(
      ops.map((r) => [key(r.service, r.operation, r.kind), r.calls, r.errors]).sort(),
      [...counted].map(([k, c]) => [k, c.calls, c.errors]).sort(),
    );
    assert.ok(ops.some((r) => r.errors > 0), "the fixture's failing calls are counted as errors");
    for (const r of ops) assert.ok(r.p50Ms !== null && r.p50Ms > 0 && r.p99Ms! >= r.p50Ms, `${r.service} ${r.operation}: p50 ${r.p50Ms} p99 ${r.p99Ms}`);
  });

  test("the RED table: one row per edge with requests, rate over the window, failed share and p50/p99", () => {
    const text = renderRedTable(connector, 10);
    const apiActivities = connector.edges.find((e) => e.from === "api" && e.to === "activities")!;
    assert.match(text, /edge \(client → server\)\s+requests\s+req\/s\s+failed\s+p50 ms\s+p99 ms\s+kind/);
    assert.match(text, new RegExp(`api → activities\\s+${apiActivities.calls}\\s+${(apiActivities.calls / 10).toFixed(1)}\\s+${apiActivities.faults} \\(`));
  });

  test("compare: the connector is the third column, matched edge by edge", () => {
    const comparison = compareGraphs(graphFromXrayFiles([xrayFile]), otlp, { servicegraph: connector });
    const row = comparison.edges.find((e) => e.otlp?.from === "api" && e.otlp?.to === "activities")!;
    assert.equal(row.servicegraph?.calls, row.otlp!.calls);
    assert.deepEqual(row.servicegraphDifferences, []);
    assert.ok(comparison.servicegraph!.summary.matched >= 5, JSON.stringify(comparison.servicegraph!.summary));
    const table = renderTable(comparison);
    assert.match(table, /\| Collector servicegraph/);
    assert.match(table, /Only in the servicegraph connector \(\d+\)/);
    assert.match(table, /Connector vs spans beyond tolerance \(\d+\)/);
  });

  test("compare notices when the connector counted differently", () => {
    const drifted = parsePrometheusText(scrape.replace(/^(traces_service_graph_request_total\{[^}]*client="api"[^}]*server="activities"[^}]*\}) (\d+)/m, (_, series: string, n: string) => `${series} ${Number(n) + 50}`));
    const comparison = compareGraphs(graphFromXrayFiles([xrayFile]), otlp, { servicegraph: graphFromServiceGraphMetrics(drifted) });
    const row = comparison.edges.find((e) => e.otlp?.from === "api" && e.otlp?.to === "activities")!;
    assert.match((row.servicegraphDifferences ?? []).join(), /connector requests \d+ vs \d+ calls/);
    assert.equal(comparison.servicegraph!.summary.differing, 1);
  });
});

