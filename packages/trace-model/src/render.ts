// Output for `compare`: a plain-text table (with the servicegraph connector as a third column when given),
// Mermaid flowcharts and a small hand-made SVG of both maps; and the edge table of one graph (the demo's map
// when the X-Ray side lives in the console).
import { combined, type Comparison, type EdgeComparison, type MatchCategory } from "./compare.js";
import type { GraphEdge, ServiceGraph } from "./graph.js";

const TITLES: Record<MatchCategory, string> = {
  both: "Edges in both",
  renamed: "Same call, different names",
  "only-xray": "Only in X-Ray",
  "only-otlp": "Only in Honeycomb / OTLP",
};

/** Milliseconds with three significant-ish digits: 7.88, 14.7. */
export function formatMs(v: number): string {
  return v < 10 ? v.toFixed(2) : v.toFixed(1);
}

function stats(e: GraphEdge | null): string {
  if (!e) return "—";
  const ms = (v: number | null): string => (v === null ? "-" : formatMs(v));
  return `${e.calls} calls, ${e.errors}e/${e.faults}f, p50 ${ms(e.p50Ms)} p99 ${ms(e.p99Ms)} ms`;
}

function edgeName(row: EdgeComparison): string {
  const x = row.xray.map((e) => `${e.from} → ${e.to}`).join(", ");
  const o = row.otlp ? `${row.otlp.from} → ${row.otlp.to}` : "";
  return o || x;
}

