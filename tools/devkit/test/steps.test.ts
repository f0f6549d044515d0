// sharedStep: the step runs once however many tests ask for it, at the first ask (not before), and a failed step
// fails every asker with the step's own error.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { sharedStep } from "../src/index.js";

describe("sharedStep", () => {
  test("runs the step on first use only, and every caller gets the same result", async () => {
    let runs = 0;
    const step = sharedStep(async () => {
      runs++;
      return { made: runs };
    });
    assert.equal(runs, 0, "nothing runs before a test asks");
    const [a, b] = await Promise.all([step(), step()]);
    const c = await step();
    assert.equal(runs, 1);
    assert.equal(a, b);
    assert.equal(a, c);
    assert.deepEqual(a, { made: 1 });
  });

  test("a failed step fails every caller with its own error, without running again", async () => {
    let runs = 0;
    const step = sharedStep(async () => {
      runs++;
      throw new Error("the flow did not run");
    });
    await assert.rejects(step(), /the flow did not run/);
    await assert.rejects(step(), /the flow did not run/);
    assert.equal(runs, 1);
  });
});
