// The domain rules as units: every layer that checks input uses these, so their edges are pinned here.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ttl } from "@tracemesh/proto";
import {
  DISPLAY_NAME_MAX,
  HANDLE_PATTERN,
  MESSAGE_MAX,
  characters,
  checkDisplayName,
  checkHandle,
  checkMessage,
  hasControlCharacters,
  isHandle,
  isUuid,
  isUuidAnyCase,
  mentionedHandles,
  parseDuration,
} from "../src/index.js";
import { MAX_TTL_MS, TTLS, checkTtl, checkTtlName } from "../src/ttl.js";

describe("domain rules", () => {
  test("handles: 3..20 of [a-z0-9_]", () => {
    assert.equal(HANDLE_PATTERN.source, "^[a-z0-9_]{3,20}$");
    for (const ok of ["ada", "a_b_c", "x".repeat(20), "user_42"]) assert.equal(isHandle(ok), true, ok);
    for (const bad of ["ab", "x".repeat(21), "Ada", "a-b", "", " ada", 42, undefined]) assert.equal(isHandle(bad), false, String(bad));
    assert.deepEqual(checkHandle("ada"), { ok: true, value: "ada" });
    assert.deepEqual(checkHandle("Ada", 'handle "Ada"'), { ok: false, error: 'handle "Ada" must match ^[a-z0-9_]{3,20}$' });
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

  test("messages: 1..280 characters as sent, not blank; stored trimmed; the error says why", () => {
    assert.deepEqual(checkMessage("  hello @bob \n"), { ok: true, value: "hello @bob" });
    assert.deepEqual(checkMessage("m".repeat(MESSAGE_MAX)), { ok: true, value: "m".repeat(MESSAGE_MAX) });
    for (const [bad, error] of [
      ["", /^message must be 1\.\.280 characters and not blank \(got 0\)$/],
      ["   \n  ", /\(got 6\)$/],
      ["m".repeat(MESSAGE_MAX + 1), /\(got 281\)$/],
      [` ${"m".repeat(MESSAGE_MAX)}`, /\(got 281\)$/],
      [42, /^message must be a string$/],
    ] as const) {
      const checked = checkMessage(bad);
      assert.equal(checked.ok, false, String(bad));
      if (!checked.ok) assert.match(checked.error, error);
    }
  });

  test("display names: trimmed, then 1..50 printable characters", () => {
    assert.deepEqual(checkDisplayName("  Ada Lovelace "), { ok: true, value: "Ada Lovelace" });
    for (const bad of ["", "   ", "x".repeat(DISPLAY_NAME_MAX + 1), "a\u0007b", undefined]) {
      assert.equal(checkDisplayName(bad).ok, false, String(bad));
    }
  });

  test("TTLs: one table of names, proto values and durations", () => {
    assert.deepEqual(checkTtlName(undefined), { ok: true, value: Ttl.TTL_7_DAYS });
    assert.deepEqual(checkTtlName("1-hour"), { ok: true, value: Ttl.TTL_1_HOUR });
    assert.equal(checkTtlName("2-days").ok, false);
    assert.equal(checkTtlName(7).ok, false);
    assert.deepEqual(checkTtl(Ttl.TTL_3_HOURS), { ok: true, value: 3 * 3_600_000 });
    assert.equal(checkTtl(Ttl.TTL_UNSPECIFIED).ok, false);
    assert.equal(checkTtl(99 as Ttl).ok, false);
    // Every proto value but TTL_UNSPECIFIED has exactly one rule.
    const values = Object.values(Ttl).filter((v): v is Ttl => typeof v === "number" && v !== Ttl.TTL_UNSPECIFIED && v !== Ttl.UNRECOGNIZED);
    assert.deepEqual(TTLS.map((t) => t.ttl).sort(), values.sort());
    assert.equal(MAX_TTL_MS, 30 * 24 * 3_600_000);
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
