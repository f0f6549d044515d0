// X-Ray's trace segment destination — the account-wide switch behind Transaction Search — for the local X-Ray
// stand-in (xray.ts), answered in memory, checking what X-Ray checks (the API reference, GetTraceSegmentDestination / UpdateTraceSegmentDestination):
// - POST on exactly those paths (anything else there: 404 UnknownOperationException);
// - a SigV4 signature for service `xray` that verifies with the stand-in's keys (403 otherwise);
// - a JSON body; UpdateTraceSegmentDestination's optional `Destination` one of `XRay`, `CloudWatchLogs`
//   (400 InvalidRequestException otherwise).
// The account starts on `XRay`, as every account does until Transaction Search is enabled. A change answers
// `Status: PENDING`, as X-Ray does while it switches; the stand-in reports `ACTIVE` from the next read on (the
// real switch can take minutes — docs/xray-migration.md).
import type http from "node:http";
import { sendJson } from "./http-util.js";
import type { SigV4Result } from "./sigv4.js";

export const TRACE_SEGMENT_DESTINATIONS = ["XRay", "CloudWatchLogs"] as const;
export type TraceSegmentDestination = (typeof TRACE_SEGMENT_DESTINATIONS)[number];

const OPERATIONS: Record<string, "GetTraceSegmentDestination" | "UpdateTraceSegmentDestination"> = {
  "/GetTraceSegmentDestination": "GetTraceSegmentDestination",
  "/UpdateTraceSegmentDestination": "UpdateTraceSegmentDestination",
};

export interface TraceSegmentDestinationStandIn {
  /** The account's destination and status as the stand-in holds them. */
  state(): { destination: TraceSegmentDestination; status: "PENDING" | "ACTIVE" };
  /** Every accepted call, in order, with its parsed body. */
  calls(): Array<{ operation: string; body: Record<string, unknown> }>;
  /** Answers `req` when it is addressed to one of the two operations (true); otherwise leaves it (false). */
  handle(req: http.IncomingMessage, body: Buffer, res: http.ServerResponse): boolean;
}

/**
 * The two calls, answered in memory. `verify` is the stand-in's SigV4 check for service `xray`; `refuse` records
 * and sends a refusal the way the stand-in sends every other one.
 */
export function traceSegmentDestinationStandIn(
  verify: (req: http.IncomingMessage, body: Buffer) => SigV4Result,
  refuse: (res: http.ServerResponse, status: number, type: string, message: string) => void,
): TraceSegmentDestinationStandIn {
  let destination: TraceSegmentDestination = "XRay";
  let status: "PENDING" | "ACTIVE" = "ACTIVE";
  const calls: Array<{ operation: string; body: Record<string, unknown> }> = [];

  const answer = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse, operation: string): void => {
    if (req.method !== "POST") return refuse(res, 404, "UnknownOperationException", `${operation} is POST ${req.url ?? ""}`);
    const signature = verify(req, body);
    if (signature.problem) return refuse(res, 403, signature.code ?? "InvalidSignatureException", signature.problem);
    let parsed: unknown = {};
    if (body.length > 0) {
      if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
        return refuse(res, 400, "InvalidRequestException", "the body must be application/json");
      }
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        return refuse(res, 400, "InvalidRequestException", "the body is not JSON");
      }
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return refuse(res, 400, "InvalidRequestException", "the body must be a JSON object");
    const request = parsed as Record<string, unknown>;
    if (operation === "UpdateTraceSegmentDestination" && request.Destination !== undefined) {
      if (!(TRACE_SEGMENT_DESTINATIONS as readonly unknown[]).includes(request.Destination)) {
        return refuse(res, 400, "InvalidRequestException", `Destination must be one of ${TRACE_SEGMENT_DESTINATIONS.join(", ")}, got ${JSON.stringify(request.Destination)}`);
      }
      if (request.Destination !== destination) {
        destination = request.Destination as TraceSegmentDestination;
        status = "PENDING";
        calls.push({ operation, body: request });
        return sendJson(res, 200, { Destination: destination, Status: status });
      }
    }
    // Switched by the time anyone asks again.
    if (operation === "GetTraceSegmentDestination") status = "ACTIVE";
    calls.push({ operation, body: request });
    sendJson(res, 200, { Destination: destination, Status: status });
  };

  return {
    state: () => ({ destination, status }),
    calls: () => [...calls],
    handle: (req, body, res) => {
      const operation = OPERATIONS[(req.url ?? "").split("?")[0] ?? ""];
      if (!operation) return false;
      answer(req, body, res, operation);
      return true;
    },
  };
}
