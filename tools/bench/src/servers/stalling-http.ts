// The stalled server of benchmark 2: 200 "ok" to every request, like trivial-http.ts, except during one stall
// window, when it answers nothing: a request that arrives inside the window is held and answered when the window
// ends (so a request arriving at its start waits the whole stall). Runs as its own process; prints {"port":N}
// once listening on 127.0.0.1.
//
// The window is timed from the first request after arming, so a generator's own start-up does not shift it:
//   POST /__stall?after_ms=A&for_ms=F   arms it: the stall starts A ms after the next (non-/__stall) request
//                                       and lasts F ms; answers the settings as JSON. Re-arming resets it.
//   GET  /__stall                       {"after_ms","for_ms","held"}: the settings, and how many requests the
//                                       stall held since arming.
// STALL_AFTER_MS and STALL_FOR_MS (default 2000 and 1000) arm it at start-up.
import http from "node:http";
import { performance } from "node:perf_hooks";

const body = Buffer.from("ok");
const envMs = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 ? v : fallback;
};

let afterMs = envMs("STALL_AFTER_MS", 2000);
let forMs = envMs("STALL_FOR_MS", 1000);
/** performance.now() of the first request since arming; undefined until it comes. */
let firstAt: number | undefined;
let held = 0;
let pending: http.ServerResponse[] = [];
let releaseTimer: NodeJS.Timeout | undefined;

function arm(after: number, duration: number): void {
  afterMs = after;
  forMs = duration;
  firstAt = undefined;
  held = 0;
  if (releaseTimer) clearTimeout(releaseTimer);
  release();
}

function answer(res: http.ServerResponse): void {
  if (res.destroyed) return;
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
}

function release(): void {
  releaseTimer = undefined;
  const list = pending;
  pending = [];
  for (const res of list) answer(res);
}

function json(res: http.ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/__stall") {
    if (req.method === "POST") {
      const a = Number(url.searchParams.get("after_ms"));
      const f = Number(url.searchParams.get("for_ms"));
      if (!(Number.isFinite(a) && a >= 0 && Number.isFinite(f) && f >= 0)) return json(res, 400, { error: "after_ms and for_ms: numbers ≥ 0" });
      arm(a, f);
      return json(res, 200, { after_ms: afterMs, for_ms: forMs });
    }
    return json(res, 200, { after_ms: afterMs, for_ms: forMs, held });
  }
  const now = performance.now();
  if (firstAt === undefined) firstAt = now;
  const start = firstAt + afterMs;
  const end = start + forMs;
  if (now >= start && now < end) {
    held++;
    pending.push(res);
    releaseTimer ??= setTimeout(release, Math.max(0, end - now));
    return;
  }
  answer(res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }) + "\n");
});
process.on("SIGTERM", () => {
  release();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
