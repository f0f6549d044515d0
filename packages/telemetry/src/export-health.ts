// When the Collector is gone, spans are dropped — by design (serving must not wait for telemetry,
// and memory stays bounded by the batch processor's queue). This makes the drops visible: they are
// counted, and logged once when export starts failing and once when it resumes (with the count),
// instead of either silence (the SDK's default) or one error per batch.
import { diag, DiagLogLevel, type DiagLogger } from "@opentelemetry/api";
import { ExportResultCode, setGlobalErrorHandler, type ExportResult } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";

/** One JSON line on stderr (stdout belongs to the service's own pino logs). */
export type TelemetryLog = (level: "warn" | "info", msg: string, fields: Record<string, unknown>) => void;

const stderrLog: TelemetryLog = (level, msg, fields) => {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: "telemetry", msg, ...fields })}\n`);
};

// The batch processor reports spans it could not queue only through diag, as
// "Dropped N spans because maxQueueSize reached".
const QUEUE_DROP = /^Dropped (\d+) spans because maxQueueSize reached/;

export class ExportHealth {
  /** Spans lost since the process started: failed exports plus a full queue. */
  droppedSpans = 0;
  private failingSince: number | undefined;
  private lastSuccessAt = 0;
  private droppedInOutage = 0;
  private readonly seen = new Set<string>();

  constructor(private readonly log: TelemetryLog = stderrLog) {}

  /** Wraps the exporter so each export's outcome is counted. */
  wrap(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
        const startedAt = Date.now();
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) this.succeeded();
          // A late failure of an export begun before the last success belongs to the outage that
          // ended: counted, but it does not open a new one.
          else if (startedAt < this.lastSuccessAt) this.droppedSpans += spans.length;
          else this.dropped(spans.length, result.error);
          done(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  /**
   * Routes the SDK's diag warnings and error handler here: queue drops are counted, export errors
   * (already counted by the wrapper) are not repeated, anything else is logged once per text.
   */
  install(): void {
    const logger: DiagLogger = {
      error: (message: string) => this.other("warn", message),
      warn: (message: string) => {
        const drop = QUEUE_DROP.exec(message);
        if (drop) this.dropped(Number(drop[1]));
        else this.other("warn", message);
      },
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    };
    diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    // Failed or timed-out batches reach the global error handler once per batch: counted already.
    setGlobalErrorHandler((err) => {
      if (this.failingSince === undefined) this.other("warn", `telemetry error: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  private dropped(count: number, error?: Error): void {
    this.droppedSpans += count;
    this.droppedInOutage += count;
    if (this.failingSince !== undefined) return;
    this.failingSince = Date.now();
    this.log("warn", "span export failing; dropping spans until the Collector answers", {
      error: error?.message,
      dropped_spans: count,
    });
  }

  private succeeded(): void {
    this.lastSuccessAt = Date.now();
    if (this.failingSince === undefined) return;
    this.log("info", "span export resumed", {
      dropped_spans: this.droppedInOutage,
      dropped_spans_total: this.droppedSpans,
      outage_ms: Date.now() - this.failingSince,
    });
    this.failingSince = undefined;
    this.droppedInOutage = 0;
  }

  private other(level: "warn", message: string): void {
    if (this.seen.has(message) || this.seen.size > 100) return;
    this.seen.add(message);
    this.log(level, message, {});
  }
}
