// loadgen-surge: while on, loadgen adds arrivals at (V − 1) × its rate, so the total is V × the rate. The
// base schedule is left as it is (its arrival times stay those of the configured rate); a second open-loop
// schedule runs beside it for as long as the fault is on. The flag is read once a second.
import type { Faults } from "@tracemesh/flags";
import { OpenLoopScheduler } from "./scheduler.js";

const POLL_MS = 1000;

export interface SurgeOptions {
  faults: Faults;
  /** Arrivals per second of the base schedule. */
  rate: number;
  /** When the base schedule ends (performance.now() ms). */
  endsAt: () => number;
  now: () => number;
  /** Fires a surge arrival (due time as the base scheduler gives it) with the multiplier acting. */
  onArrival: (dueAt: number, multiplier: number) => void;
}

export class Surge {
  private timer: NodeJS.Timeout | undefined;
  private extra: { scheduler: OpenLoopScheduler; multiplier: number } | undefined;
  private stopped = false;

  constructor(private readonly opts: SurgeOptions) {}

  start(): void {
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.extra?.scheduler.stop();
    this.extra = undefined;
  }

  private async poll(): Promise<void> {
    const multiplier = (await this.opts.faults.value("loadgen-surge")) ?? 1;
    if (this.stopped) return;
    if (this.extra && this.extra.multiplier !== multiplier) {
      this.extra.scheduler.stop();
      this.extra = undefined;
    }
    const remainingMs = this.opts.endsAt() - this.opts.now();
    if (!this.extra && multiplier > 1 && remainingMs > 0) {
      const scheduler = new OpenLoopScheduler({
        rate: this.opts.rate * (multiplier - 1),
        durationMs: remainingMs,
        rampMs: 0,
        onArrival: (dueAt) => this.opts.onArrival(dueAt, multiplier),
      });
      this.extra = { scheduler, multiplier };
      void scheduler.run();
    }
    this.timer = setTimeout(() => void this.poll(), POLL_MS);
  }
}