function xrayStats(row: EdgeComparison): string {
  if (row.xray.length === 0) return "—";
  return stats(combined(row.xray)) + (row.xray.length > 1 ? ` (${row.xray.length} edges)` : "");
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

/** The connector's column: requests and failures only (its latencies are bucket estimates). */
function connectorStats(e: GraphEdge | null): string {
  if (!e) return "—";
  const ms = (v: number | null): string => (v === null ? "-" : formatMs(v));
  return `${e.calls} req, ${e.faults} failed, p99 ≈${ms(e.p99Ms)} ms`;
}

export function renderTable(c: Comparison): string {
  const lines: string[] = [];
  const third = c.servicegraph;
  lines.push(
    `X-Ray: ${c.xray.nodes.length} nodes, ${c.xray.edges.length} edges, ${c.xray.traceCount ?? "?"} traces   ` +
      `Honeycomb/OTLP: ${c.otlp.nodes.length} nodes, ${c.otlp.edges.length} edges, ${c.otlp.traceCount ?? "?"} traces   ` +
      (third ? `servicegraph connector: ${third.graph.nodes.length} nodes, ${third.graph.edges.length} edges   ` : "") +
      `tolerance ${Math.round(c.tolerance * 100)}%`,
  );
  const inferred = c.xray.nodes.filter((n) => n.inferred).map((n) => n.name);
  if (inferred.length) lines.push(`X-Ray inferred nodes: ${inferred.join(", ")}`);
  const rows = c.edges.map((row) => ({
    row,
    edge: edgeName(row),
    x: xrayStats(row),
    o: stats(row.otlp),
    s: third ? connectorStats(row.servicegraph ?? null) : "",
  }));
  const wEdge = Math.max(4, ...rows.map((r) => r.edge.length));
  const wX = Math.max(5, ...rows.map((r) => r.x.length));
  const wO = Math.max(14, ...rows.map((r) => r.o.length));
  const wS = Math.max(22, ...rows.map((r) => r.s.length));
  const cells = (edge: string, x: string, o: string, sg: string) => `  ${pad(edge, wEdge)} | ${pad(x, wX)} | ${third ? `${pad(o, wO)} | ${sg}` : o}`.trimEnd();
  for (const category of Object.keys(TITLES) as MatchCategory[]) {
    const inCategory = rows.filter((r) => r.row.category === category);
    lines.push("", `${TITLES[category]} (${inCategory.length})`);
    if (inCategory.length === 0) continue;
    lines.push(cells("Edge", "X-Ray", "Honeycomb/OTLP", "Collector servicegraph"));
    lines.push(`  ${"-".repeat(wEdge)}-+-${"-".repeat(wX)}-+-${"-".repeat(wO)}${third ? `-+-${"-".repeat(wS)}` : ""}`);
    for (const r of inCategory) {
      lines.push(cells(r.edge, r.x, r.o, r.s));
      if (r.row.category === "renamed") lines.push(`      X-Ray: ${r.row.xray.map((e) => `${e.from} → ${e.to}`).join(", ")}`);
      if (r.row.servicegraph && (r.row.servicegraph.from !== (r.row.otlp ?? r.row.xray[0])?.from || r.row.servicegraph.to !== (r.row.otlp ?? r.row.xray[0])?.to)) {
        lines.push(`      connector: ${r.row.servicegraph.from} → ${r.row.servicegraph.to}`);
      }
      for (const d of r.row.differences) lines.push(`      differs: ${d}`);
      for (const e of r.row.explained) lines.push(`      explained: ${e.difference} — ${e.explanation}`);
      for (const reason of r.row.reasons) lines.push(`      why: ${reason}`);
    }
  }
  // Known, explained differences apart from the ones nobody can account for: only the latter need a look.
  const explained = rows.filter((r) => r.row.explained.length > 0);
  lines.push("", `Explained differences (${explained.length}): known behaviour, not a problem`);
  for (const r of explained) lines.push(`  ${r.edge}: ${r.row.explained.map((e) => e.difference).join("; ")}`);
  const differing = rows.filter((r) => r.row.differences.length > 0);
  lines.push("", `Unexplained differences beyond tolerance (${differing.length})`);
  for (const r of differing) lines.push(`  ${r.edge}: ${r.row.differences.join("; ")}`);
  if (third) {
    lines.push("", `Only in the servicegraph connector (${third.unmatched.length})`);
    for (const e of third.unmatched) lines.push(`  ${e.from} → ${e.to}: ${connectorStats(e)}${e.notes.length ? ` (${e.notes.join("; ")})` : ""}`);
    const off = rows.filter((r) => (r.row.servicegraphDifferences ?? []).length > 0);
    lines.push("", `Connector vs spans beyond tolerance (${off.length})`);
    for (const r of off) lines.push(`  ${r.edge}: ${(r.row.servicegraphDifferences ?? []).join("; ")}`);
  }
  return lines.join("\n") + "\n";
}

function mermaidId(name: string): string {
  return "n_" + name.replace(/[^A-Za-z0-9_]/g, "_");
}

function mermaidGraph(title: string, g: ServiceGraph): string {
  const lines = [`flowchart LR`, `  %% ${title}`];
  for (const n of g.nodes) {
    const label = n.name.replace(/"/g, "'");
    lines.push(n.inferred ? `  ${mermaidId(n.name)}(["${label} (inferred)"])` : `  ${mermaidId(n.name)}["${label}"]`);
  }
  for (const e of g.edges) {
    const failures = e.errors + e.faults > 0 ? `, ${e.errors + e.faults} failed` : "";
    lines.push(`  ${mermaidId(e.from)} -->|"${e.calls} calls${failures}"| ${mermaidId(e.to)}`);
  }
  return lines.join("\n");
}

export function renderMermaid(c: Comparison): string {
  return [
    "X-Ray service map",
    "```mermaid",
    mermaidGraph("X-Ray", c.xray),
    "```",
    "",
    "Honeycomb / OTLP service map",
    "```mermaid",
    mermaidGraph("Honeycomb/OTLP", c.otlp),
    "```",
    "",
  ].join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Columns by depth: roots (no incoming edge) first, each node one column right of its deepest caller. */
function depths(g: ServiceGraph): Map<string, number> {
  const depth = new Map<string, number>(g.nodes.map((n) => [n.name, 0]));
  // Longest-path relaxation, bounded by the node count so cycles cannot loop forever.
  for (let i = 0; i < g.nodes.length; i++) {
    let changed = false;
    for (const e of g.edges) {
      if (e.from === e.to) continue;
      const d = (depth.get(e.from) ?? 0) + 1;
      if (d > (depth.get(e.to) ?? 0) && d < g.nodes.length) {
        depth.set(e.to, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return depth;
}

function svgPanel(g: ServiceGraph, title: string, x0: number, highlight: Set<string>): { svg: string; width: number; height: number } {
  const colW = 190;
  const rowH = 70;
  const boxW = 150;
  const boxH = 34;
  const depth = depths(g);
  const columns = new Map<number, string[]>();
  for (const n of g.nodes) columns.set(depth.get(n.name) ?? 0, [...(columns.get(depth.get(n.name) ?? 0) ?? []), n.name]);
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, names] of columns) names.forEach((name, i) => pos.set(name, { x: x0 + 20 + d * colW, y: 50 + i * rowH }));
  const width = Math.max(1, columns.size) * colW + 40;
  const height = 70 + Math.max(1, ...[...columns.values()].map((c) => c.length)) * rowH;
  const parts: string[] = [`<text x="${x0 + 20}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`];
  for (const e of g.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const x1 = a.x + boxW;
    const y1 = a.y + boxH / 2;
    const x2 = b.x;
    const y2 = b.y + boxH / 2;
    const odd = highlight.has(`${e.from}\u0000${e.to}`);
    const colour = e.faults + e.errors > 0 ? "#c0392b" : odd ? "#d35400" : "#555";
    parts.push(
      `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" stroke="${colour}" stroke-width="1.5"` +
        `${odd ? ' stroke-dasharray="5,3"' : ""} marker-end="url(#arrow)"/>`,
      `<text x="${(x1 + x2) / 2}" y="${(y1 + y2) / 2 - 4}" font-size="10" text-anchor="middle" fill="${colour}">` +
        `${e.calls}${e.faults + e.errors > 0 ? ` (${e.faults + e.errors} failed)` : ""}</text>`,
    );
  }
  for (const n of g.nodes) {
    const p = pos.get(n.name);
    if (!p) continue;
    const label = n.name.length > 22 ? n.name.slice(0, 21) + "…" : n.name;
    parts.push(
      `<rect x="${p.x}" y="${p.y}" width="${boxW}" height="${boxH}" rx="${n.inferred ? 17 : 4}" ` +
        `fill="${n.inferred ? "#fdf2e9" : "#eaf2f8"}" stroke="${n.inferred ? "#d35400" : "#2e86c1"}"` +
        `${n.inferred ? ' stroke-dasharray="4,2"' : ""}><title>${escapeXml(n.name)}${n.inferred ? " (inferred)" : ""}</title></rect>`,
      `<text x="${p.x + boxW / 2}" y="${p.y + 21}" font-size="12" text-anchor="middle">${escapeXml(label)}</text>`,
    );
  }
  return { svg: parts.join("\n"), width, height };
}

export function renderSvg(c: Comparison): string {
  const oddX = new Set(c.edges.filter((e) => e.category !== "both").flatMap((e) => e.xray.map((x) => `${x.from}\u0000${x.to}`)));
  const oddO = new Set(
    c.edges.filter((e) => e.category !== "both" && e.otlp).map((e) => `${e.otlp?.from}\u0000${e.otlp?.to}`),
  );
  const left = svgPanel(c.xray, "X-Ray service map", 0, oddX);
  const right = svgPanel(c.otlp, "Honeycomb / OTLP service map", left.width + 20, oddO);
  const width = left.width + right.width + 20;
  const height = Math.max(left.height, right.height) + 30;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
      `<path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    left.svg,
    right.svg,
    `<text x="20" y="${height - 10}" font-size="10" fill="#777">dashed orange: edge not matched by name on the other side; ` +
      `rounded dashed node: inferred (no spans of its own); red: failures</text>`,
    `</svg>`,
    "",
  ].join("\n");
}

/** One graph's edges as a table: caller → callee, calls, errors (4xx and 5xx), p50 and p99. */
export function renderEdgeTable(graph: ServiceGraph): string {
  const num = (v: number | null) => (v === null ? "-" : formatMs(v));
  const rows = graph.edges.map((e: GraphEdge) => [`${e.from} → ${e.to}`, String(e.calls), String(e.errors + e.faults), num(e.p50Ms), num(e.p99Ms)]);
  const head = ["edge (caller → callee)", "calls", "errors", "p50 ms", "p99 ms"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => "  " + r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(head), "  " + w.map((n) => "-".repeat(n)).join("  "), ...rows.map(line)].join("\n") + "\n";
}
