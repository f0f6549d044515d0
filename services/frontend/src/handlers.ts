// What the frontend server answers: the built app (with the SPA fallback to index.html), `/api/*`
// forwarded to api, `/otlp/v1/traces` forwarded to the Collector, `/healthz` and `/readyz`.
// A dependency that is down or too slow is answered with 503 JSON naming it, never a hang.
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import https from "node:https";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { context, propagation, trace } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import { setHttpRoute } from "@tracemesh/telemetry";
import { apiRoute } from "./routes.js";
import type { StaticFiles, StaticFile } from "./static-files.js";

export const OTLP_TRACES_PATH = "/otlp/v1/traces";
const READINESS_TIMEOUT_MS = 500;

/** One service the server forwards to. */
export interface Upstream {
  /** Named in 503 answers and in the Server-Timing header: `api` or `collector`. */
  name: string;
  base: string;
  bodyLimitBytes: number;
  timeoutMs: number;
  /**
   * Whether the forwarded call gets a client span. Calls to api do (they sit between the browser and
   * api in the trace); the browser's span uploads to the Collector do not (a trace per upload is noise).
   */
  traced: boolean;
  agent: http.Agent;
}

export interface HandlerDeps {
  files: StaticFiles;
  api: Upstream;
  collector: Upstream;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

// Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus host.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host"]);

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

export const sendError = (res: ServerResponse, status: number, code: string, message: string) =>
  sendJson(res, status, { error: { code, message } });

export function createHandler(deps: HandlerDeps): RequestHandler {
  return async (req, res) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://localhost");
    const pathname = url.pathname;

    if (pathname === "/api" || pathname.startsWith("/api/")) {
      setHttpRoute(apiRoute(pathname));
      return forward(req, res, deps.api, `${pathname}${url.search}`);
    }
    if (pathname === OTLP_TRACES_PATH) {
      if (method !== "POST") {
        res.setHeader("allow", "POST");
        return sendError(res, 405, "method_not_allowed", `${method} is not allowed on ${pathname}`);
      }
      return forward(req, res, deps.collector, "/v1/traces");
    }
    if (method !== "GET" && method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      return sendError(res, 405, "method_not_allowed", `${method} is not allowed on ${pathname}`);
    }
    if (pathname === "/healthz") return sendJson(res, 200, { status: "ok" });
    if (pathname === "/readyz") {
      const apiOk = await answers(deps.api, "/healthz", READINESS_TIMEOUT_MS);
      if (apiOk) return sendJson(res, 200, { status: "ready", checks: { api: "ok" } });
      return sendJson(res, 503, { error: { code: "unavailable", message: "not ready: api" }, checks: { api: "failing" } });
    }
    serveApp(req, res, deps.files, pathname);
  };
}

/** A file of the build, or index.html for an app route (`/@alice`, `/activities/…`); 404 for a missing file. */
function serveApp(req: IncomingMessage, res: ServerResponse, files: StaticFiles, pathname: string): void {
  let file: StaticFile | undefined = pathname === "/" ? files.index() : files.get(pathname);
  if (!file) {
    // A path with an extension is a file request (e.g. an old hashed chunk): HTML in its place would
    // break the page in a confusing way.
    if (path.posix.extname(pathname) !== "") {
      setHttpRoute("/assets/*");
      return sendError(res, 404, "not_found", `no file ${pathname}`);
    }
    file = files.index();
  }
  setHttpRoute(file.immutable ? "/assets/*" : "/*");
  if (file === files.index()) {
    const page = withTraceparent(file.body);
    if (page) return sendPage(req, res, file, page);
  }
  fileHeaders(res, file, file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  res.setHeader("etag", file.etag);
  res.setHeader("vary", "accept-encoding");
  if (req.headers["if-none-match"] === file.etag) {
    res.statusCode = 304;
    return void res.end();
  }
  const gzip = file.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? "")) ? file.gzip : undefined;
  const body = gzip ?? file.body;
  if (gzip) res.setHeader("content-encoding", "gzip");
  res.setHeader("content-length", body.length);
  res.statusCode = 200;
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * index.html with `<meta name="traceparent">` of this request's span, so the browser's documentLoad
 * span continues the trace of the request that served the page. Undefined when nothing is traced.
 */
