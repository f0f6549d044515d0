// `compare --servicegraph`: the RED metrics of a saved scrape as the third column (the trace model's
// test/fixtures/red-metrics.prom, a real scrape; packages/trace-model/test/red.test.ts checks what is read from it).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";

// The trace formats' fixtures live with the trace model (packages/trace-model/test/fixtures).
const fixtures = join(dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");
const otlpFile = join(fixtures, "otlp.jsonl");
const xrayFile = join(fixtures, "xray-segments.jsonl");
const mainJs = join(__dirname, "..", "src", "main.js");
const scratch = mkdtempSync(join(tmpdir(), "tracemesh-red-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe("tracemesh compare --servicegraph", { timeout: 30_000 }, () => {
  const run = (args: string[]) => spawnSync(process.execPath, [mainJs, ...args], { encoding: "utf8", timeout: 20_000 });

  test("a saved scrape adds the third column", () => {
    const res = run(["compare", "--otlp", otlpFile, "--xray-segments", xrayFile, "--servicegraph", join(fixtures, "red-metrics.prom")]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /servicegraph connector: \d+ nodes, \d+ edges/);
    assert.match(res.stdout, /\| Collector servicegraph/);
  });

  test("an unreadable or malformed scrape exits 2 with one line", () => {
    const missing = run(["compare", "--otlp", otlpFile, "--xray-segments", xrayFile, "--servicegraph", join(scratch, "none.prom")]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--servicegraph: cannot read/);
    const bad = join(scratch, "bad.prom");
    writeFileSync(bad, "not { a scrape\n");
    const malformed = run(["compare", "--otlp", otlpFile, "--xray-segments", xrayFile, "--servicegraph", bad]);
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /line 1 is not a Prometheus sample/);
  });
});
