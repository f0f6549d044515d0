// HTTP/JSON over plain node:http: POST /v1/check (traced: one X-Ray segment per request), GET /healthz
// (untraced, like the other services' probes). Errors are JSON: {"error": {"code", "message"}}.
import http from "node:http";
import { HttpError, logHttpRequest, readJsonBody, sendHttpError, sendJson, type Logger } from "@tracemesh/runtime";
import { check, parseCheckRequest } from "./handlers.js";
import { inSubsegment, segmentFor, segmentIds, type Segment } from "./xray.js";

/** Largest request body read (a check carries one post). */
export const BODY_MAX_BYTES = 64 * 1024;

async function handleCheck(req: http.IncomingMessage, res: http.ServerResponse, segment: Segment): Promise<void> {
  const request = await inSubsegment(segment, "parse request", async () => parseCheckRequest(await readJsonBody(req, res, BODY_MAX_BYTES)));
  sendJson(res, 200, check(request, segment));
}

export function createModerationServer(deps: { logger: Logger }): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") return sendHttpError(res, new HttpError(405, "method_not_allowed", "GET /healthz"));
      return sendJson(res, 200, { status: "ok" });
    }
    if (path !== "/v1/check") return sendHttpError(res, new HttpError(404, "not_found", `no route ${req.method} ${path}`));
    if (req.method !== "POST") return sendHttpError(res, new HttpError(405, "method_not_allowed", "POST /v1/check"));

    const segment = segmentFor(req, res);
    // No OpenTelemetry here to add the ids: the segment's, in both forms (trace_id, span_id, xray_trace_id).
    const logger = deps.logger.child(segmentIds(segment));
    // One log line per request (runtime's, as every service writes it).
    logHttpRequest(logger, req, res);
    handleCheck(req, res, segment).catch((err: unknown) => {
      if (err instanceof HttpError) {
        segment.addMetadata("error", err.message);
        return sendHttpError(res, err);
      }
      // A bug: recorded on the segment (fault with the exception as cause), not shown to the caller.
      segment.addError(err instanceof Error ? err : String(err));
      logger.error({ err }, "unhandled error in /v1/check");
      sendHttpError(res, new HttpError(500, "internal", "internal error"));
    });
  });
}
