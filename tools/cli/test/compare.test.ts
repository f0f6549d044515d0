// The `compare` command on fixtures that follow the real formats: the trace model's test/fixtures/otlp.jsonl is what
// the Collector's file exporter writes and test/fixtures/xray-segments.jsonl what the awsxray exporter v0.143.0 sends
// for the same spans (see packages/trace-model/test/compare.test.ts for the graphs themselves).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";

// The trace formats' fixtures live with the trace model (packages/trace-model/test/fixtures).
const fixtures = join(dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");
const otlpFile = join(fixtures, "otlp.jsonl");
const xrayFile = join(fixtures, "xray-segments.jsonl");
const mainJs = join(__dirname, "..", "src", "main.js");
const scratch = mkdtempSync(join(tmpdir(), "tracemesh-cli-"));
after(() => rmSync(scratch, { recursive: true, force: true }));


function runCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [mainJs, ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, ...env } });
}

describe("tracemesh compare (the command)", { timeout: 60_000 }, () => {
  const args = ["compare", "--otlp", otlpFile, "--xray-segments", xrayFile];

  test("prints the side-by-side table and exits 0", { timeout: 15_000 }, () => {
    const r = runCli(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Edges in both \(4\)/);
    assert.match(r.stdout, /Same call, different names \(4\)/);
    assert.match(r.stdout, /X-Ray inferred nodes: redis, zrevrange/);
    assert.match(r.stdout, /activities → notifications/);
  });

  test("--json, --format mermaid and --format svg", { timeout: 15_000 }, () => {
    const json = runCli([...args, "--json"]);
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { summary: Record<string, number>; edges: unknown[] };
    assert.equal(parsed.summary.renamed, 4);
    assert.doesNotMatch(json.stdout, /latencySamplesMs/);
    const mermaid = runCli([...args, "--format", "mermaid"]);
    assert.equal(mermaid.status, 0, mermaid.stderr);
    assert.equal(mermaid.stdout.match(/```mermaid\nflowchart LR/g)?.length, 2);
    assert.match(mermaid.stdout, /n_redis\(\["redis \(inferred\)"\]\)/);
    const out = join(scratch, "maps.svg");
    const svg = runCli([...args, "--format", "svg", "--output", out]);
    assert.equal(svg.status, 0, svg.stderr);
    const text = readFileSync(out, "utf8");
    assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(text, /X-Ray service map/);
    assert.match(text, /process tracemesh:events/);
  });

  test("unreadable or malformed input: exit 2 with the file named", { timeout: 15_000 }, () => {
    const missing = runCli(["compare", "--otlp", join(scratch, "nope.jsonl"), "--xray-segments", xrayFile]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read .*nope\.jsonl: ENOENT/);
    const bad = join(scratch, "bad.jsonl");
    writeFileSync(bad, '{"resourceSpans":[]}\n{not json\n');
    const malformed = runCli(["compare", "--otlp", bad, "--xray-segments", xrayFile]);
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /bad\.jsonl:2: not valid JSON/);
    const wrongShape = join(scratch, "wrong.json");
    writeFileSync(wrongShape, '{"hello":1}\n');
    const r = runCli(["compare", "--otlp", otlpFile, "--xray-segments", wrongShape]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /not an X-Ray segment document/);
    const noOtlp = runCli(["compare", "--xray-segments", xrayFile]);
    assert.equal(noOtlp.status, 2);
    assert.match(noOtlp.stderr, /--otlp FILE is required/);
  });
});
