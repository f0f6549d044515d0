// notifications' key names are a contract with the data already in Redis: a rename would orphan every
// stored notification, so they are pinned here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EVENTS_DEAD_LETTER_STREAM, keys } from "../src/store.js";

test("every key and stream notifications owns", () => {
  assert.equal(keys.notifications("ada"), "tracemesh:notifications:ada");
  assert.equal(keys.notification("n1"), "tracemesh:notification:n1");
  assert.equal(EVENTS_DEAD_LETTER_STREAM, "tracemesh:events:dead");
  assert.equal(Object.keys(keys).length, 2, "a new key belongs in this test too");
});
