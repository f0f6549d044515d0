// The one line per request, RPC and stream event: its shape, its level, probes left out unless they fail, and
// secrets redacted — over a real HTTP server.
import assert from "node:assert/strict";
import http from "node:http";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import { createLogger, logHandled, logHttpRequest } from "../src/index.js";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger("test", "info", stream) };
}

describe("request log lines", () => {
  test("one line per HTTP request: route, status, duration; 5xx at error level; probes only when they fail", async () => {
    const { lines, logger } = capture();
    const server = http.createServer((req, res) => {
      logHttpRequest(logger.child({ req_id: "r1" }), req, res, { route: () => "/api/things/:id" });
      res.statusCode = req.url === "/boom" ? 503 : req.url === "/readyz?fail" ? 503 : 200;
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    for (const p of ["/api/things/1?q=2", "/boom", "/healthz", "/readyz?fail"]) await (await fetch(base + p)).arrayBuffer();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      lines.map((l) => [l.msg, l.level, l.path, l.status, l.route, l.req_id]),
      [
        ["request", "info", "/api/things/1", 200, "/api/things/:id", "r1"],
        ["request", "error", "/boom", 503, "/api/things/:id", "r1"],
        ["request", "error", "/readyz", 503, "/api/things/:id", "r1"],
      ],
    );
    assert.ok(lines.every((l) => typeof l.duration_ms === "number"));
  });

  test("rpc and event lines share the shape; token fields are redacted", () => {
    const { lines, logger } = capture();
    const started = process.hrtime.bigint();
    logHandled(logger, "grpc", { rpc: "/tracemesh.v1.UsersService/Authenticate", code: "OK", token: "s3cret" }, started, false);
    logHandled(logger, "event", { redis_stream: "tracemesh:events", stream_id: "1-0", outcome: "left pending" }, started, true);
    assert.deepEqual(lines.map((l) => [l.msg, l.level]), [["rpc", "info"], ["event", "error"]]);
    assert.equal(lines[0]!.token, "[redacted]");
  });
});
