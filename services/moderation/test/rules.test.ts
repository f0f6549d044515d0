import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BLOCKED_WORDS, MAX_LINKS, MAX_RUN, RULES, linkSpam, moderate, repeatedCharacters, wordList } from "../src/rules.js";
import { parseCheckRequest, TEXT_MAX } from "../src/handlers.js";
import { loadConfig } from "../src/config.js";

describe("moderation rules", () => {
  test("ordinary posts pass every rule", () => {
    for (const text of ["load test post 12 for @ada @bob", "reply 3 to you @cy", "see https://example.com and www.example.org", "1000000 🎉🎉🎉"]) {
      assert.deepEqual(moderate(text), { allowed: true, reasons: [] }, text);
    }
  });

  test("word list: whole words, any case, Unicode-folded, each word once", () => {
    assert.deepEqual(wordList.check("CASINO night at the casino"), ['word_list: "casino" is not allowed']);
    assert.deepEqual(wordList.check("ｃａｓｉｎｏ"), ['word_list: "casino" is not allowed'], "full-width letters fold to ASCII");
    assert.deepEqual(wordList.check("casinos and occasional"), [], "not inside other words");
    assert.deepEqual(wordList.check("try crypto-doubler"), ['word_list: "crypto-doubler" is not allowed']);
    assert.ok(BLOCKED_WORDS.length > 0);
  });

  test("link spam: more than MAX_LINKS links", () => {
    const links = (n: number) => Array.from({ length: n }, (_, i) => `https://x${i}.example`).join(" ");
    assert.deepEqual(linkSpam.check(links(MAX_LINKS)), []);
    assert.deepEqual(linkSpam.check(links(MAX_LINKS + 1)), [`link_spam: ${MAX_LINKS + 1} links (at most ${MAX_LINKS})`]);
    assert.deepEqual(linkSpam.check("www.a.test http://b.test HTTPS://c.test"), ["link_spam: 3 links (at most 2)"]);
  });

  test("repeated characters: a run over MAX_RUN of one non-space character, the longest run per character", () => {
    assert.deepEqual(repeatedCharacters.check("a".repeat(MAX_RUN)), []);
    assert.deepEqual(repeatedCharacters.check("so" + "o".repeat(MAX_RUN) + " nice!!!!!!!!!!!! and " + "o".repeat(MAX_RUN + 5)), [
      `repeated_characters: "o" ${MAX_RUN + 5} times in a row (at most ${MAX_RUN})`,
      `repeated_characters: "!" 12 times in a row (at most ${MAX_RUN})`,
    ]);
    assert.deepEqual(repeatedCharacters.check("a" + " ".repeat(40) + "b"), [], "whitespace runs are not counted");
    assert.deepEqual(repeatedCharacters.check("🎉".repeat(MAX_RUN + 1)), [`repeated_characters: "🎉" ${MAX_RUN + 1} times in a row (at most ${MAX_RUN})`]);
  });

  test("moderate: every rule runs, in order, reasons concatenated; the wrapper sees each rule", () => {
    const seen: string[] = [];
    const verdict = moderate("casino " + "z".repeat(20) + " www.a www.b www.c", (rule, run) => {
      seen.push(rule.name);
      return run();
    });
    assert.deepEqual(seen, RULES.map((r) => r.name));
    assert.equal(verdict.allowed, false);
    assert.deepEqual(verdict.reasons.map((r) => r.split(":")[0]), ["word_list", "link_spam", "repeated_characters"]);
  });
});

describe("check request validation", () => {
  test("accepts text with an optional handle", () => {
    assert.deepEqual(parseCheckRequest({ text: "hi" }), { text: "hi" });
    assert.deepEqual(parseCheckRequest({ text: "hi", handle: "ada_l" }), { text: "hi", handle: "ada_l" });
  });
  test("refuses what is not a check", () => {
    for (const body of [null, [], "text", { text: 3 }, { text: "" }, { text: "x".repeat(TEXT_MAX + 1) }, { text: "hi", handle: "Ada!" }]) {
      assert.throws(() => parseCheckRequest(body), (err: Error & { status?: number }) => err.status === 400, JSON.stringify(body));
    }
  });
});

describe("configuration", () => {
  test("defaults and the X-Ray daemon address forms", () => {
    assert.deepEqual(loadConfig({}), { port: 8090, tracing: "xray-sdk", xrayDaemonAddress: "127.0.0.1:2000", drainTimeoutMs: 5000, logLevel: "info" });
    assert.equal(loadConfig({ AWS_XRAY_DAEMON_ADDRESS: "10.0.0.7:2000" }).xrayDaemonAddress, "10.0.0.7:2000");
    assert.equal(loadConfig({ AWS_XRAY_DAEMON_ADDRESS: "tcp:127.0.0.1:2001 udp:127.0.0.1:2000" }).xrayDaemonAddress, "tcp:127.0.0.1:2001 udp:127.0.0.1:2000");
    for (const bad of ["2000", "udp:127.0.0.1:2000", "host:", "udp:a:1 udp:b:2"]) {
      assert.throws(() => loadConfig({ AWS_XRAY_DAEMON_ADDRESS: bad }), /AWS_XRAY_DAEMON_ADDRESS/, bad);
    }
    assert.throws(() => loadConfig({ PORT: "http" }), /PORT/);
  });

  test("MODERATION_TRACING: xray-sdk by default, otel reads no X-Ray setting, anything else is refused", () => {
    assert.deepEqual(loadConfig({ MODERATION_TRACING: "otel", AWS_XRAY_DAEMON_ADDRESS: "nowhere" }), { port: 8090, tracing: "otel", drainTimeoutMs: 5000, logLevel: "info" });
    assert.equal(loadConfig({ MODERATION_TRACING: "xray-sdk" }).tracing, "xray-sdk");
    assert.throws(() => loadConfig({ MODERATION_TRACING: "xray" }), /MODERATION_TRACING must be one of xray-sdk, otel/);
    assert.throws(() => loadConfig({ DRAIN_TIMEOUT_MS: "-1" }), /DRAIN_TIMEOUT_MS/);
  });
});
