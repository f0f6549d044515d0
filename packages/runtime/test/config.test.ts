// Config parsing as units: every parser either returns the typed value or throws a ConfigError that
// names the variable (what makes a bad deployment fail fast with one line).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, bool, grpcAddress, grpcServiceConfig, int, logLevel, oneOf, optionalStr, port, redisUrl, str } from "../src/index.js";

const refused = (fn: () => unknown, variable: string, detail: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.variable, variable);
    assert.match(err.message, new RegExp(`^invalid configuration: ${variable} `));
    assert.match(err.message, detail);
    return true;
  });

describe("config parsers", () => {
  test("strings: blank counts as unset, values are trimmed", () => {
    assert.equal(str({ A: "  x  " }, "A", "d"), "x");
    assert.equal(str({ A: "   " }, "A", "d"), "d");
    assert.equal(optionalStr({}, "A"), undefined);
    assert.equal(optionalStr({ A: "" }, "A"), undefined);
  });

  test("int: digits only, within the range", () => {
    assert.equal(int({}, "N", 7), 7);
    assert.equal(int({ N: "-3" }, "N", 7), -3);
    refused(() => int({ N: "1.5" }, "N", 7), "N", /must be an integer, got "1.5"/);
    refused(() => int({ N: "12abc" }, "N", 7), "N", /must be an integer/);
    refused(() => int({ N: "0" }, "N", 7, { min: 1 }), "N", /must be >= 1, got 0/);
    refused(() => int({ N: "70000" }, "N", 7, { max: 60_000 }), "N", /must be <= 60000/);
  });

  test("port: 0..65535 (0 = any free port)", () => {
    assert.equal(port({ PORT: "0" }, "PORT", 8080), 0);
    assert.equal(port({}, "PORT", 8080), 8080);
    refused(() => port({ PORT: "65536" }, "PORT", 8080), "PORT", /<= 65535/);
    refused(() => port({ PORT: "abc" }, "PORT", 8080), "PORT", /integer/);
  });

  test("bool: the usual spellings, anything else refused", () => {
    for (const yes of ["1", "true", "YES", "On"]) assert.equal(bool({ B: yes }, "B", false), true, yes);
    for (const no of ["0", "false", "no", "OFF"]) assert.equal(bool({ B: no }, "B", true), false, no);
    assert.equal(bool({}, "B", true), true);
    refused(() => bool({ B: "maybe" }, "B", false), "B", /true or false/);
  });

  test("oneOf and LOG_LEVEL", () => {
    assert.equal(oneOf({ M: "b" }, "M", ["a", "b"] as const, "a"), "b");
    refused(() => oneOf({ M: "c" }, "M", ["a", "b"] as const, "a"), "M", /one of a, b/);
    assert.equal(logLevel({}), "info");
    assert.equal(logLevel({ LOG_LEVEL: "silent" }), "silent");
    refused(() => logLevel({ LOG_LEVEL: "loud" }), "LOG_LEVEL", /one of trace/);
  });

  test("grpcAddress: host:port, with an optional scheme", () => {
    for (const ok of ["localhost:50052", "dns:///users:50052", "10.0.0.1:1", "[::1]:50051", "users.tracemesh.svc.cluster.local:50052"]) {
      assert.equal(grpcAddress({ A: ok }, "A", "x:1"), ok);
    }
    for (const bad of ["users", "http://users:50052/", "users:port", "users:123456"]) {
      refused(() => grpcAddress({ A: bad }, "A", "x:1"), "A", /must be host:port/);
    }
  });

  test("redisUrl: redis:// or rediss:// only", () => {
    assert.equal(redisUrl({ R: "rediss://user:pw@cache:6380/2" }, "R", "redis://x"), "rediss://user:pw@cache:6380/2");
    refused(() => redisUrl({ R: "http://x" }, "R", "redis://x"), "R", /redis:\/\/ or rediss:\/\//);
    refused(() => redisUrl({ R: "not a url" }, "R", "redis://x"), "R", /must be a redis:\/\/ URL/);
  });

  test("grpcServiceConfig: what every Redis-backed gRPC service reads, with its defaults", () => {
    assert.deepEqual(grpcServiceConfig({}, 50052), {
      grpcPort: 50052,
      redisUrl: "redis://127.0.0.1:6379",
      logLevel: "info",
      redisCommandTimeoutMs: 1000,
    });
    refused(() => grpcServiceConfig({ REDIS_COMMAND_TIMEOUT_MS: "0" }, 50052), "REDIS_COMMAND_TIMEOUT_MS", />= 1/);
  });
});
