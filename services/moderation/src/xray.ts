// MODERATION_TRACING=xray-sdk: the AWS X-Ray SDK (aws-xray-sdk-core) is this service's only tracing —
// a segment per request that continues the caller's X-Amzn-Trace-Id, subsegments for its own steps,
// annotations, errors and faults. Segments go over UDP to AWS_XRAY_DAEMON_ADDRESS — in tracemesh the
// Collector's awsxray receiver, which puts them in the same pipeline as the OpenTelemetry services' spans.
//
// Loaded (by main.ts) only in this mode and only after the configuration was checked: the SDK reads
// AWS_XRAY_DAEMON_ADDRESS when it is first required and throws on a malformed one.
import fs from "node:fs";
import path from "node:path";
import * as AWSXRay from "aws-xray-sdk-core";
import type { Logger } from "@tracemesh/runtime";
import { processClock } from "@tracemesh/telemetry/clock";
import { isClientError, settle, type RequestTrace, type RequestTracer, type TraceScope } from "./tracing.js";

export const SEGMENT_NAME = "moderation";

/**
 * Once per process. Manual mode (main.ts sets AWS_XRAY_MANUAL_MODE before the SDK loads; enableManualMode() here
 * says so again): segments are passed along explicitly, and cls-hooked's async hook is never created.
 * Sampling follows the caller: a request that arrives with a decision (Sampled=1/0 — every traced
 * call from activities) keeps it. moderation is never an entry point, so a request without one (a
 * probe, curl, an untraced mesh) is not traced: the local rule samples none, and no sampling rules
 * are polled from the daemon's TCP proxy.
 */
export function setUpXray(logger: Logger, daemonAddress: string): RequestTracer {
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
  return {
    mode: "xray-sdk",
    // A segment continuing X-Amzn-Trace-Id (Root → trace_id, Parent → parent_id); the SDK closes it when
    // the response finishes and flags it from the status (4xx error, 429 throttle, 5xx fault).
    begin: (req, res) => segmentTrace(AWSXRay.middleware.traceRequestResponseCycle(req, res)),
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version?: string };
    return pkg.version ?? "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Steps are subsegments of `parent`: a 4xx error flags one `error` (message as metadata), anything else is its fault. */
function scopeOf(parent: AWSXRay.Segment | AWSXRay.Subsegment): TraceScope {
  return {
    step: (name, fn) => {
      const sub = parent.addNewSubsegment(name);
      return settle(
        () => fn(scopeOf(sub)),
        (err) => {
          if (err === undefined) return sub.close();
          if (isClientError(err)) {
            sub.addErrorFlag();
            sub.addMetadata("error", err.message);
            sub.close();
          } else sub.close(err instanceof Error ? err : String(err));
        },
      );
    },
    detail: (key, value) => parent.addMetadata(key, value),
  };
}

function segmentTrace(segment: AWSXRay.Segment): RequestTrace {
  return {
    ...scopeOf(segment),
    setUser: (handle) => {
      segment.addAnnotation("app.user.handle", handle);
      segment.setUser(handle);
    },
    annotate: (key, value) => segment.addAnnotation(key, value),
    fail: (err) => segment.addError(err instanceof Error ? err : String(err)),
    // The X-Ray form (`1-5f84c7a1-…`), what the X-Ray console shows; the same id as 32 hex digits, what the
    // OpenTelemetry services' log lines carry as trace_id; this segment's id (the span id the Collector gives it).
    logFields: () => ({
      xray_trace_id: segment.trace_id,
      trace_id: segment.trace_id.replace(/^1-/, "").replace("-", ""),
      span_id: segment.id,
    }),
  };
}
