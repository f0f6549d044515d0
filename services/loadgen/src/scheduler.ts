// Open-loop arrivals: the k-th arrival is due at a fixed offset from the start, whatever the server does.
// Each arrival carries that due time, so latency is measured from when the request *should* have gone out
// and a stalled server shows its queueing instead of silently slowing the generator (coordinated omission).
import { performance } from "node:perf_hooks";

/**
 * Offset (ms from start) of arrival k at `rate` per second, the rate rising linearly from 0 over rampMs.
 * During the ramp N(t) = rate·t²/(2·ramp) arrivals have happened by t; after it, rate per second.
 */
export function arrivalOffsetMs(k: number, ratePerMs: number, rampMs: number): number {
  const rampArrivals = (ratePerMs * rampMs) / 2;
  if (rampMs > 0 && k < rampArrivals) return Math.sqrt((2 * rampMs * k) / ratePerMs);
  return rampMs + (k - (rampMs > 0 ? rampArrivals : 0)) / ratePerMs;
}

export interface ScheduleOptions {
  /** Arrivals per second once ramped up. */
  rate: number;
  durationMs: number;
  rampMs: number;
  /** Called once per arrival with its due time (a performance.now() value, never later than now). */
  onArrival: (dueAt: number) => void;
}

/** Fires arrivals until the duration is over or stop() is called; run() resolves then. */
export class OpenLoopScheduler {
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private finish: (() => void) | undefined;
  startedAt = 0;
  arrivals = 0;

  constructor(private readonly opts: ScheduleOptions) {}

  run(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.finish = resolve;
      this.startedAt = performance.now();
      this.tick();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.finish?.();
  }

  private readonly tick = (): void => {
    const { rate, durationMs, rampMs, onArrival } = this.opts;
    const ratePerMs = rate / 1000;
    const elapsed = performance.now() - this.startedAt;
    // Fire every arrival that is due; a late timer makes a burst, each arrival keeping its own due time.
    while (!this.stopped) {
      const offset = arrivalOffsetMs(this.arrivals, ratePerMs, rampMs);
      if (offset >= durationMs) {
        this.stop();
        return;
      }
      if (offset > elapsed) {
        // Timers have 1 ms granularity: sleep until the next due time (at least 1 ms, no busy loop).
        this.timer = setTimeout(this.tick, Math.max(1, Math.floor(offset - elapsed)));
        return;
      }
      this.arrivals++;
      onArrival(this.startedAt + offset);
    }
  };
}
