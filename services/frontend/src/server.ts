// The HTTP server: timeouts against stuck clients, one log line per request, and a JSON 500 for a bug
// (the page's own requests never get an HTML error page).
import http from "node:http";
import type { Logger } from "@tracemesh/runtime";
import { sendError, type RequestHandler } from "./handlers.js";

export function createServer(handler: RequestHandler, logger: Logger): http.Server {
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0];
    res.on("close", () => {
      // Probes and asset hits would drown the log: only api calls, span uploads and failures are logged.
      const status = res.writableFinished ? res.statusCode : 499;
      if (status < 400 && !path?.startsWith("/api/") && !path?.startsWith("/otlp/")) return;
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
      const line = { method, path, status, duration_ms: durationMs };
      if (status >= 500) logger.error(line, "request");
      else logger.info(line, "request");
    });
    handler(req, res).catch((err: unknown) => {
      logger.error({ err, method, path }, "unhandled error");
      if (res.headersSent) res.destroy();
      else sendError(res, 500, "internal", "internal error");
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  return server;
}
