// Key names are a contract with the data already in Redis: a rename would orphan every stored user,
// activity and session, so they are pinned here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { EVENTS_CONSUMER_GROUP, EVENTS_DEAD_LETTER_STREAM, EVENTS_STREAM, keys } from "../src/index.js";

test("every key and stream name", () => {
  assert.equal(keys.user("ada"), "tracemesh:user:ada");
  assert.equal(keys.session("tok"), "tracemesh:session:tok");
  assert.equal(keys.activity("u1"), "tracemesh:activity:u1");
  assert.equal(keys.homeTimeline(), "tracemesh:timeline:home");
  assert.equal(keys.userTimeline("ada"), "tracemesh:timeline:user:ada");
  assert.equal(keys.replies("u1"), "tracemesh:replies:u1");
  assert.equal(keys.likes("u1"), "tracemesh:likes:u1");
  assert.equal(keys.notifications("ada"), "tracemesh:notifications:ada");
  assert.equal(keys.notification("n1"), "tracemesh:notification:n1");
  assert.equal(EVENTS_STREAM, "tracemesh:events");
  assert.equal(EVENTS_DEAD_LETTER_STREAM, "tracemesh:events:dead");
  assert.equal(EVENTS_CONSUMER_GROUP, "notifications");
  assert.equal(Object.keys(keys).length, 9, "a new key belongs in this test too");
});
