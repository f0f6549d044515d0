// One trace as a text waterfall (the demo prints it, the end-to-end test writes it as an artifact).
import { formatMs } from "./render.js";
import type { Span } from "./span.js";

/** What the waterfall shows of a span. */
export interface WaterfallSpan {
  spanId: string;
  parentSpanId: string;
  service: string;
  name: string;
  kind: string;
  startNs: bigint;
  endNs: bigint;
  status: "UNSET" | "OK" | "ERROR";
}

/** A log line to show in a waterfall: when it was written, by which service, in which span (when known). */
export interface WaterfallLog {
  timeNs: bigint;
  service: string;
  spanId?: string;
  /** info, warn, error… (pino's level names). */
  level: string;
  text: string;
}

/** The waterfall row of a span. */
export function waterfallSpan(s: Span): WaterfallSpan {
  return {
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    service: s.serviceName,
    name: s.name,
    kind: s.kind,
    startNs: s.startNs,
    endNs: s.endNs,
    status: s.statusCode,
  };
}

const ms = (ns: bigint): number => Number(ns) / 1e6;

function fit(text: string, width: number): string {
  if (text.length <= width) return text.padEnd(width);
  return text.slice(0, Math.max(0, width - 1)) + "…";
}

/** Depth-first order of a span tree: children by start time; spans whose parent is missing are roots. */
export function spanTree(spans: readonly WaterfallSpan[]): Array<{ span: WaterfallSpan; depth: number }> {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, WaterfallSpan[]>();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : "";
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  for (const list of children.values()) list.sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
  const out: Array<{ span: WaterfallSpan; depth: number }> = [];
  const seen = new Set<string>();
  const visit = (s: WaterfallSpan, depth: number): void => {
    if (seen.has(s.spanId)) return; // a malformed capture must not loop
    seen.add(s.spanId);
    out.push({ span: s, depth });
    for (const c of children.get(s.spanId) ?? []) visit(c, depth + 1);
  };
  for (const root of children.get("") ?? []) visit(root, 0);
  return out;
}

/**
 * One trace as a text waterfall, each line at most `width` characters: the span (indented by depth, service and
 * name), kind, start offset and duration in ms from the trace's first span, status, and a bar of its time range;
 * `logs` adds the trace's log lines under their spans, each marked (▲) at the moment it was written.
 */
export function renderWaterfall(spans: readonly WaterfallSpan[], opts: { width?: number; maxSpans?: number; logs?: readonly WaterfallLog[] } = {}): string {
  const width = Math.max(60, opts.width ?? 120);
  const rows = spanTree(spans);
  if (rows.length === 0) return "(no spans)\n";
  const t0 = spans.reduce((min, s) => (s.startNs < min ? s.startNs : min), spans[0].startNs);
  const t1 = spans.reduce((max, s) => (s.endNs > max ? s.endNs : max), spans[0].endNs);
  const total = Math.max(ms(t1 - t0), 0.001);
  const labelW = Math.min(56, Math.floor(width * 0.42));
  // label, kind, start, duration, status, then |bar| — separated by one space each
  const fixed = labelW + 1 + 8 + 1 + 8 + 1 + 8 + 1 + 6 + 1 + 2;
  const barW = Math.max(8, width - fixed);
  const shown = rows.slice(0, opts.maxSpans ?? rows.length);
  const lines = [
    `${fit("span (service name)", labelW)} ${"kind".padEnd(8)} ${"start ms".padStart(8)} ${"dur ms".padStart(8)} ${"status".padEnd(6)} ` +
      `|${fit(`0 … ${formatMs(total)} ms`, barW)}|`,
  ];
  // Each log line goes under the row of the span it was written in (else of the last span started before it),
  // in time order; its mark in the bar column is the moment it was written.
  const logsAfter = new Map<number, WaterfallLog[]>();
  const shownIds = new Map(shown.map((r, i) => [r.span.spanId, i]));
  for (const log of [...(opts.logs ?? [])].sort((a, b) => (a.timeNs < b.timeNs ? -1 : a.timeNs > b.timeNs ? 1 : 0))) {
    let row = log.spanId !== undefined ? shownIds.get(log.spanId) : undefined;
    if (row === undefined) row = shown.reduce((last, r, i) => (r.span.startNs <= log.timeNs ? i : last), 0);
    logsAfter.set(row, [...(logsAfter.get(row) ?? []), log]);
  }
  shown.forEach(({ span, depth }, index) => {
    const start = ms(span.startNs - t0);
    const dur = Math.max(0, ms(span.endNs - span.startNs));
    // Cells [from, to): at least one cell, so even a 0.1 ms span shows where it ran.
    const from = Math.min(barW - 1, Math.floor((start / total) * barW));
    const to = Math.min(barW, Math.max(from + 1, Math.round(((start + dur) / total) * barW)));
    const bar = " ".repeat(from) + "█".repeat(to - from) + " ".repeat(barW - to);
    const status = span.status === "ERROR" ? "ERROR" : span.status === "OK" ? "ok" : "-";
    lines.push(
      `${fit(`${"  ".repeat(depth)}${span.service} ${span.name}`, labelW)} ${span.kind.padEnd(8).slice(0, 8)} ` +
        `${formatMs(start).padStart(8)} ${formatMs(dur).padStart(8)} ${status.padEnd(6)} |${bar}|`,
    );
    for (const log of logsAfter.get(index) ?? []) {
      const at = ms(log.timeNs - t0);
      const cell = Math.max(0, Math.min(barW - 1, Math.floor((at / total) * barW)));
      const mark = " ".repeat(cell) + "▲" + " ".repeat(barW - cell - 1);
      const level = log.level === "error" || log.level === "fatal" ? "ERROR" : log.level === "warn" ? "warn" : "log";
      lines.push(`${fit(`${"  ".repeat(depth + 1)}↳ ${log.service}: ${log.text}`, labelW)} ${"log".padEnd(8)} ${formatMs(at).padStart(8)} ${"".padStart(8)} ${level.padEnd(6)} |${mark}|`);
      // The whole line, below, when the label column cut it.
      if (`${"  ".repeat(depth + 1)}↳ ${log.service}: ${log.text}`.length > labelW) lines.push(`${"  ".repeat(depth + 2)}${log.text}`.slice(0, width));
    }
  });
  if (shown.length < rows.length) lines.push(`… ${rows.length - shown.length} more spans`);
  return lines.join("\n") + "\n";
}

