// The api process on its own (no backends needed for these cases): the fault-demo route, config
// errors, the request log line, and the router's matching rules.
import path from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { freePort, httpStatus, startProcess, waitFor, type ManagedProcess } from "@tracemesh/devkit";
import { Router } from "../src/router.js";

const MAIN = path.join(__dirname, "..", "src", "main.js");

describe("api process", { timeout: 60_000 }, () => {
  const started: ManagedProcess[] = [];
  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
  });

  async function startApi(env: NodeJS.ProcessEnv): Promise<{ url: string; proc: ManagedProcess }> {
    const port = await freePort();
    // Backends and Redis point at closed ports: /healthz and the debug route do not need them.
    const proc = startProcess("api", process.execPath, [MAIN], {
      env: { ...process.env, PORT: String(port), REDIS_URL: "redis://127.0.0.1:1", USERS_ADDR: "127.0.0.1:1", ACTIVITIES_ADDR: "127.0.0.1:1", NOTIFICATIONS_ADDR: "127.0.0.1:1", ...env },
    });
    started.push(proc);
    const url = `http://127.0.0.1:${port}`;
    await waitFor("api /healthz", async () => (await httpStatus(`${url}/healthz`)) === 200, { timeoutMs: 15_000 });
    return { url, proc };
  }

  test("GET /api/debug/throw with ENABLE_DEBUG_ROUTES=true → 500 internal, logged, process alive", { timeout: 20_000 }, async () => {
    const { url, proc } = await startApi({ ENABLE_DEBUG_ROUTES: "true" });
    const res = await fetch(`${url}/api/debug/throw`, { headers: { "x-request-id": "fault-demo-1", authorization: "Bearer secret-token" } });
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("x-request-id"), "fault-demo-1");
    assert.deepEqual(await res.json(), { error: { code: "internal", message: "internal error" } });
    const lines = await waitFor("the request log line", () => {
      const found = proc.jsonLines().filter((l) => l.req_id === "fault-demo-1");
      return found.some((l) => l.msg === "request") ? found : undefined;
    }, { timeoutMs: 5_000 });
    const request = lines.find((l) => l.msg === "request")!;
    assert.equal(request.route, "/api/debug/throw");
    assert.equal(request.status, 500);
    assert.equal(request.method, "GET");
    assert.equal(typeof request.duration_ms, "number");
    assert.ok(lines.some((l) => l.msg === "unhandled error in handler"), "the error is logged");
    assert.ok(!proc.output().includes("secret-token"), "the token never reaches the logs");
    assert.equal((await fetch(`${url}/healthz`)).status, 200, "still alive");
  });

  test("a failure to start (its port taken) exits 1 with one line, the format every service shares", { timeout: 15_000 }, async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const res = spawnSync(process.execPath, [MAIN], { env: { ...process.env, PORT: String(port), REDIS_URL: "redis://127.0.0.1:1" }, encoding: "utf8", timeout: 10_000 });
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr.trim(), /^api failed to start: listen EADDRINUSE/);
      assert.equal(res.stderr.trim().split("\n").length, 1, res.stderr);
    } finally {
      taken.close();
    }
  });

  test("a bad variable exits 2 with one line naming it", { timeout: 10_000 }, () => {
    const res = spawnSync(process.execPath, [MAIN], { env: { ...process.env, REQUEST_TIMEOUT_MS: "soon" }, encoding: "utf8", timeout: 10_000 });
    assert.equal(res.status, 2);
    assert.match(res.stderr.trim(), /^invalid configuration: REQUEST_TIMEOUT_MS /);
    assert.equal(res.stderr.trim().split("\n").length, 1);
  });
});

describe("router", { timeout: 5_000 }, () => {
  const router = new Router<string>()
    .add({ method: "GET", path: "/api/activities/@:handle", body: "none", auth: false, handler: "user feed" })
    .add({ method: "GET", path: "/api/activities/:uuid", body: "none", auth: false, handler: "activity" })
    .add({ method: "GET", path: "/api/activities/home", body: "none", auth: false, handler: "home" })
    .add({ method: "POST", path: "/api/activities/:uuid/likes", body: "none", auth: true, handler: "like" });

  test("static segments beat parameters; @handle and :uuid are told apart", () => {
    const name = (m: string, p: string) => {
      const r = router.match(m, p);
      return r.kind === "found" ? [r.route.handler, r.params] : r.kind;
    };
    assert.deepEqual(name("GET", "/api/activities/home"), ["home", {}]);
    assert.deepEqual(name("GET", "/api/activities/@ada"), ["user feed", { handle: "ada" }]);
    assert.deepEqual(name("GET", "/api/activities/abc"), ["activity", { uuid: "abc" }]);
    assert.deepEqual(name("POST", "/api/activities/abc/likes"), ["like", { uuid: "abc" }]);
    assert.equal(name("GET", "/api/activities/abc/likes"), "method_not_allowed");
    assert.equal(name("GET", "/api/activities/abc/def"), "not_found");
    assert.throws(() => router.match("GET", "/api/activities/%E0%A4%A"), URIError);
  });
});
