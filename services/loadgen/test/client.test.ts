// ApiClient (undici's Pool through its dispatch API) against real sockets: how each outcome is recorded.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { ApiClient, type Marking } from "../src/client.js";
import { Recorder } from "../src/index.js";

const servers: Array<http.Server | net.Server> = [];
after(() => {
  for (const s of servers) {
    (s as http.Server).closeAllConnections?.();
    s.close();
  }
});

async function listen<S extends http.Server | net.Server>(server: S): Promise<{ server: S; url: URL }> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`) };
}

const marking: Marking = { otelActive: false, baggageInContext: false, undiciInstrumented: false, selfInject: false, baseContext: ROOT_CONTEXT };

describe("ApiClient", { timeout: 30_000 }, () => {
  test("outcomes: HTTP errors, invalid JSON, refused connections, invalid paths", async () => {
    const { url } = await listen(
      http.createServer((req, res) => {
        if (req.url === "/503") res.writeHead(503).end("busy");
        else res.writeHead(200, { "content-type": "application/json" }).end("{not json");
      }),
    );
    const closed = await listen(net.createServer());
    await new Promise<void>((r) => closed.server.close(() => r()));
    const outcomes = async () => {
      const recorder = new Recorder();
      const up = new ApiClient(url.origin, marking, { connections: 2, timeoutMs: 2000 });
      const down = new ApiClient(closed.url.origin, marking, { connections: 2, timeoutMs: 2000 });
      const results = [
        await up.call(recorder.route("a"), performance.now(), "GET", "/503", up.anonymousHeaders, undefined, true),
        await up.call(recorder.route("b"), performance.now(), "GET", "/bad", up.anonymousHeaders, undefined, true),
        await up.call(recorder.route("c"), performance.now(), "GET", "/bad", up.anonymousHeaders, undefined, false),
        await up.call(recorder.route("d"), performance.now(), "GET", "/a b", up.anonymousHeaders, undefined, false),
        await down.call(recorder.route("e"), performance.now(), "GET", "/", down.anonymousHeaders, undefined, false),
      ];
      await up.destroy();
      await down.destroy();
      return { results, kinds: recorder.routeStats().map((r) => [r.route, Object.fromEntries(r.errorKinds)]) };
    };
    const expected = await outcomes();
    assert.deepEqual(expected.kinds, [
      ["a", { "HTTP 503": 1 }],
      ["b", { "invalid JSON": 1 }],
      ["c", {}],
      ["d", { UND_ERR_INVALID_ARG: 1 }],
      ["e", { ECONNREFUSED: 1 }],
    ]);
  });
});
