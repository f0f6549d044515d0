// users' key names are a contract with the data already in Redis: a rename would orphan every stored user
// and session, so they are pinned here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keys } from "../src/store.js";

test("every key users owns", () => {
  assert.equal(keys.user("ada"), "tracemesh:user:ada");
  assert.equal(keys.session("tok"), "tracemesh:session:tok");
  assert.equal(Object.keys(keys).length, 2, "a new key belongs in this test too");
});
