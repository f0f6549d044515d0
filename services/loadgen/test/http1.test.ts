// Http1Pool, the lean client loadgen uses when nothing observes undici, against real sockets: keep-alive
// reuse, the framings (content-length, chunked, until close, split into single bytes), interim responses,
// sockets the server closes, timeouts, refused connections, queueing beyond the connection limit, destroy —
// and that ApiClient writes byte for byte the requests undici writes.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { Http1Pool, type Http1Request } from "../src/http1.js";
import { ApiClient, describeError, type Marking } from "../src/client.js";
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

/** A raw TCP server: `onRequest(socket, head)` for every request head it reads. */
function rawServer(onRequest: (socket: net.Socket, head: string) => void): net.Server {
  return net.createServer((socket) => {
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      let end: number;
      while ((end = buf.indexOf("\r\n\r\n")) >= 0) {
        const head = buf.slice(0, end + 4);
        const len = /content-length: (\d+)/i.exec(head);
        const total = end + 4 + (len ? Number(len[1]) : 0);
        if (buf.length < total) return;
        buf = buf.slice(total);
        onRequest(socket, head);
      }
    });
    socket.on("error", () => undefined);
  });
}

interface Outcome {
  status?: number;
  body?: string;
  error?: Error & { code?: string };
  ms: number;
}

function request(pool: Http1Pool, url: URL, path = "/", opts: { wantBody?: boolean; timeoutMs?: number; method?: string } = {}): Promise<Outcome> {
  const started = performance.now();
  const method = opts.method ?? "GET";
  return new Promise((resolve) => {
    const req: Http1Request = {
      method,
      head: `${method} ${path} HTTP/1.1\r\nhost: ${url.host}\r\nconnection: keep-alive\r\n\r\n`,
      body: undefined,
      wantBody: opts.wantBody ?? true,
      timeoutMs: opts.timeoutMs,
      onResponse: (status, body) => resolve({ status, body: body?.toString("utf8"), ms: performance.now() - started }),
      onError: (error) => resolve({ error, ms: performance.now() - started }),
    };
    pool.dispatch(req);
  });
}

const options = { connections: 4, timeoutMs: 5000, connectTimeoutMs: 2000, keepAliveTimeoutMs: 30_000 };

