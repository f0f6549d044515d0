// The A/B command's --config specs (the meshes themselves are what bench-smoke runs).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "../src/ab.js";

test("--config ID[=BASE][,VAR=value…]: the base, the environment and NODE_FLAGS", () => {
  assert.deepEqual(parseConfig("untraced"), { id: "untraced", base: "untraced", env: {}, nodeFlags: [] });
  assert.deepEqual(parseConfig("s10=ours,OTEL_TRACES_SAMPLER=parentbased_traceidratio,OTEL_TRACES_SAMPLER_ARG=0.1"), {
    id: "s10",
    base: "ours",
    env: { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" },
    nodeFlags: [],
  });
  // Node flags, not a variable: they follow the heap sizes on the command line, so they override them.
  assert.deepEqual(parseConfig("semi32=ours,NODE_FLAGS=--max-semi-space-size=32  --trace-gc,A=b=c"), {
    id: "semi32",
    base: "ours",
    env: { A: "b=c" },
    nodeFlags: ["--max-semi-space-size=32", "--trace-gc"],
  });
  assert.throws(() => parseConfig("x=jaeger"), /the base must be untraced, ours or otel-demo/);
  assert.throws(() => parseConfig("ours,NOVALUE"), /"NOVALUE" is not VAR=value/);
  assert.throws(() => parseConfig("d=otel-demo,NODE_FLAGS=--trace-gc"), /NODE_FLAGS is not supported with otel-demo/);
});
