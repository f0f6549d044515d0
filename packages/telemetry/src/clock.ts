// One clock per process for span times: the wall clock's reading, to the microsecond, from the monotonic clock.
// Anchored once on a tick of Date.now(), monotonic after, re-anchored only when a check finds the two clocks more
// than a millisecond apart (a stepped wall clock, a suspended VM). No OpenTelemetry here: moderation's X-Ray SDK
// reads it too (services/moderation/src/xray.ts).
import { performance } from "node:perf_hooks";

/** The two clocks of the process: the wall clock in whole ms (Date.now) and the monotonic one (performance.now). */
export interface ClockSources {
  wallMs(): number;
  monotonicMs(): number;
}

/** Node's own clocks, the same ones the OpenTelemetry SDK reads (perf_hooks' performance). */
export const NODE_CLOCKS: ClockSources = { wallMs: () => Date.now(), monotonicMs: () => performance.now() };

/**
 * Wall-clock time from the monotonic clock: `epochMs(monotonicMs) = monotonicMs + offset`, the offset measured once
 * on a tick of Date.now() (so to about a microsecond, not to Date.now()'s millisecond) and again only when a check
 * finds the wall clock more than `toleranceMs` away.
 */
export class AnchoredClock {
  private offsetMs: number;
  private anchors = 0;

  constructor(
    private readonly sources: ClockSources = NODE_CLOCKS,
    private readonly toleranceMs = 1,
  ) {
    this.offsetMs = this.measureOffset();
  }

  /** Epoch milliseconds (fractional) at a reading of the monotonic clock. */
  epochMs(monotonicMs: number): number {
    return monotonicMs + this.offsetMs;
  }

  /** The same instant as [seconds, nanoseconds] (OpenTelemetry's HrTime). */
  hrTime(monotonicMs: number): [number, number] {
    const ms = this.epochMs(monotonicMs);
    const seconds = Math.floor(ms / 1000);
    const nanos = Math.round((ms - seconds * 1000) * 1e6);
    return nanos >= 1e9 ? [seconds + 1, nanos - 1e9] : [seconds, nanos];
  }

  /** Now, in epoch milliseconds with a fractional part. */
  nowMs(): number {
    return this.epochMs(this.sources.monotonicMs());
  }

  /** How many times the offset was measured (1 on a healthy host: at start). */
  get anchorCount(): number {
    return this.anchors;
  }

  /** The offset in ms between the monotonic clock and the epoch. */
  get offset(): number {
    return this.offsetMs;
  }

  /**
   * Holds the clock to the wall clock: `wallMs` is a Date.now() reading taken right before `monotonicMs` (as the
   * SDK's span constructor takes them). Date.now() truncates, so our reading belongs in [wallMs, wallMs + 1); past
   * the tolerance on either side the clocks have drifted apart and the clock re-anchors. Returns whether it did.
   */
  check(wallMs: number, monotonicMs: number): boolean {
    const ours = this.epochMs(monotonicMs);
    if (ours >= wallMs - this.toleranceMs && ours < wallMs + 1 + this.toleranceMs) return false;
    this.offsetMs = this.measureOffset();
    return true;
  }

  /**
   * Date.now() steps once per millisecond: the tick to a new value W happened between the previous wall read and
   * this one, so between the monotonic readings around them, and the offset is W minus that instant. A sample whose
   * bracket is wider than MAX_BRACKET_MS (the thread was preempted) is not trusted: the next tick is tried, for at
   * most ~20 ms, after which the narrowest bracket seen is used. Busy-waits ~1 ms on a quiet machine.
   */
  private measureOffset(): number {
    this.anchors++;
    const { wallMs, monotonicMs } = this.sources;
    let before = monotonicMs();
    let wall = wallMs();
    const giveUp = before + 20;
    let best: { width: number; offset: number } | undefined;
    for (;;) {
      const a = monotonicMs();
      const w = wallMs();
      const b = monotonicMs();
      if (w !== wall) {
        const width = b - before;
        const offset = w - (before + b) / 2;
        if (w === wall + 1 && width <= MAX_BRACKET_MS) return offset;
        if (!best || width < best.width) best = { width, offset };
        wall = w;
      }
      before = a;
      if (b > giveUp) return best?.offset ?? w - b;
    }
  }
}

/** The widest bracket (in ms) around a tick of Date.now() trusted for anchoring: a few loop turns, no preemption. */
const MAX_BRACKET_MS = 0.02;

// One per process, reachable from every copy of this module (the register hook's and the service's own import).
const CLOCK_KEY = Symbol.for("tracemesh.telemetry.clock");
type Global = typeof globalThis & { [CLOCK_KEY]?: AnchoredClock };

/** The process's clock, anchored on first use. */
export function processClock(): AnchoredClock {
  const global = globalThis as Global;
  return (global[CLOCK_KEY] ??= new AnchoredClock());
}
