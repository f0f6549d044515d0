// The HTTP server: request id, routing, JSON body parsing with limits, one log line per request (runtime's),
// and the mapping of every thrown error to `{error: {code, message}}`.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import { SpanStatusCode, trace } from "@opentelemetry/api";
import { logHttpRequest, readJsonBody, sendJson, type Logger } from "@tracemesh/runtime";
import { HttpError, toHttpError } from "./errors.js";
import type { MemoryLeak } from "./leak.js";
import { Router } from "./router.js";
import { reportError, setHttpRoute } from "@tracemesh/telemetry";

export const BODY_LIMIT_BYTES = 16 * 1024;

export interface RequestContext {
  requestId: string;
  method: string;
  /** The matched route pattern, e.g. `/api/activities/:uuid`. */
  route: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON for routes with `body: "json"`, else undefined. */
  body: unknown;
  /** Every backend call made for this request shares this deadline (REQUEST_TIMEOUT_MS). */
  deadline: Date;
  log: Logger;
}

export interface Reply {
  status: number;
  body: unknown;
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;
export type ApiRouter = Router<Handler>;

export interface ServerOptions {
  router: ApiRouter;
  logger: Logger;
  requestTimeoutMs: number;
  /** The api-memory-leak scenario; absent in tests that do not need it. */
  leak?: MemoryLeak;
}

export function createServer(opts: ServerOptions): http.Server {
  const server = http.createServer(
    {
      // Slow or stuck clients (slowloris) cannot hold a connection for long: headers must be
      // complete within headersTimeout, the whole request within requestTimeout, and Node checks
      // both every second (its default interval is 30 s, which would let a dribbling client stay
      // four times longer than the header bound).
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      connectionsCheckingInterval: 1_000,
      // Request line + headers (query string included) beyond this are answered 431.
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => {
      // Draining (server.close() was called): answer, then close the connection. Node otherwise keeps
      // serving a busy keep-alive connection until the drain bound cuts it mid-response.
      if (!server.listening) res.setHeader("connection", "close");
      void handle(opts, req, res);
    },
  );
  server.keepAliveTimeout = 5_000;
  server.on("clientError", answerClientError);
  return server;
}

export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * Requests Node rejects before any handler runs (oversized or malformed headers, header/request
 * timeouts) still get a JSON error, like every other answer of the API.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const [status, reason, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", `request line and headers must be at most ${MAX_HEADER_BYTES} bytes`]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "request not received in time"]
        : [400, "Bad Request", "malformed HTTP request"];
  const body = JSON.stringify({ error: { code: "invalid_argument", message } });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

async function handle(opts: ServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const incomingId = req.headers["x-request-id"];
  const requestId = typeof incomingId === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(incomingId) ? incomingId : randomUUID();
  const log = opts.logger.child({ req_id: requestId });
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://localhost");
  let route = "unmatched";

  res.setHeader("x-request-id", requestId);
  // One line per request (probes only when they fail); 499 when the client went away before the answer.
  logHttpRequest(log, req, res, { route: () => route });

  try {
    const match = opts.router.match(method, url.pathname);
    if (match.kind === "not_found") throw new HttpError(404, "not_found", `no route for ${method} ${url.pathname}`);
    if (match.kind === "method_not_allowed") {
      res.setHeader("allow", match.allowed.join(", "));
      throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${url.pathname}`);
    }
    route = match.route.path;
    setHttpRoute(route);
    await opts.leak?.onRequest();
    const body = match.route.body === "json" ? await readJsonBody(req, res, BODY_LIMIT_BYTES) : undefined;
    const reply = await match.route.handler({
      requestId,
      method,
      route,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      body,
      deadline: new Date(Date.now() + opts.requestTimeoutMs),
      log,
    });
    sendJson(res, reply.status, reply.body);
  } catch (err) {
    const httpError = err instanceof URIError ? new HttpError(400, "invalid_argument", "malformed percent-encoding in path") : toHttpError(err);
    if (httpError) {
      if (httpError.status >= 500) void reportError(httpError, { request_id: requestId, route, method });
      const dependency = httpError.dependency ? { dependency: httpError.dependency } : {};
      sendJson(res, httpError.status, { error: { code: httpError.code, message: httpError.message, ...dependency } });
    } else {
      // A bug (or the debug route): log it, report it, and do not leak its message.
      log.error({ err, route }, "unhandled error in handler");
      // The exception event is what X-Ray turns into a fault cause.
      const span = trace.getActiveSpan();
      span?.recordException(err instanceof Error ? err : new Error(String(err)));
      span?.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      void reportError(err, { request_id: requestId, route, method });
      sendJson(res, 500, { error: { code: "internal", message: "internal error" } });
    }
  }
}

