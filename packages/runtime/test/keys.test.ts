// Key names are a contract with the data already in Redis: a rename would orphan every stored user,
// activity and session, so they are pinned here (the prefix and the shared stream) and in each owner's
// test/keys.test.ts (its own keys).
import assert from "node:assert/strict";
import { test } from "node:test";
import { EVENTS_CONSUMER_GROUP, EVENTS_STREAM, redisKey } from "../src/index.js";

test("the key prefix and the shared stream's names", () => {
  assert.equal(redisKey("user", "ada"), "tracemesh:user:ada");
  assert.equal(redisKey("timeline", "user", "ada"), "tracemesh:timeline:user:ada");
  assert.equal(EVENTS_STREAM, "tracemesh:events");
  assert.equal(EVENTS_CONSUMER_GROUP, "notifications");
});