function withTraceparent(html: Buffer): Buffer | undefined {
  if (!trace.getActiveSpan()?.isRecording()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  if (!/^[0-9a-f-]{55}$/.test(carrier.traceparent ?? "")) return undefined;
  return Buffer.from(html.toString("utf8").replace("<head>", `<head>\n    <meta name="traceparent" content="${carrier.traceparent}" />`), "utf8");
}

function fileHeaders(res: ServerResponse, file: StaticFile, cacheControl: string): void {
  res.setHeader("content-type", file.contentType);
  res.setHeader("cache-control", cacheControl);
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("referrer-policy", "same-origin");
}

/** A page made for this request: never cached, no ETag (the traceparent differs every time). */
function sendPage(req: IncomingMessage, res: ServerResponse, file: StaticFile, page: Buffer): void {
  res.statusCode = 200;
  fileHeaders(res, file, "no-store");
  res.setHeader("content-length", page.length);
  res.end(req.method === "HEAD" ? undefined : page);
}

/**
 * Forwards the request to upstream and streams the answer back. Bounded: the body by
 * upstream.bodyLimitBytes (413), the whole exchange by upstream.timeoutMs (503). Adds
 * `Server-Timing: <name>;dur=<ms until upstream's response headers>`, which the browser reads to
 * split a fetch into network and backend time.
 */
function forward(req: IncomingMessage, res: ServerResponse, upstream: Upstream, target: string): Promise<void> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > upstream.bodyLimitBytes) {
    res.setHeader("connection", "close");
    sendError(res, 413, "payload_too_large", `body must be at most ${upstream.bodyLimitBytes} bytes`);
    return Promise.resolve();
  }
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  headers["x-forwarded-for"] = [req.headers["x-forwarded-for"], req.socket.remoteAddress].filter(Boolean).join(", ");
  if (req.headers.host) headers["x-forwarded-host"] = req.headers.host;

  return new Promise<void>((resolve) => {
    const started = performance.now();
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      resolve();
    };
    const fail = (status: number, code: string, message: string) => {
      if (settled) return;
      settle();
      outgoing.destroy();
      if (res.headersSent) res.destroy();
      else sendError(res, status, code, message);
    };
    const transport = upstream.base.startsWith("https:") ? https : http;
    const open = () => transport.request(new URL(target, upstream.base), { method: req.method, headers, agent: upstream.agent });
    const outgoing = upstream.traced ? open() : context.with(suppressTracing(context.active()), open);
    const timer = setTimeout(() => fail(503, "deadline_exceeded", `${upstream.name} did not answer within ${upstream.timeoutMs} ms`), upstream.timeoutMs);

    outgoing.on("error", (err: NodeJS.ErrnoException) => fail(503, "unavailable", `${upstream.name} is unavailable (${err.code ?? err.message})`));
    outgoing.on("response", (incoming) => {
      const answer: OutgoingHttpHeaders = {};
      for (const [name, value] of Object.entries(incoming.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) answer[name] = value;
      answer["server-timing"] = `${upstream.name};dur=${(performance.now() - started).toFixed(1)}`;
      res.writeHead(incoming.statusCode ?? 502, answer);
      incoming.pipe(res);
      incoming.on("end", settle);
      incoming.on("aborted", () => fail(503, "unavailable", `${upstream.name} closed the connection mid-answer`));
    });

    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > upstream.bodyLimitBytes && !settled) {
        req.unpipe(outgoing);
        if (!res.headersSent) res.setHeader("connection", "close");
        fail(413, "payload_too_large", `body must be at most ${upstream.bodyLimitBytes} bytes`);
      }
    });
    // The browser went away: nobody reads the answer, so the upstream call is abandoned too.
    res.on("close", () => {
      if (!settled) {
        settle();
        outgoing.destroy();
      }
    });
    req.pipe(outgoing);
  });
}

/** Whether upstream answers GET path with 2xx within timeoutMs (untraced: probes are not traffic). */
function answers(upstream: Upstream, target: string, timeoutMs: number): Promise<boolean> {
  return context.with(suppressTracing(context.active()), () => new Promise<boolean>((resolve) => {
    const transport = upstream.base.startsWith("https:") ? https : http;
    const req = transport.get(new URL(target, upstream.base), { agent: upstream.agent, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 300);
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(false));
  }));
}
