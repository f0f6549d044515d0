// Benchmark 6's parts that need no mesh: runtime names, finding their binaries, and the report section.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { OVERHEAD_ROUTES, type OverheadCell, type OverheadResult } from "../src/overhead.js";
import { runtimesSection } from "../src/report.js";
import { parseRuntimeSpec, resolveRuntimes, runtimeConfigId, type NodeRuntime } from "../src/runtimes.js";
import { spread } from "../src/stats.js";

const major = Number(process.versions.node.split(".")[0]);

describe("runtime names", () => {
  test("nodeNN and nodeNN-no-acf", () => {
    assert.deepEqual(parseRuntimeSpec("node20"), { id: "node20", major: 20, noAcf: false });
    assert.deepEqual(parseRuntimeSpec(" node24-no-acf "), { id: "node24-no-acf", major: 24, noAcf: true });
    for (const bad of ["node", "24", "node24-acf", "deno2", "node24 --inspect"]) assert.throws(() => parseRuntimeSpec(bad), /nodeNN/);
  });
});

describe("resolveRuntimes", () => {
  test("finds this process's Node by its major; --no-async-context-frame only where Node has it", () => {
    const { runtimes, missing } = resolveRuntimes([`node${major}`], { required: true, candidates: [process.execPath] });
    assert.deepEqual(missing, []);
    assert.equal(runtimes[0]!.execPath, process.execPath);
    assert.equal(runtimes[0]!.version, process.version);
    assert.deepEqual(runtimes[0]!.execArgv, []);
    if (major >= 24) {
      assert.equal(runtimes[0]!.asyncContext, "AsyncContextFrame");
      const [noAcf] = resolveRuntimes([`node${major}-no-acf`], { required: true, candidates: [process.execPath] }).runtimes;
      assert.deepEqual(noAcf!.execArgv, ["--no-async-context-frame"]);
      assert.equal(noAcf!.asyncContext, "async hooks");
      // The flag is one Node takes: the binary starts with it.
      const run = spawnSync(noAcf!.execPath, [...noAcf!.execArgv, "-p", "process.execArgv[0]"], { encoding: "utf8", timeout: 10_000 });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), "--no-async-context-frame");
    } else {
      assert.equal(runtimes[0]!.asyncContext, "async hooks");
      assert.throws(() => resolveRuntimes([`node${major}-no-acf`], { required: true, candidates: [process.execPath] }), /has no --no-async-context-frame/);
    }
  });

  test("a runtime not found fails when named, and is only reported otherwise", () => {
    assert.throws(() => resolveRuntimes(["node99"], { required: true, candidates: [process.execPath] }), /runtime node99: no Node 99 found/);
    const { runtimes, missing } = resolveRuntimes(["node99", `node${major}`], { required: false, candidates: [process.execPath] });
    assert.deepEqual(runtimes.map((r) => r.id), [`node${major}`]);
    assert.match(missing[0]!, /^node99: no Node 99 found \(looked at .* v\d+/);
  });
});

describe("runtimesSection", () => {
  const runtimes: NodeRuntime[] = [
    { id: "node20", execPath: "/usr/bin/node", execArgv: [], version: "v20.20.2", asyncContext: "async hooks" },
    { id: "node24-no-acf", execPath: "/cache/node/24.22.3/bin/node", execArgv: ["--no-async-context-frame"], version: "v24.22.3", asyncContext: "async hooks" },
    { id: "node24", execPath: "/cache/node/24.22.3/bin/node", execArgv: [], version: "v24.22.3", asyncContext: "AsyncContextFrame" },
  ];
  // Traced max rates 300/330/360 (untraced 500 for all); traced p99 60/50/40 ms at the common rate.
  const cellOf = (maxRate: number, p99: number): OverheadCell => ({
    maxRate: spread([maxRate]),
    maxErrorRuns: 0,
    halfRate: 150,
    halfAchieved: spread([150]),
    halfP50: spread([5]),
    halfP99: spread([p99]),
    halfErrors: 0,
  });
  const cells = {} as OverheadResult<string>["cells"];
  const cpuPerRequest = {} as OverheadResult<string>["cpuPerRequest"];
  for (const route of OVERHEAD_ROUTES) {
    cells[route] = {};
    cpuPerRequest[route] = {};
    runtimes.forEach((r, i) => {
      cells[route][runtimeConfigId(r.id, "untraced")] = cellOf(500, 20);
      cells[route][runtimeConfigId(r.id, "traced")] = cellOf(300 + 30 * i, 60 - 10 * i);
      cpuPerRequest[route][runtimeConfigId(r.id, "untraced")] = { api: spread([1]), users: spread([1]) };
      cpuPerRequest[route][runtimeConfigId(r.id, "traced")] = { api: spread([2]), users: spread([2 - 0.5 * i]) };
    });
  }
  const settings = { reps: 1, maxDurationS: 1, halfDurationS: 1, connections: 16, warmupS: 0 };
  const section = runtimesSection({ runtimes, overhead: { cells, cpuPerRequest } }, settings);

  test("a row per route and runtime: max rates, their ratio, p99 at the common rate, CPU per request", () => {
    assert.equal(section.title, "6. Node runtimes: AsyncContextFrame on its own");
    assert.match(section.body, /\| GET \/api\/activities\/home \| node20 +\| 500 +\| 300 +\| 60\.0 % +\| 20\.0 +\| 60\.0 +\| \+200\.0 % +\| 2\.00 +\| 4\.00 +\|/);
    assert.match(section.body, /\| POST \/api\/activities +\| node24 +\| 500 +\| 360 +\| 72\.0 % +\| 20\.0 +\| 40\.0 +\| \+100\.0 % +\| 2\.00 +\| 3\.00 +\|/);
    assert.match(section.body, /\| node24-no-acf \| v24\.22\.3 \| --no-async-context-frame \| async hooks +\| \/cache\/node\/24\.22\.3\/bin\/node \|/);
    assert.match(section.body, /GET \/api\/activities\/home 150 req\/s, POST \/api\/activities 150 req\/s/);
  });

  test("says what AsyncContextFrame changes on its own, and Node 24 against 20", () => {
    assert.match(section.body, /\*\*AsyncContextFrame on its own[^*]*\*\* \(node24 vs node24-no-acf\): GET \/api\/activities\/home: traced max rate \+9\.1 %, traced CPU per request -14\.3 %, traced p99 -20\.0 %/);
    assert.match(section.body, /\(node24-no-acf vs node20\): GET \/api\/activities\/home: traced max rate \+10\.0 %/);
    assert.match(section.body, /\(node24 vs node20\)/);
    assert.deepEqual(section.goals, []);
  });
});
