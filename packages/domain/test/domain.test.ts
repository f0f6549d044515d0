// The domain rules as units: every layer that checks input uses these, so their edges are pinned here.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  DISPLAY_NAME_MAX,
  HANDLE_PATTERN,
  MESSAGE_MAX,
  characters,
  hasControlCharacters,
  isHandle,
  isUuid,
  isUuidAnyCase,
  mentionedHandles,
  parseDuration,
} from "../src/index.js";

describe("domain rules", () => {
  test("handles: 3..20 of [a-z0-9_]", () => {
    assert.equal(HANDLE_PATTERN.source, "^[a-z0-9_]{3,20}$");
    for (const ok of ["ada", "a_b_c", "x".repeat(20), "user_42"]) assert.equal(isHandle(ok), true, ok);
    for (const bad of ["ab", "x".repeat(21), "Ada", "a-b", "", " ada", 42, undefined]) assert.equal(isHandle(bad), false, String(bad));
  });

  test("mentions: @handle after a non-word character, lower-cased, unique, in order", () => {
    assert.deepEqual(mentionedHandles("hi @Ada and @bob, @ada again; mail a@bob.com @@carl @xy"), ["ada", "bob"]);
    assert.deepEqual(mentionedHandles("@first at the start"), ["first"]);
  });

  test("UUIDs: canonical lowercase; any case only where asked", () => {
    const id = "6b05e0c6-7f9a-4e89-92c3-7b0467253c94";
    assert.equal(isUuid(id), true);
    assert.equal(isUuid(id.toUpperCase()), false);
    assert.equal(isUuidAnyCase(id.toUpperCase()), true);
    assert.equal(isUuidAnyCase("6b05e0c6-7f9a-4e89-92c3"), false);
  });

  test("lengths count characters, not UTF-16 units", () => {
    assert.equal(characters("😀".repeat(MESSAGE_MAX)), MESSAGE_MAX);
    assert.equal(characters("é".repeat(DISPLAY_NAME_MAX)), DISPLAY_NAME_MAX);
    assert.equal(hasControlCharacters("a\u0007b"), true);
    assert.equal(hasControlCharacters("Ada Lovelace"), false);
  });

  test("one duration grammar: ms, s, m, h, decimals, bare seconds", () => {
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("30s"), 30_000);
    assert.equal(parseDuration("2m"), 120_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("1.5s"), 1500);
    assert.equal(parseDuration("45"), 45_000);
    for (const bad of ["", "10x", "s", "-1s", "1 h", "1d"]) assert.equal(parseDuration(bad), undefined, bad);
  });
});
