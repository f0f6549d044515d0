// tools: redis collector wrk
// Smoke run of all five benchmarks on tiny settings (bench --quick): every figure is a number > 0 and
// every table prints. No timing assertions — this machine's speed is what the benchmarks measure.
// It takes ~45-50 s on 2 cores (two meshes, the Collector, three generators).
// Real everything: redis-server, the mesh's processes, the Collector binary, wrk and autocannon; the
// only stand-in is the Honeycomb/X-Ray sink (servers/saas-sink.ts), which checks the API key header,
// the SigV4 shape and the request formats as the real APIs do.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runBench } from "../src/main.js";

describe("bench --quick", { timeout: 180_000 }, () => {
  test("runs all five benchmarks and prints their tables with positive figures", { timeout: 170_000 }, async () => {
    let printed = "";
    const logs: string[] = [];
    const run = await runBench({
      quick: true,
      only: new Set([1, 2, 3, 4, 5]),
      reps: 1,
      sampleRatio: 1,
      log: (line) => logs.push(line),
      print: (text) => (printed += text + "\n"),
    });
    const titles = run.sections.map((s) => s.title);
    assert.deepEqual(titles, [
      "2. Load generator efficiency",
      "1. Tracing overhead",
      "4. Footprint",
      "3. Per-hop cost",
      "5. Event → notification latency",
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
    positive("1. Tracing overhead", /^\| GET \/api\/activities\/home \| SDK off\s*/, true);
    positive("1. Tracing overhead", /^\| POST \/api\/activities\s+\| 100 % → Collector\s*/, true);
    positive("4. Footprint", /^\| \*\*total\*\*\s*/);
    positive("3. Per-hop cost", /^\| grpc-js unary round trip[^|]*/);
    positive("3. Per-hop cost", /^\| ioredis GET[^|]*/);
    positive("3. Per-hop cost", /^\| home feed, traced mesh[^|]*/);
    positive("5. Event → notification latency", /^\| event → notification p99 \(ms\)\s*/);
    // The span breakdown found the home feed's spans in the Collector's output.
    assert.match(run.sections.find((s) => s.title === "3. Per-hop cost")!.body, /activities: assemble timeline/);
    assert.match(run.markdown, /^# Benchmarks/);
    assert.ok(run.sections.flatMap((s) => s.goals).length >= 7, "goals listed");
  });
});