describe("Http1Pool", { timeout: 60_000 }, () => {
  test("keep-alive: sequential requests share one socket; content-length bodies come back whole", async () => {
    const sockets = new Set<net.Socket>();
    const { url } = await listen(
      http.createServer((req, res) => {
        sockets.add(req.socket);
        const body = JSON.stringify({ path: req.url, pad: "x".repeat(100_000) }); // several reads
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      }),
    );
    const pool = new Http1Pool(url, options);
    for (let i = 0; i < 5; i++) {
      const r = await request(pool, url, `/n${i}`);
      assert.equal(r.status, 200, String(r.error));
      assert.equal((JSON.parse(r.body!) as { path: string }).path, `/n${i}`);
    }
    assert.equal(sockets.size, 1);
    await pool.destroy();
  });

  test("chunked bodies with trailers, and bodies not asked for are read and dropped", async () => {
    const { url } = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/plain", trailer: "x-check" });
        res.write("hello ");
        setTimeout(() => {
          res.write("chunked ");
          res.addTrailers({ "x-check": "1" });
          res.end("world");
        }, 20);
      }),
    );
    const pool = new Http1Pool(url, options);
    assert.deepEqual(await request(pool, url).then((r) => [r.status, r.body]), [200, "hello chunked world"]);
    assert.deepEqual(await request(pool, url, "/", { wantBody: false }).then((r) => [r.status, r.body]), [200, undefined]);
    assert.equal((await request(pool, url)).body, "hello chunked world", "the socket is still in sync");
    await pool.destroy();
  });

  test("a response arriving one byte at a time (chunked, after an interim 103) parses the same", async () => {
    const response =
      "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nX-Trailer: y\r\n\r\n";
    const { url } = await listen(
      rawServer((socket) => {
        socket.setNoDelay(true);
        let i = 0;
        const next = () => {
          if (i < response.length) socket.write(response[i++]!, () => setImmediate(next));
        };
        next();
      }),
    );
    const pool = new Http1Pool(url, options);
    const r = await request(pool, url);
    assert.deepEqual([r.status, r.body, r.error], [201, "hello!", undefined]);
    assert.equal((await request(pool, url)).status, 201, "and the socket is reused");
    await pool.destroy();
  });

  test("204 and 304 have no body; a body delimited by the server closing is read to the end", async () => {
    const { url } = await listen(
      rawServer((socket, head) => {
        if (head.startsWith("GET /204")) socket.write("HTTP/1.1 204 No Content\r\n\r\n");
        else if (head.startsWith("GET /304")) socket.write("HTTP/1.1 304 Not Modified\r\nContent-Length: 12\r\n\r\n");
        else socket.end("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end");
      }),
    );
    const pool = new Http1Pool(url, options);
    assert.deepEqual(await request(pool, url, "/204").then((r) => [r.status, r.body]), [204, ""]);
    assert.deepEqual(await request(pool, url, "/304").then((r) => [r.status, r.body]), [304, ""]);
    assert.deepEqual(await request(pool, url, "/eof").then((r) => [r.status, r.body]), [200, "until the end"]);
    assert.equal((await request(pool, url, "/204")).status, 204, "a new socket after the closed one");
    await pool.destroy();
  });

  test("connection: close and a keep-alive hint shorter than 2 s: the socket is not reused", async () => {
    let connections = 0;
    const { url } = await listen(
      rawServer((socket, head) => {
        if (head.startsWith("GET /close")) socket.write("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
        else socket.write("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok");
      }).on("connection", () => connections++),
    );
    const pool = new Http1Pool(url, options);
    for (const path of ["/close", "/close", "/hint", "/hint"]) assert.equal((await request(pool, url, path)).status, 200);
    assert.equal(connections, 4);
    await pool.destroy();
  });

  test("an idle socket the server closed, or sent unsolicited bytes on, is not used again", async () => {
    let n = 0;
    const { url } = await listen(
      rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        if (n++ === 0) setTimeout(() => socket.end(), 20);
        else setTimeout(() => socket.write("HTTP/1.1 408 Request Timeout\r\n\r\n"), 20);
      }),
    );
    const pool = new Http1Pool(url, { ...options, connections: 1 });
    for (let i = 0; i < 3; i++) {
      const r = await request(pool, url);
      assert.equal(r.status, 200, `request ${i}: ${r.error}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await pool.destroy();
  });

  test("more requests than connections: queued in order, never more sockets than allowed", async () => {
    const open = new Set<net.Socket>();
    let most = 0;
    const { url } = await listen(
      http
        .createServer((req, res) => {
          setTimeout(() => res.end(req.url), 5);
        })
        .on("connection", (socket: net.Socket) => {
          open.add(socket);
          most = Math.max(most, open.size);
          socket.once("close", () => open.delete(socket));
        }),
    );
    const pool = new Http1Pool(url, { ...options, connections: 3 });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => request(pool, url, `/${i}`)));
    assert.deepEqual(results.map((r) => r.body), Array.from({ length: 30 }, (_, i) => `/${i}`));
    assert.ok(most <= 3, `${most} sockets at once`);
    await pool.destroy();
  });

  test("timeouts: headers never come, or the body stalls; reported as undici reports them, never early", async () => {
    const { url } = await listen(
      rawServer((socket, head) => {
        if (head.startsWith("GET /body")) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
      }),
    );
    const pool = new Http1Pool(url, { ...options, timeoutMs: 300 });
    const [headers, body] = await Promise.all([request(pool, url, "/headers"), request(pool, url, "/body")]);
    assert.equal(headers.error?.code, "UND_ERR_HEADERS_TIMEOUT");
    assert.equal(body.error?.code, "UND_ERR_BODY_TIMEOUT");
    for (const r of [headers, body]) {
      assert.equal(describeError(r.error), "timeout");
      assert.ok(r.ms >= 300 && r.ms < 1500, `timed out after ${r.ms.toFixed(0)} ms`);
    }
    const quick = await request(pool, url, "/headers", { timeoutMs: 100 });
    assert.ok(quick.error?.code === "UND_ERR_HEADERS_TIMEOUT" && quick.ms >= 100 && quick.ms < 1000, `per-request timeout: ${quick.ms.toFixed(0)} ms`);
    await pool.destroy();
  });

  test("refused connections, a server closing mid-response, and garbage: one error each, with a code", async () => {
    const closed = await listen(net.createServer());
    const port = closed.url.port;
    await new Promise<void>((r) => closed.server.close(() => r()));
    const refusedUrl = new URL(`http://127.0.0.1:${port}`);
    const refused = new Http1Pool(refusedUrl, options);
    const errors = await Promise.all(Array.from({ length: 6 }, () => request(refused, refusedUrl)));
    assert.deepEqual(new Set(errors.map((r) => r.error?.code)), new Set(["ECONNREFUSED"]));
    await refused.destroy();

    const { url } = await listen(
      rawServer((socket, head) => {
        if (head.startsWith("GET /cut")) socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab");
        else if (head.startsWith("GET /huge")) socket.write(`HTTP/1.1 200 OK\r\n${"x-pad: 0123456789abcdef\r\n".repeat(1000)}\r\n`);
        else socket.write("SMTP ready\r\n\r\n");
      }),
    );
    const pool = new Http1Pool(url, options);
    assert.equal((await request(pool, url, "/cut")).error?.code, "UND_ERR_SOCKET");
    assert.match((await request(pool, url, "/garbage")).error?.code ?? "", /^HPE_/);
    assert.equal((await request(pool, url, "/huge")).error?.code, "UND_ERR_HEADERS_OVERFLOW");
    await pool.destroy();
  });

  test("destroy fails what is running and queued as aborted, and later requests too", async () => {
    const { url } = await listen(rawServer(() => undefined)); // never answers
    const pool = new Http1Pool(url, { ...options, connections: 2 });
    const pending = Array.from({ length: 5 }, () => request(pool, url));
    await new Promise((r) => setTimeout(r, 50));
    await pool.destroy();
    const results = await Promise.all([...pending, request(pool, url)]);
    for (const r of results) assert.equal(describeError(r.error), "aborted");
  });
});

