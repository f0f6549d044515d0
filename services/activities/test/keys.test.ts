// activities' key names are a contract with the data already in Redis: a rename would orphan every
// stored activity, timeline, reply and like, so they are pinned here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keys } from "../src/store.js";

test("every key activities owns", () => {
  assert.equal(keys.activity("u1"), "tracemesh:activity:u1");
  assert.equal(keys.homeTimeline(), "tracemesh:timeline:home");
  assert.equal(keys.userTimeline("ada"), "tracemesh:timeline:user:ada");
  assert.equal(keys.replies("u1"), "tracemesh:replies:u1");
  assert.equal(keys.likes("u1"), "tracemesh:likes:u1");
  assert.equal(Object.keys(keys).length, 5, "a new key belongs in this test too");
});
