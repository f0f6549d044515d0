// Sub-millisecond span start times for every span of the process, the instrumentations' included.
//
// OpenTelemetry JS (sdk-trace 2.12 and 3.1) takes a span's start from Date.now() — whole milliseconds — and only its
// duration from the monotonic clock (performance.now()), to keep long-running processes from drifting off the wall
// clock (opentelemetry-js #3279, #5019, #6816; PR #5804 is open). In a waterfall that puts children at 1.00, 2.00 ms
// and makes a tenth of the client spans end after their parent. Passing `startTime` to startSpan does not help:
// the SDK then takes the *end* from Date.now() too.
//
// What we do instead: one clock per process, anchored to the wall clock once (to the microsecond, on a tick of
// Date.now()) and monotonic after; a span processor, first in line, moves each span's start to that clock's reading
// at the instant the SDK read performance.now() for it. The SDK computes the end as start + monotonic elapsed time,
// so the end moves with the start and the duration is the SDK's own. The SDK's Date.now() start, read in the same
// constructor, is a free check per span: when it and the clock disagree by more than a millisecond (the wall clock
// was stepped, the VM slept), the clock re-anchors. The fields used are the SDK's internals (`SdkSpanInternals`);
// test/precise-start.test.ts fails by name when an upgrade changes them, and at run time spans are then left to the
// SDK with one warning, never given a wrong time.
import { diag } from "@opentelemetry/api";
import { performance } from "node:perf_hooks";
import type { Context, HrTime } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";
import { processClock, type AnchoredClock } from "./clock.js";

/**
 * The fields of the SDK's span (SpanImpl in @opentelemetry/sdk-trace 2.12 and 3.1) this relies on: the constructor reads
 * Date.now() into `startTime` (whole ms) and performance.now() into `_performanceStartTime`; `end()` without a time
 * is `startTime + (performance.now() - _performanceStartTime)`; `_performanceOffset` maps performance timestamps
 * passed to end()/addEvent() to the epoch; `_startTimeProvided` is true when the caller chose the start.
 */
export interface SdkSpanInternals {
  startTime: HrTime;
  _performanceStartTime: number;
  _performanceOffset: number;
  _startTimeProvided: boolean;
}

/** Why a span cannot be given a precise start by this SDK version, or undefined when it can. */
export function missingInternals(span: object): string | undefined {
  const s = span as Partial<Record<keyof SdkSpanInternals, unknown>>;
  const problems = [
    Array.isArray(s.startTime) && s.startTime.length === 2 ? "" : "startTime is not an HrTime",
    typeof s._performanceStartTime === "number" ? "" : "no numeric _performanceStartTime",
    typeof s._performanceOffset === "number" ? "" : "no numeric _performanceOffset",
    typeof s._startTimeProvided === "boolean" ? "" : "no boolean _startTimeProvided",
  ].filter(Boolean);
  return problems.length > 0 ? problems.join(", ") : undefined;
}

const hrTimeMs = (t: HrTime): number => t[0] * 1000 + t[1] / 1e6;

/** What the processor did, for tests and diagnostics. */
export interface PreciseStartStats {
  /** Spans whose start (and so end) moved to the anchored clock. */
  adjusted: number;
  /** Spans left alone: a start chosen by the caller, or already finer than a millisecond (an SDK that does it). */
  leftAlone: number;
  /** Spans left alone because the SDK's span lacks the fields above (a warning was logged once). */
  unsupported: number;
  /** Times the clock re-anchored after a check (not counting the first anchoring). */
  reanchored: number;
}

/** Moves every span's start to the process's anchored clock (see the top of this file). First in the processor list. */
export class PreciseStartSpanProcessor implements SpanProcessor {
  private readonly counts: PreciseStartStats = { adjusted: 0, leftAlone: 0, unsupported: 0, reanchored: 0 };
  private warned = false;

  constructor(
    readonly clock: AnchoredClock = processClock(),
    /** The epoch time of performance.now() = 0 as the SDK counts it (core's hrTime(), on perf_hooks' performance). */
    private readonly timeOrigin: number = performance.timeOrigin,
  ) {}

  onStart(span: Span, _parentContext: Context): void {
    const problem = missingInternals(span);
    if (problem) {
      this.counts.unsupported++;
      if (!this.warned) {
        this.warned = true;
        diag.warn(`tracemesh: span starts stay on whole milliseconds: the OpenTelemetry SDK's span changed (${problem})`);
      }
      return;
    }
    const internals = span as unknown as SdkSpanInternals;
    const sdkStartMs = hrTimeMs(internals.startTime);
    if (internals._startTimeProvided || !Number.isInteger(sdkStartMs)) {
      this.counts.leftAlone++;
      return;
    }
    if (this.clock.check(sdkStartMs, internals._performanceStartTime)) this.counts.reanchored++;
    internals.startTime = this.clock.hrTime(internals._performanceStartTime);
    // hrTime(input + _performanceOffset) = timeOrigin + input + _performanceOffset must be our epoch for `input`.
    internals._performanceOffset = this.clock.offset - this.timeOrigin;
    this.counts.adjusted++;
  }

  stats(): PreciseStartStats {
    return { ...this.counts };
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
