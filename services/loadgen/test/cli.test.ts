// The loadgen command line as a real process: flags and LOADGEN_* variables, bad usage (exit 2), thresholds
// (exit 1 with one line per breach), --json, merge, the Indexed Job split, --wait-ready and SIGTERM.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, startProcess, stopAll, waitFor } from "@tracemesh/devkit";
import { FLAG_FILE_ENV as FLAGS_FILE_ENV, switchFault, writeFlagFile } from "@tracemesh/flags";
import { FLAG_FILE_ENV } from "../src/config.js";
import { startFakeApi, type FakeApi } from "./fake-api.js";
import { Recorder, summarize, type Summary } from "../src/index.js";

const MAIN = path.join(__dirname, "..", "src", "main.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "loadgen-test-"));

/** Runs the CLI to completion (async, so the in-process fake API keeps answering). */
async function cli(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LOADGEN_") && k !== "JOB_COMPLETION_INDEX"));
  const proc = startProcess("loadgen", process.execPath, [MAIN, ...args], { env: { ...clean, ...env } });
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 30_000);
  const { code } = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.output() };
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Summary;

describe("loadgen CLI", { timeout: 120_000 }, () => {
  let api: FakeApi;
  let flaky: FakeApi;
  before(async () => {
    api = await startFakeApi();
    flaky = await startFakeApi({ failNotificationsEvery: 2 });
  });
  after(async () => {
    await stopAll();
    await api.close();
    await flaky.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("bad flags and variables exit 2 with one clear line", { timeout: 30_000 }, async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["--rate", "abc"], {}, /--rate must be a number, got "abc"/],
      [["--bogus"], {}, /Unknown option '--bogus'/],
      [["--duration", "10x"], {}, /--duration must be a duration like 30s/],
      [["--p99", "nope"], {}, /--p99 must look like 'GET \/api\/activities\/home=250'/],
      [["--p99", "GET /api/activities/home=fast"], {}, /--p99 limit of "GET \/api\/activities\/home" must be a number/],
      [["--max-error-rate", "2"], {}, /--max-error-rate must be <= 1, got 2/],
      [["--scenario", '{"flows": {"dance": 1}}'], {}, /unknown flow "dance" \(known: browse_home/],
      [["--scenario", "/no/such/file.json"], {}, /cannot read scenario file "\/no\/such\/file.json": ENOENT/],
      [["--base-url", "localhost:8080"], {}, /--base-url must be/],
      [[], { LOADGEN_RATE: "-5" }, /LOADGEN_RATE must be > 0, got -5/],
      [[], { LOADGEN_SCENARIO: '{"flows": {"post": "lots"}}' }, /LOADGEN_SCENARIO: weight of flow "post" must be a number/],
      [[], { JOB_COMPLETION_INDEX: "3", LOADGEN_PARALLELISM: "2" }, /JOB_COMPLETION_INDEX 3 must be < LOADGEN_PARALLELISM 2/],
      [["merge"], {}, /merge needs at least one summary file/],
    ];
    const results = await Promise.all(cases.map(([args, env]) => cli(args, env)));
    cases.forEach(([args, env, message], i) => {
      const { code, output } = results[i]!;
      assert.equal(code, 2, `${args.join(" ")} ${JSON.stringify(env)}: exit ${code}\n${output}`);
      assert.match(output, message);
      assert.ok(!/\n\s+at /.test(output), `no stack trace for bad usage:\n${output}`);
    });
  });

  test("a breached threshold exits 1 with one line per breach", { timeout: 30_000 }, async () => {
    const { code, output } = await cli([
      "--base-url", flaky.url, "--rate", "100", "--duration", "1s",
      "--scenario", '{"flows": {"read_notifications": 1}, "users": 3}',
      "--max-error-rate", "0.01",
      "--p99", "GET /api/notifications=0.001",
      "--p99", "GET /api/activities/home=100",
    ]);
    assert.equal(code, 1, output);
    assert.match(output, /threshold breached: error rate \d+\.\d+ % > max 1\.00 %/);
    assert.match(output, /threshold breached: p99 of "GET \/api\/notifications" [\d.]+ ms > 0\.001 ms/);
    assert.match(output, /threshold breached: p99 of "GET \/api\/activities\/home" has no requests/);
    assert.match(output, /GET \/api\/notifications\s+\d+\s+\d+/, "the summary table is still printed");
    assert.match(output, /error kinds: HTTP 503 × \d+/);
  });

  test("a run within its thresholds exits 0 and writes the JSON summary; flags come from LOADGEN_* too", { timeout: 30_000 }, async () => {
    const out = path.join(tmp, "ok.json");
    const { code, output } = await cli(["--max-error-rate", "0.01", "--p99", "GET /healthz=5000"], {
      LOADGEN_BASE_URL: api.url,
      LOADGEN_RATE: "50",
      LOADGEN_DURATION: "1s",
      LOADGEN_SCENARIO: '{"flows": {"ping": 1}}',
      LOADGEN_JSON: out,
    });
    assert.equal(code, 0, output);
    assert.match(output, /rate: achieved [\d.]+ req\/s vs target 50\.0 req\/s/);
    const s = readJson(out);
    assert.equal(s.target_rate, 50);
    assert.ok(s.duration_s >= 0.9 && s.duration_s < 5, String(s.duration_s));
    assert.ok(s.routes["GET /healthz"]!.count >= 45, JSON.stringify(s.routes));
    for (const key of ["count", "errors", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"]) assert.equal(typeof (s.routes["GET /healthz"] as unknown as Record<string, unknown>)[key], "number", key);
    assert.equal(typeof s.histograms["GET /healthz"], "string");
  });

  test("Indexed Job: each pod runs rate/N with its own user handles", { timeout: 30_000 }, async () => {
    const out = path.join(tmp, "pod1.json");
    const { code, output } = await cli(
      ["--base-url", api.url, "--rate", "120", "--duration", "1s", "--scenario", '{"flows": {"post": 1}, "users": 2}', "--json", out],
      { JOB_COMPLETION_INDEX: "1", LOADGEN_PARALLELISM: "3", LOADGEN_RUN_ID: "job7" },
    );
    assert.equal(code, 0, output);
    const s = readJson(out);
    assert.equal(s.target_rate, 40);
    assert.equal(s.job_target_rate, 120);
    assert.equal(s.user_prefix, "lg_job7_1_");
    assert.ok(s.requests >= 32 && s.requests <= 48, `${s.requests} requests at 40 req/s for 1 s`);
  });

  test("merge adds the histograms exactly and applies thresholds to the merged result", { timeout: 30_000 }, async () => {
    const a = new Recorder();
    const b = new Recorder();
    const together = new Recorder();
    for (let i = 1; i <= 5000; i++) {
      const latency = i % 2 ? i / 100 : 100 + i / 10;
      (i % 2 ? a : b).route("GET /api/activities/home").record(latency, undefined);
      together.route("GET /api/activities/home").record(latency, undefined);
    }
    const meta = { target_rate: 50, duration_s: 10, dropped_flows: 0 };
    fs.writeFileSync(path.join(tmp, "a.json"), JSON.stringify(summarize(a, meta)));
    fs.writeFileSync(path.join(tmp, "b.json"), JSON.stringify(summarize(b, meta)));
    const merged = path.join(tmp, "merged.json");
    const { code, output } = await cli(["merge", path.join(tmp, "a.json"), path.join(tmp, "b.json"), "--json", merged, "--p99", "GET /api/activities/home=400"]);
    const expected = summarize(together, { ...meta, target_rate: 100 });
    assert.deepEqual(readJson(merged).routes, expected.routes);
    assert.equal(readJson(merged).shards, 2);
    // p99 of the merged data is ~590 ms: the threshold judges the merged result.
    assert.equal(code, 1, output);
    assert.match(output, /threshold breached: p99 of "GET \/api\/activities\/home" 59\d\.\d+ ms > 400 ms/);

    fs.writeFileSync(path.join(tmp, "junk.json"), '{"hello": 1}');
    const bad = await cli(["merge", path.join(tmp, "a.json"), path.join(tmp, "junk.json")]);
    assert.equal(bad.code, 2, bad.output);
    assert.match(bad.output, /junk\.json: not a loadgen summary/);
  });

  test("--wait-ready gives up after its bound with the reason", { timeout: 30_000 }, async () => {
    const port = await freePort(); // nothing listens there
    const started = Date.now();
    const { code, output } = await cli(["--base-url", `http://127.0.0.1:${port}`, "--wait-ready", "1500ms", "--duration", "1s"]);
    assert.equal(code, 1, output);
    assert.match(output, /readyz did not answer 200 within 1\.5 s \(last: ECONNREFUSED\)/);
    assert.ok(Date.now() - started < 10_000);
  });

  test("loadgen-surge ×3 in the flag file (loaded only when its variable is set) triples the rate", { timeout: 30_000 }, async () => {
    assert.equal(FLAG_FILE_ENV, FLAGS_FILE_ENV, "config.ts spells the variable as @tracemesh/flags does");
    const flags = path.join(tmp, "flags.json");
    writeFlagFile(flags, switchFault({ flags: {} }, "loadgen-surge", 3, true));
    const out = path.join(tmp, "surge.json");
    const args = ["--base-url", api.url, "--rate", "40", "--duration", "2s", "--scenario", '{"flows": {"ping": 1}}', "--json", out];
    const { code, output } = await cli(args, { [FLAG_FILE_ENV]: flags });
    assert.equal(code, 0, output);
    assert.match(output, /fault loadgen-surge is acting \(value 3\)/);
    const s = readJson(out);
    // 80 base arrivals plus up to 160 surge ones (the surge starts once the flag file is read).
    assert.ok(s.requests >= 180 && s.requests <= 250, `${s.requests} requests`);
  });

  test("SIGTERM stops scheduling, drains and prints the summary", { timeout: 30_000 }, async () => {
    const out = path.join(tmp, "sigterm.json");
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LOADGEN_")));
    const proc = startProcess("loadgen", process.execPath, [MAIN, "--base-url", api.url, "--rate", "50", "--duration", "60s", "--scenario", '{"flows": {"ping": 1}}', "--json", out], { env: clean });
    // Not a TTY: plain progress lines every 5 s; wait for the first to know the run is under way.
    await waitFor("a progress line", () => /\d+ requests/.test(proc.output()), { timeoutMs: 15_000 });
    const stoppedAt = Date.now();
    proc.child.kill("SIGTERM");
    const { code } = await proc.exited;
    assert.equal(code, 0, proc.output());
    assert.ok(Date.now() - stoppedAt < 5000, "stops promptly");
    assert.match(proc.output(), /SIGTERM, stopping/);
    assert.match(proc.output(), /GET \/healthz\s+\d+\s+0/);
    const s = readJson(out);
    assert.equal(s.stopped_early, true);
    assert.ok(s.duration_s < 30 && s.requests >= 200, `${s.requests} requests in ${s.duration_s} s`);
  });
});
