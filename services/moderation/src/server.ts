// HTTP/JSON over plain node:http: POST /v1/check (traced: one X-Ray segment per request), GET /healthz
// (untraced, like the other services' probes). Errors are JSON: {"error": {"code", "message"}}.
import http from "node:http";
import type { Logger } from "@tracemesh/runtime";
import { check, HttpError, parseCheckRequest } from "./handlers.js";
import { inSubsegment, segmentFor, segmentIds, type Segment } from "./xray.js";

/** Largest request body read (a check carries one post). */
export const BODY_MAX_BYTES = 64 * 1024;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_MAX_BYTES) {
        reject(new HttpError(413, "payload_too_large", `body over ${BODY_MAX_BYTES} bytes`));
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

async function handleCheck(req: http.IncomingMessage, res: http.ServerResponse, segment: Segment): Promise<void> {
  const contentType = String(req.headers["content-type"] ?? "");
  if (!/^application\/json\b/i.test(contentType)) throw new HttpError(415, "unsupported_media_type", "content-type must be application/json");
  const body = await readBody(req);
  const request = inSubsegment(segment, "parse request", () => {
    try {
      return parseCheckRequest(JSON.parse(body.toString("utf8")) as unknown);
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, "invalid_argument", "body is not valid JSON");
    }
  });
  sendJson(res, 200, check(request, segment));
}

export function createModerationServer(deps: { logger: Logger }): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, new HttpError(405, "method_not_allowed", "GET /healthz"));
      return sendJson(res, 200, { status: "ok" });
    }
    if (path !== "/v1/check") return sendError(res, new HttpError(404, "not_found", `no route ${req.method} ${path}`));
    if (req.method !== "POST") return sendError(res, new HttpError(405, "method_not_allowed", "POST /v1/check"));

    const started = process.hrtime.bigint();
    const segment = segmentFor(req, res);
    const logger = deps.logger.child(segmentIds(segment));
    // One log line per request, like the gRPC services' `rpc` line.
    res.on("finish", () =>
      logger.info({ method: req.method, path, status: res.statusCode, duration_ms: Number(process.hrtime.bigint() - started) / 1e6 }, "request"),
    );
    handleCheck(req, res, segment).catch((err: unknown) => {
      if (err instanceof HttpError) {
        segment.addMetadata("error", err.message);
        return sendError(res, err);
      }
      // A bug: recorded on the segment (fault with the exception as cause), not shown to the caller.
      segment.addError(err instanceof Error ? err : String(err));
      logger.error({ err }, "unhandled error in /v1/check");
      if (!res.headersSent) sendError(res, new HttpError(500, "internal", "internal error"));
      else res.destroy();
    });
  });
}
