// Whether a capture's span times can be trusted in a waterfall: how many spans start on a whole millisecond (the
// OpenTelemetry JS SDK's Date.now() start, issue #5019), and which children lie outside their parent in the same
// service — where one process's clock drew both, so nothing but the code (work outliving the span that started it)
// or a coarse clock can put a child outside. Across services, clocks and network differ: not judged here.
import type { Span } from "./span.js";

export interface ChildOutsideParent {
  traceId: string;
  service: string;
  child: string;
  parent: string;
  /** How far the child starts before its parent (ms, > 0) or 0. */
  startsEarlyMs: number;
  /** How far the child ends after its parent (ms, > 0) or 0. */
  endsLateMs: number;
}

export interface TimingReport {
  spans: number;
  /** Spans whose start is a whole millisecond since the epoch (onWholeMs). */
  wholeMsStarts: number;
  /** The same per service.name. */
  wholeMsByService: Record<string, { spans: number; wholeMs: number }>;
  /** Children whose parent is in the capture and of the same service. */
  sameServiceChildren: number;
  outside: ChildOutsideParent[];
}

const NS_PER_MS = 1_000_000n;
/** X-Ray SDK times are float seconds: a whole millisecond comes back a few hundred ns off after conversion. */
const WHOLE_MS_SLACK_NS = 1_000n;

/**
 * Whether a start is a whole millisecond since the epoch, to within a microsecond (a sub-ms clock lands there 0.2 %
 * of the time; Date.now() always).
 */
export function onWholeMs(startNs: bigint): boolean {
  const rest = startNs % NS_PER_MS;
  return rest < WHOLE_MS_SLACK_NS || rest > NS_PER_MS - WHOLE_MS_SLACK_NS;
}

/** The report for a set of spans (any number of traces). */
export function timingReport(spans: readonly Span[]): TimingReport {
  const byId = new Map<string, Span>();
  for (const s of spans) byId.set(`${s.traceId}/${s.spanId}`, s);
  const wholeMsByService: TimingReport["wholeMsByService"] = {};
  let wholeMsStarts = 0;
  let sameServiceChildren = 0;
  const outside: ChildOutsideParent[] = [];
  for (const s of spans) {
    const whole = onWholeMs(s.startNs);
    if (whole) wholeMsStarts++;
    const entry = (wholeMsByService[s.serviceName] ??= { spans: 0, wholeMs: 0 });
    entry.spans++;
    if (whole) entry.wholeMs++;

    const parent = s.parentSpanId ? byId.get(`${s.traceId}/${s.parentSpanId}`) : undefined;
    if (!parent || parent.serviceName !== s.serviceName) continue;
    sameServiceChildren++;
    const early = parent.startNs - s.startNs;
    const late = s.endNs - parent.endNs;
    if (early > 0n || late > 0n) {
      outside.push({
        traceId: s.traceId,
        service: s.serviceName,
        child: s.name,
        parent: parent.name,
        startsEarlyMs: early > 0n ? Number(early) / 1e6 : 0,
        endsLateMs: late > 0n ? Number(late) / 1e6 : 0,
      });
    }
  }
  return { spans: spans.length, wholeMsStarts, wholeMsByService, sameServiceChildren, outside };
}

const pct = (part: number, whole: number): string => (whole === 0 ? "0.0 %" : `${((100 * part) / whole).toFixed(1)} %`);

/** Two lines (and one per child outside its parent, up to `maxCases`), as the demo prints them. */
export function renderTimingReport(report: TimingReport, maxCases = 5): string {
  const lines = [
    `span starts on a whole millisecond: ${report.wholeMsStarts} of ${report.spans} (${pct(report.wholeMsStarts, report.spans)})`,
    `same-service children outside their parent: ${report.outside.length} of ${report.sameServiceChildren} (${pct(report.outside.length, report.sameServiceChildren)})`,
    ...report.outside.slice(0, maxCases).map(
      (c) =>
        `  ${c.service}: "${c.child}" ${c.endsLateMs > 0 ? `ends ${c.endsLateMs.toFixed(3)} ms after` : `starts ${c.startsEarlyMs.toFixed(3)} ms before`} "${c.parent}" (trace ${c.traceId})`,
    ),
  ];
  if (report.outside.length > maxCases) lines.push(`  … ${report.outside.length - maxCases} more`);
  return lines.join("\n") + "\n";
}
