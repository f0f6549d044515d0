// Every command and subcommand answers --help and -h with its own usage on stdout and exit 0; no command, an
// unknown command or an unknown option is bad usage (exit 2).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";

const mainJs = join(__dirname, "..", "src", "main.js");
const run = (args: string[]) => spawnSync(process.execPath, [mainJs, ...args], { encoding: "utf8", timeout: 30_000 });

describe("tracemesh --help", { timeout: 60_000 }, () => {
  const commands: Array<[string[], RegExp]> = [
    [[], /tracemesh compare[\s\S]*tracemesh setup honeycomb[\s\S]*tracemesh marker[\s\S]*tracemesh demo/],
    [["compare"], /^usage:\n  tracemesh compare --otlp FILE/],
    [["setup"], /tracemesh setup honeycomb[\s\S]*tracemesh setup xray/],
    [["setup", "honeycomb"], /^usage:\n  tracemesh setup honeycomb/],
    [["setup", "xray"], /^usage:\n  tracemesh setup xray/],
    [["setup", "cloudwatch"], /^usage:\n  tracemesh setup cloudwatch/],
    [["trace"], /^usage:\n  tracemesh trace TRACE_ID/],
    [["marker"], /^usage:\n  tracemesh marker/],
    [["demo"], /^usage: tracemesh demo/],
    [["verify"], /^usage:\n  tracemesh verify --otlp FILE/],
    [["stand-in"], /^usage:\n  tracemesh stand-in --dir DIR/],
    [["fault"], /^usage:\n  tracemesh fault list/],
  ];
  for (const [command, usage] of commands) {
    for (const flag of ["--help", "-h"]) {
      test(`tracemesh ${[...command, flag].join(" ")}`, () => {
        const res = run([...command, flag]);
        assert.equal(res.status, 0, res.stderr);
        assert.match(res.stdout, usage);
        assert.equal(res.stderr, "");
      });
    }
  }

  test("bad usage exits 2", () => {
    for (const args of [[], ["frobnicate"], ["compare", "--frobnicate"], ["setup"], ["demo", "--duration", "soon"], ["verify"], ["verify", "--otlp", "a", "--xray-segments", "b", "--node", "n"], ["stand-in"], ["fault"], ["fault", "on"], ["trace"], ["trace", "not-a-trace-id"], ["setup", "cloudwatch", "--log-group", "g", "--cluster", "c"]]) {
      const res = run(args);
      assert.equal(res.status, 2, `${args.join(" ")}: ${res.stderr}`);
    }
  });
});
