// api-memory-leak: while on, every routed request keeps V KiB that nothing frees, up to a cap, so the
// api's memory grows the way a leak does (RSS, heap-external, GC work in the runtime metrics). The first
// request after the switch goes off drops everything kept.
import { trace } from "@opentelemetry/api";
import type { Faults } from "@tracemesh/flags";
import type { Logger } from "@tracemesh/runtime";

/** The most the fault keeps: enough to see, far below a pod's limit. */
export const LEAK_CAP_BYTES = 256 * 1024 * 1024;

export class MemoryLeak {
  private kept: Buffer[] = [];
  private bytes = 0;

  constructor(
    private readonly faults: Faults,
    private readonly logger: Logger,
    private readonly capBytes = LEAK_CAP_BYTES,
  ) {}

  async onRequest(): Promise<void> {
    const kib = await this.faults.active("api-memory-leak");
    if (kib === undefined) {
      if (this.bytes > 0) {
        this.logger.info({ fault: "api-memory-leak", released_bytes: this.bytes }, "fault api-memory-leak released its memory");
        this.kept = [];
        this.bytes = 0;
      }
      return;
    }
    const size = Math.round(kib * 1024);
    if (this.bytes + size <= this.capBytes) {
      // Filled, so the pages are really touched (a zeroed allocation may not be resident).
      this.kept.push(Buffer.alloc(size, 0x6c));
      this.bytes += size;
    }
    trace.getActiveSpan()?.setAttribute("app.fault.leaked_bytes", this.bytes);
  }
}
