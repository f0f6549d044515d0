// tools: redis schemathesis
// The HTTP API fuzzed from its own contract: schemathesis (PyPI; scripts/tools/26-schemathesis.sh)
// reads GET /api/openapi.json from the running mesh and generates ≥ 10,000 requests with a fixed
// seed — schema-valid and schema-violating, authenticated with a real token, every check on
// (server errors, status codes, content types, headers, response schemas, negative data rejected,
// positive data accepted, auth ignored, stateful links). 0 failures, and no process exits.
// tests/schemathesis.toml holds the one documented exception (opaque feed cursors). Moderation's
// repeated-characters rule is in the document (the message's `not` pattern); api-bad-input checks it agrees.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { repoRoot, startProcess } from "@tracemesh/devkit";
import { startMesh, type Mesh } from "@tracemesh/mesh";
import { report, request, signUp, type SignedUp } from "./reliability-helpers.js";

const SEED = 20261201;
// Per operation and phase; with 12 operations this yields > 10,000 cases in all.
const MAX_EXAMPLES = 800;
const MIN_CASES = 10_000;

function findSchemathesis(): string {
  const cache = process.env.TRACEMESH_CACHE ?? path.join(os.homedir(), ".cache", "tracemesh");
  const bin = process.env.SCHEMATHESIS_BIN ?? path.join(cache, "bin", "schemathesis");
  if (!fs.existsSync(bin)) throw new Error(`schemathesis not found at ${bin}: run bash scripts/tools/26-schemathesis.sh`);
  return bin;
}

interface SchemathesisReport {
  exit_code: number;
  complete: boolean;
  test_cases: { generated: number; with_failures: number; unique_failures: number; errored: number };
  failures: unknown[];
  errors: unknown[];
  operations: { total: number; tested: number };
  running_time: number;
}

describe("reliability: the API fuzzed from its OpenAPI document", { timeout: 900_000 }, () => {
  let mesh: Mesh;
  let user: SignedUp;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-fuzz-"));

  before(async () => {
    // Moderation must answer (not be skipped after its 300 ms default under a busy machine): the document
    // describes what it refuses, so a skipped check would read as schema-violating data accepted.
    mesh = await startMesh({ env: { LOG_LEVEL: "warn" }, serviceEnv: { activities: { MODERATION_DEADLINE_MS: "2000" } } });
    user = await signUp(mesh.apiUrl, "fuzzer");
    await request(mesh.apiUrl, "/api/activities", { method: "POST", token: user.token, body: { message: "something to read @fuzzer" } });
  });
  after(async () => {
    await mesh?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test(`schemathesis, all checks, seed ${SEED}: ≥ ${MIN_CASES} cases, 0 failures`, { timeout: 840_000 }, async () => {
    const reportPath = path.join(dir, "report.json");
    const proc = startProcess("schemathesis", findSchemathesis(), [
      "--config-file", path.join(repoRoot(), "tests", "schemathesis.toml"),
      "run", `${mesh.apiUrl}/api/openapi.json`,
      "--header", `Authorization: Bearer ${user.token}`,
      "--checks", "all",
      "--max-examples", String(MAX_EXAMPLES),
      "--seed", String(SEED),
      // One worker: with two threads, both build hypothesis strategies whose descriptions go through ast.parse,
      // and CPython 3.11's AST converter keeps its recursion depth in interpreter-wide state. Now and then the
      // coverage phase died of "SystemError: AST constructor recursion depth mismatch" (seen in threaded
      // programs only, cpython#106905): a runtime error in the report, not a finding about the API.
      "--workers", "1",
      "--request-timeout", "10",
      "--generation-database", "none",
      "--no-color",
      "--report", "json",
      "--report-json-path", reportPath,
    ], { cwd: dir });
    const killer = setTimeout(() => proc.child.kill("SIGKILL"), 800_000);
    const status = await proc.exited;
    clearTimeout(killer);
    const output = proc.output();
    assert.ok(fs.existsSync(reportPath), `schemathesis wrote its report (exit ${status.code}):\n${output.slice(-4000)}`);
    const result = JSON.parse(fs.readFileSync(reportPath, "utf8")) as SchemathesisReport;
    assert.equal(result.complete, true, output.slice(-4000));
    assert.deepEqual([result.failures.length, result.errors.length], [0, 0], `failures:\n${output.slice(-8000)}`);
    assert.equal(result.exit_code, 0, output.slice(-4000));
    assert.equal(result.operations.tested, result.operations.total, "every operation tested");
    assert.ok(result.test_cases.generated >= MIN_CASES, `${result.test_cases.generated} cases generated (≥ ${MIN_CASES})`);
    for (const [name, p] of Object.entries(mesh.processes)) assert.equal(p.child.exitCode, null, `${name} still running`);
    const serverErrors = mesh.processes.api.jsonLines().filter((l) => l.msg === "request" && Number(l.status) >= 500).length;
    assert.equal(serverErrors, 0, "the api logged no 5xx");

    report({
      scenario: "fuzzing",
      fault: `schemathesis ${/schemathesis v?([\d.]+)/i.exec(output)?.[1] ?? ""} against GET /api/openapi.json, all checks, seed ${SEED}`,
      duration: `${Math.round(result.running_time)} s`,
      load: `${result.test_cases.generated} generated cases over ${result.operations.tested} operations (authenticated)`,
      during: { failures: result.failures.length, errors: result.errors.length, "api 5xx": serverErrors },
      checked: "every check passed; no process exited",
      recovery: "n/a",
      figures: { test_cases: result.test_cases },
    });
  });
});
