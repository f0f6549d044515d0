// HTTP/JSON over plain node:http: POST /v1/check (traced: one X-Ray segment or one OpenTelemetry SERVER span
// per request, with a step per rule), GET /healthz (untraced, like the other services' probes). Errors are
// JSON: {"error": {"code", "message"}}.
import http from "node:http";
import { HttpError, logHttpRequest, readJsonBody, sendHttpError, sendJson, type Logger } from "@tracemesh/runtime";
import { check, parseCheckRequest } from "./handlers.js";
import type { RequestTrace, RequestTracer } from "./tracing.js";

/** Largest request body read (a check carries one post). */
export const BODY_MAX_BYTES = 64 * 1024;

async function handleCheck(req: http.IncomingMessage, res: http.ServerResponse, trace: RequestTrace): Promise<void> {
  const request = await trace.step("parse request", async () => parseCheckRequest(await readJsonBody(req, res, BODY_MAX_BYTES)));
  sendJson(res, 200, check(request, trace));
}

export function createModerationServer(deps: { logger: Logger; tracer: RequestTracer }): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      if (req.method !== "GET" && req.method !== "HEAD") return sendHttpError(res, new HttpError(405, "method_not_allowed", "GET /healthz"));
      return sendJson(res, 200, { status: "ok" });
    }
    if (path !== "/v1/check") return sendHttpError(res, new HttpError(404, "not_found", `no route ${req.method} ${path}`));
    if (req.method !== "POST") return sendHttpError(res, new HttpError(405, "method_not_allowed", "POST /v1/check"));

    const trace = deps.tracer.begin(req, res);
    const logger = deps.logger.child(trace.logFields());
    // One log line per request (runtime's, as every service writes it).
    logHttpRequest(logger, req, res);
    handleCheck(req, res, trace).catch((err: unknown) => {
      if (err instanceof HttpError) {
        trace.detail("error", err.message);
        return sendHttpError(res, err);
      }
      // A bug: recorded on the trace (fault with the exception as cause), not shown to the caller.
      trace.fail(err);
      logger.error({ err }, "unhandled error in /v1/check");
      sendHttpError(res, new HttpError(500, "internal", "internal error"));
    });
  });
}
