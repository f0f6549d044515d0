// The AWS X-Ray SDK (aws-xray-sdk-core) is this service's only tracing: a segment per request that
// continues the caller's X-Amzn-Trace-Id, subsegments for its own steps, annotations, errors and
// faults. Segments go over UDP to AWS_XRAY_DAEMON_ADDRESS — in tracemesh the Collector's awsxray
// receiver, which puts them in the same pipeline as the OpenTelemetry services' spans.
//
// Loaded only after the configuration was checked: the SDK reads AWS_XRAY_DAEMON_ADDRESS when it is
// first required and throws on a malformed one.
import fs from "node:fs";
import type http from "node:http";
import path from "node:path";
import * as AWSXRay from "aws-xray-sdk-core";
import type { Logger } from "@tracemesh/runtime";
import { processClock } from "@tracemesh/telemetry/clock";

export type { Segment, Subsegment } from "aws-xray-sdk-core";

export const SEGMENT_NAME = "moderation";

/**
 * Once per process. Manual mode: segments are passed along explicitly (no cls-hooked async hooks).
 * Sampling follows the caller: a request that arrives with a decision (Sampled=1/0 — every traced
 * call from activities) keeps it. moderation is never an entry point, so a request without one (a
 * probe, curl, an untraced mesh) is not traced: the local rule samples none, and no sampling rules
 * are polled from the daemon's TCP proxy.
 */
export function setUpXray(logger: Logger, daemonAddress: string): void {
  AWSXRay.setLogger(logger.child({ component: "aws-xray-sdk" }));
  AWSXRay.enableManualMode();
  // Outside a request there is no segment and nothing should be recorded.
  AWSXRay.setContextMissingStrategy("IGNORE_ERROR");
  // The SDK already read the variable itself (and refuses setDaemonAddress when it is set).
  if (!process.env.AWS_XRAY_DAEMON_ADDRESS) AWSXRay.setDaemonAddress(daemonAddress);
  AWSXRay.middleware.setDefaultName(SEGMENT_NAME);
  // Becomes service.version on the Collector's side (the SDK would say "unknown" outside npm start).
  AWSXRay.SegmentUtils.setServiceData({ name: SEGMENT_NAME, version: packageVersion(), runtime: "node", runtime_version: process.version });
  // The SDK times (sub)segments with Date.now() / 1000, whole milliseconds; the process's anchored clock (the one
  // the OpenTelemetry services' spans use) gives them sub-millisecond starts and ends.
  const clock = processClock();
  (AWSXRay.SegmentUtils as { getCurrentTime: () => number }).getCurrentTime = () => clock.nowMs() / 1000;
  AWSXRay.middleware.disableCentralizedSampling();
  AWSXRay.middleware.setSamplingRules({ version: 2, default: { fixed_target: 0, rate: 0 }, rules: [] });
}

/**
 * A segment for this request, continuing X-Amzn-Trace-Id (Root → trace_id, Parent → parent_id); the
 * SDK closes it when the response finishes and flags it from the status (4xx error, 429 throttle,
 * 5xx fault).
 */
export function segmentFor(req: http.IncomingMessage, res: http.ServerResponse): AWSXRay.Segment {
  return AWSXRay.middleware.traceRequestResponseCycle(req, res);
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** An error carrying a 4xx HTTP status: the caller's fault, so X-Ray `error`, not `fault`. */
function isClientError(err: unknown): boolean {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500;
}

/**
 * Runs `fn` (sync or async) in a subsegment of `parent` and rethrows what it throws: a 4xx error flags
 * the subsegment `error` (with the message as metadata), anything else is recorded as its fault with
 * the exception.
 */
export function inSubsegment<T>(parent: AWSXRay.Segment | AWSXRay.Subsegment, name: string, fn: (sub: AWSXRay.Subsegment) => T): T {
  const sub = parent.addNewSubsegment(name);
  const fail = (err: unknown): never => {
    if (isClientError(err)) {
      sub.addErrorFlag();
      sub.addMetadata("error", (err as Error).message);
      sub.close();
    } else sub.close(err instanceof Error ? err : String(err));
    throw err;
  };
  try {
    const result = fn(sub);
    if (result instanceof Promise) {
      return result.then((value: unknown) => {
        sub.close();
        return value;
      }, fail) as T;
    }
    sub.close();
    return result;
  } catch (err) {
    return fail(err);
  }
}

export interface SegmentIds {
  /** The X-Ray form (`1-5f84c7a1-…`), what the X-Ray console shows. */
  xray_trace_id: string;
  /** The same id as 32 hex digits: what the OpenTelemetry services' log lines carry as trace_id. */
  trace_id: string;
  /** This segment's id (the span id of the span the Collector makes of it). */
  span_id: string;
}

/** The ids every log line of a request carries, so CloudWatch Logs Insights finds them by trace. */
export function segmentIds(segment: AWSXRay.Segment): SegmentIds {
  return { xray_trace_id: segment.trace_id, trace_id: segment.trace_id.replace(/^1-/, "").replace("-", ""), span_id: segment.id };
}