describe("ApiClient over Http1Pool", { timeout: 30_000 }, () => {
  const marking = (undiciInstrumented: boolean): Marking => ({
    otelActive: false,
    baggageInContext: false,
    undiciInstrumented,
    selfInject: false,
    baseContext: ROOT_CONTEXT,
  });

  test("writes byte for byte what undici writes (GET, POST with a body, POST without one)", async () => {
    const heads: string[] = [];
    const { url } = await listen(
      rawServer((socket, head) => {
        heads.push(head);
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}');
      }),
    );
    const sent = async (client: ApiClient): Promise<string[]> => {
      heads.length = 0;
      const stats = new Recorder().route("r");
      const auth = client.headers({ authorization: "Bearer abc", "content-type": "application/json" });
      assert.deepEqual(await client.call(stats, performance.now(), "GET", "/api/activities/home?limit=20", client.anonymousHeaders, undefined, true), { ok: true });
      await client.call(stats, performance.now(), "POST", "/api/activities", auth, JSON.stringify({ message: "héllo @x" }), false);
      await client.call(stats, performance.now(), "POST", "/api/activities/u/likes", auth, undefined, false);
      assert.equal(stats.errors, 0);
      await client.destroy();
      return [...heads];
    };
    const viaUndici = new ApiClient(url.origin, marking(true), { connections: 1, timeoutMs: 2000 });
    const viaHttp1 = new ApiClient(url.origin, marking(false), { connections: 1, timeoutMs: 2000 });
    assert.equal(viaUndici.transport, "undici");
    assert.equal(viaHttp1.transport, "http1");
    const expected = await sent(viaUndici);
    assert.equal(expected.length, 3);
    assert.deepEqual(await sent(viaHttp1), expected);
  });

  test("the same outcomes as undici: HTTP errors, invalid JSON, refused connections, invalid paths", async () => {
    const { url } = await listen(
      http.createServer((req, res) => {
        if (req.url === "/503") res.writeHead(503).end("busy");
        else res.writeHead(200, { "content-type": "application/json" }).end("{not json");
      }),
    );
    const closed = await listen(net.createServer());
    await new Promise<void>((r) => closed.server.close(() => r()));
    const outcomes = async (undici: boolean) => {
      const recorder = new Recorder();
      const up = new ApiClient(url.origin, marking(undici), { connections: 2, timeoutMs: 2000 });
      const down = new ApiClient(closed.url.origin, marking(undici), { connections: 2, timeoutMs: 2000 });
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
    const expected = await outcomes(true);
    assert.deepEqual(expected.kinds, [
      ["a", { "HTTP 503": 1 }],
      ["b", { "invalid JSON": 1 }],
      ["c", {}],
      ["d", { UND_ERR_INVALID_ARG: 1 }],
      ["e", { ECONNREFUSED: 1 }],
    ]);
    assert.deepEqual(await outcomes(false), expected);
  });
});
