// The HTTP server: timeouts against stuck clients, one log line per request, and a JSON 500 for a bug
// (the page's own requests never get an HTML error page).
import http from "node:http";
import { logHttpRequest, type Logger } from "@tracemesh/runtime";
import { sendError, type RequestHandler } from "./handlers.js";

export function createServer(handler: RequestHandler, logger: Logger): http.Server {
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const path = (req.url ?? "/").split("?")[0];
    // Probes and asset hits would drown the log: only api calls, span uploads and failures are logged.
    logHttpRequest(logger, req, res, { logSuccess: (p) => p.startsWith("/api/") || p.startsWith("/otlp/") });
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
