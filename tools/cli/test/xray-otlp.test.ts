// compare reads the X-Ray side either as segment documents (--xray-segments) or as the OTLP that X-Ray's OTLP
// endpoint received (--xray-otlp); packages/trace-model/test/xray-otlp.test.ts checks that both draw the same map.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";

// The trace formats' fixtures live with the trace model (packages/trace-model/test/fixtures).
const fixtures = join(dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");
const otlpFile = join(fixtures, "otlp.jsonl");
const xrayFile = join(fixtures, "xray-segments.jsonl");
const mainJs = join(__dirname, "..", "src", "main.js");

describe("tracemesh compare --xray-otlp", { timeout: 30_000 }, () => {
  test("tracemesh compare --xray-otlp reads the OTLP path; with --xray-segments too it is a usage error", () => {
    const r = spawnSync(process.execPath, [mainJs, "compare", "--otlp", otlpFile, "--xray-otlp", otlpFile], { encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    // The same spans on both sides: every edge matches.
    assert.match(r.stdout, /Only in X-Ray \(0\)/);
    assert.match(r.stdout, /Only in Honeycomb \/ OTLP \(0\)/);
    const both = spawnSync(process.execPath, [mainJs, "compare", "--otlp", otlpFile, "--xray-otlp", otlpFile, "--xray-segments", xrayFile], { encoding: "utf8", timeout: 20_000 });
    assert.equal(both.status, 2);
    assert.match(both.stderr, /--xray-segments or --xray-otlp, not both/);
  });
});
