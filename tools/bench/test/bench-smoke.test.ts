// tools: redis collector wrk vegeta
// Smoke run of all eight benchmarks on tiny settings (bench --quick): every figure is a number > 0 and
// every table prints. No timing assertions — this machine's speed is what the benchmarks measure.
// It takes ~2.5 min on 2 cores (five meshes, the Collector, four generators, the demo, the span budget's and the
// Collector benchmark's processes), and benchmark 6 about a minute more (two meshes per Node runtime).
// Real everything: redis-server, the mesh's processes, the Collector binary, wrk and autocannon; the
// only stand-in is the Honeycomb/X-Ray sink (servers/saas-sink.ts), which checks the API key header,
// the SigV4 shape and the request formats as the real APIs do.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runBench } from "../src/main.js";
import { DEFAULT_RUNTIMES, resolveRuntimes } from "../src/runtimes.js";

describe("bench --quick", { timeout: 300_000 }, () => {
  test("runs benchmarks 1-5, 7 and 8 and prints their tables with positive figures", { timeout: 290_000 }, async () => {
    let printed = "";
    const logs: string[] = [];
    const run = await runBench({
      quick: true,
      only: new Set([1, 2, 3, 4, 5, 7, 8]),
      reps: 1,
      sampleRatio: 1,
      log: (line) => logs.push(line),
      print: (text) => (printed += text + "\n"),
    });
    const titles = run.sections.map((s) => s.title);
    assert.deepEqual(titles, [
      "2. Load generator efficiency",
      "7. The span cost budget",
      "8. The Collector's CPU per span, per component",
      "1. Tracing overhead",
      "3. Per-hop cost",
      "5. Event → notification latency",
      "4. Footprint",
    ]);
    for (const title of titles) assert.match(printed, new RegExp(`## ${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n.*cores.*Node v\\d+`), `${title} printed with the machine line`);

    // Every data cell of every table must be a positive number (or a spread of them), never n/a, NaN or 0.
    for (const section of run.sections) {
      const rows = section.body.split("\n").filter((l) => l.startsWith("| ") && !/^\|\s*-/.test(l));
      assert.ok(rows.length >= 2, `${section.title}: a table`);
      for (const row of rows) {
        assert.doesNotMatch(row, /n\/a|NaN|Infinity/, `${section.title}: ${row}`);
      }
    }
    const numbers = (text: string) => [...text.matchAll(/\| ([\d.]+)(?: \([\d.]+–[\d.]+\))? /g)].map((m) => Number(m[1]));
    const positive = (title: string, re: RegExp, dropLastCell = false) => {
      const section = run.sections.find((s) => s.title === title)!;
      const row = section.body.split("\n").find((l) => re.test(l));
      assert.ok(row, `${title}: row ${re}`);
      const cells = dropLastCell ? row.replace(/\|[^|]*\|\s*$/, "|") : row; // the errors column may be 0
      const values = numbers(cells.replace(re, "| "));
      assert.ok(values.length > 0 && values.every((v) => v > 0), `${title}: ${row}`);
    };
    positive("2. Load generator efficiency", /^\| loadgen\s*/);
    positive("2. Load generator efficiency", /^\| autocannon\s*/);
    positive("2. Load generator efficiency", /^\| wrk\s*/);
    positive("2. Load generator efficiency", /^\| vegeta\s*/);
    // The stalled-server table: loadgen and vegeta side by side, rate and every percentile a number > 0, and the
    // verdict on each (whether it shows the stall).
    const efficiency = run.sections.find((s) => s.title === "2. Load generator efficiency")!.body.split("\n");
    const stallHeader = efficiency.findIndex((l) => /^\| generator \(stalled server\)\s*\| rate \(req\/s\)\s*\| p50 \(ms\)\s*\| p90 \(ms\)\s*\| p99 \(ms\)\s*\| max \(ms\)\s*\|/.test(l));
    assert.ok(stallHeader >= 0, "the stalled-server table");
    for (const g of ["loadgen", "vegeta"]) {
      const row = efficiency.slice(stallHeader + 2).find((l) => l.startsWith(`| ${g} `));
      assert.ok(row, `stalled server: a row for ${g}`);
      const cells = row.split("|").slice(2, 7).map((c) => Number.parseFloat(c.trim()));
      assert.ok(cells.length === 5 && cells.every((v) => v > 0), `stalled server, ${g}: ${row}`);
      assert.match(efficiency.join("\n"), new RegExp(`${g} (shows|does \\*\\*not\\*\\* show) the stall \\(p99 `), `verdict on ${g}`);
    }
    // The three configurations, both routes: max rate, half-load rate, achieved, p50 and p99 all > 0.
    for (const route of ["GET \\/api\\/activities\\/home", "POST \\/api\\/activities"]) {
      for (const config of [
        "SDK off",
        "ours, 100 % → Collector",
        "ours, 10 % → Collector \\(parentbased_traceidratio\\)",
        "OpenTelemetry Demo's way, 100 % → Collector",
        "ours, 100 % → Collector, V8 heaps sized from this machine \\(not the pods'\\)",
      ]) {
        positive("1. Tracing overhead", new RegExp(`^\\| ${route}\\s*\\| ${config}\\s*`));
      }
    }
    assert.match(run.sections.find((s) => s.title === "1. Tracing overhead")!.body, /the OpenTelemetry Demo's way adds [\d.]+ ms of CPU per request, ours [\d.]+ ms/);
    positive("4. Footprint", /^\| \*\*total\*\*\s*/);
    // The demo's own footprint: everything it started, summed at its peak.
    assert.match(run.sections.find((s) => s.title === "4. Footprint")!.body, /everything it started, sampled every 250 ms over the whole run: \*\*[1-9]\d* MiB\*\* over \d+ processes/);
    // The span budget: every part of every set-up a number > 0 (sampled; unsampled parts may round to 0).
    for (const part of ["create", "attributes", "context", "propagation", "end", "export"]) {
      const row = run.sections.find((s) => s.title === "7. The span cost budget")!.body.split("\n").find((l) => l.startsWith(`| ${part} `));
      assert.ok(row, `span budget: a row for ${part}`);
      const cells = row.split("|").slice(2, 5).map((c) => Number.parseFloat(c.trim()));
      assert.ok(cells.every((v) => v > 0), `span budget ${part}: ${row}`);
    }
    // The Collector's table: everything on, and every component switched off in turn, each a cost per span > 0.
    positive("8. The Collector's CPU per span, per component", /^\| everything on[^|]*/);
    for (const component of ["batch", "memory_limiter", "file exporter", "Honeycomb exporter", "X-Ray exporter", "span_metrics connector", "service_graph connector"]) {
      const row = run.sections.find((s) => s.title === "8. The Collector's CPU per span, per component")!.body.split("\n").find((l) => l.startsWith(`| without ${component}`));
      assert.ok(row && Number.parseFloat(row.split("|")[2]!) > 0, `the Collector without ${component}: ${row}`);
    }
    positive("3. Per-hop cost", /^\| grpc-js unary round trip[^|]*/);
    positive("3. Per-hop cost", /^\| ioredis GET[^|]*/);
    positive("3. Per-hop cost", /^\| home feed, traced mesh[^|]*/);
    positive("5. Event → notification latency", /^\| event → notification p99 \(ms\)\s*/);
    // The span breakdown found the home feed's spans in the Collector's output.
    assert.match(run.sections.find((s) => s.title === "3. Per-hop cost")!.body, /activities: assemble timeline/);
    assert.match(run.markdown, /^# Benchmarks/);
    assert.ok(run.sections.flatMap((s) => s.goals).length >= 12, "goals listed");
  });
});

describe("bench --quick --only 6", { timeout: 180_000 }, () => {
  // Node 20 is the machine's and Node 24 the cache's (scripts/lib.sh); Node 24 with and without AsyncContextFrame
  // are always two runtimes to compare.
  const found = resolveRuntimes(DEFAULT_RUNTIMES, { required: false });

  test("runs the mesh on every Node runtime found and fills the table", { timeout: 170_000 }, async () => {
    assert.ok(found.runtimes.length >= 2, `two Node runtimes at least: ${found.missing.join("; ")}`);
    let printed = "";
    const run = await runBench({ quick: true, only: new Set([6]), reps: 1, sampleRatio: 1, log: () => undefined, print: (text) => (printed += text + "\n") });
    const [section] = run.sections;
    assert.equal(section?.title, "6. Node runtimes: AsyncContextFrame on its own");
    assert.match(printed, /## 6\. Node runtimes/);
    for (const runtime of found.runtimes) {
      for (const route of ["GET /api/activities/home", "POST /api/activities"]) {
        const row = section.body.split("\n").find((l) => l.startsWith(`| ${route} `) && l.includes(`| ${runtime.id} `));
        assert.ok(row, `a row for ${route} on ${runtime.id}`);
        assert.doesNotMatch(row, /n\/a|NaN|Infinity/, row);
        // Max rates, p99s and CPU per request: every one a number > 0.
        const cells = row.split("|").slice(3, -1).map((c) => c.trim());
        for (const i of [0, 1, 3, 4, 6, 7]) assert.ok(Number.parseFloat(cells[i]!) > 0, `${runtime.id} ${route}: ${row}`);
      }
    }
  });
});
