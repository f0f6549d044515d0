// tools: redis
// The per-call cost command: its --config specs, and one short run whose configurations are what they say
// (the SDK off and always_off export nothing, 100 % exports; every kind of call was made and measured).
import assert from "node:assert/strict";
import { test } from "node:test";
import { CALL_KINDS } from "../src/calls-worker.js";
import { CALL_CONFIGS, parseCallConfig, runCalls } from "../src/calls.js";

test("--config ID,VAR=value…: the id and the environment; malformed specs are refused", () => {
  assert.deepEqual(parseCallConfig("nogrpc,OTEL_TRACES_SAMPLER=always_off,OTEL_NODE_DISABLED_INSTRUMENTATIONS=grpc"), {
    id: "nogrpc",
    label: "nogrpc (OTEL_TRACES_SAMPLER=always_off, OTEL_NODE_DISABLED_INSTRUMENTATIONS=grpc)",
    env: { OTEL_TRACES_SAMPLER: "always_off", OTEL_NODE_DISABLED_INSTRUMENTATIONS: "grpc" },
  });
  assert.throws(() => parseCallConfig("x,NOVALUE"), /"NOVALUE" is not VAR=value/);
  assert.throws(() => parseCallConfig("OTEL_X=1"), /start with an id/);
});

test("one short run: off and always_off export nothing, 100 % does; every call kind measured", { timeout: 180_000 }, async () => {
  const configs = CALL_CONFIGS.filter((c) => ["off", "always_off", "s100"].includes(c.id));
  const r = await runCalls(configs, { reps: 1, count: 300 }, () => undefined);
  assert.deepEqual(r.exports, { off: 0, always_off: 0, s100: r.exports.s100 });
  assert.ok(r.exports.s100! > 0, `100 % sampled exported ${r.exports.s100} times`);
  for (const c of configs) for (const k of CALL_KINDS) assert.ok(r.cells[c.id]![k].median > 0, `${c.id} ${k}`);
});
