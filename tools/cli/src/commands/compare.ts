// `tracemesh compare`: the service map as X-Ray draws it beside the one the OTLP spans make (and the Collector's
// servicegraph connector counts), as a table, JSON, Mermaid or SVG.
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  InputError,
  compareGraphs,
  graphFromOtlp,
  graphFromServiceGraphMetrics,
  graphFromXrayFiles,
  graphFromXraySegments,
  parsePrometheusText,
  renderMermaid,
  renderSvg,
  renderTable,
  segmentDocumentsFromSpans,
  spansFromOtlpFiles,
  type ServiceGraph,
} from "@tracemesh/trace-model";
import { fetchXrayGraph } from "../xray.js";
import { HELP_OPTION, HelpRequested, UsageError, sinceMs, withoutUsageLine } from "./command.js";

export const usage = `usage:
  tracemesh compare --otlp FILE... [--xray-segments FILE...] [options]
      --otlp FILE            OTLP/JSON written by the Collector's file exporter (repeatable)
      --xray-segments FILE   X-Ray segment documents: one per line, PutTraceSegments bodies or BatchGetTraces
                             output (repeatable). Without it (or --xray-otlp), X-Ray is queried live
                             (GetServiceGraph, else GetTraceSummaries + BatchGetTraces) over --since (default
                             15m) or --start/--end
      --xray-otlp FILE       instead: the OTLP X-Ray's OTLP endpoint received (when the Collector uses
                             otlp_http/xray), read as the segments X-Ray makes of those spans (repeatable)
      --xray-endpoint URL    X-Ray endpoint override (env XRAY_ENDPOINT); --region (env AWS_REGION)
      --servicegraph FILE|URL  a third column: the edges the Collector's servicegraph connector counted, from a
                             scrape of its Prometheus endpoint (a saved file, or http://HOST:8889/metrics)
      --format table|json|mermaid|svg   (default table; --json = --format json)
      --output FILE          write there instead of stdout
      --tolerance R          relative difference still counted as equal (default 0.1)
`;

export const summary = withoutUsageLine(usage);

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      otlp: { type: "string", multiple: true },
      "xray-segments": { type: "string", multiple: true },
      "xray-otlp": { type: "string", multiple: true },
      "xray-endpoint": { type: "string" },
      region: { type: "string" },
      servicegraph: { type: "string" },
      since: { type: "string", default: "15m" },
      start: { type: "string" },
      end: { type: "string" },
      format: { type: "string", default: "table" },
      json: { type: "boolean", default: false },
      output: { type: "string" },
      tolerance: { type: "string", default: "0.1" },
      "timeout-ms": { type: "string", default: "10000" },
      ...HELP_OPTION,
    },
  });
  if (values.help) throw new HelpRequested(usage);
  const format = values.json ? "json" : values.format;
  if (!["table", "json", "mermaid", "svg"].includes(format)) throw new UsageError(`--format: table, json, mermaid or svg`);
  const tolerance = Number(values.tolerance);
  if (!(tolerance >= 0 && tolerance < 10)) throw new UsageError(`--tolerance: a ratio such as 0.1`);
  if (!values.otlp?.length) {
    throw new UsageError(
      "--otlp FILE is required: the Honeycomb side comes from the Collector's file exporter (Honeycomb's Query Data " +
        "API needs the Enterprise plan, so tracemesh does not query it)",
    );
  }
  const otlp = graphFromOtlp(values.otlp);
  let xray: ServiceGraph;
  if (values["xray-segments"]?.length && values["xray-otlp"]?.length) throw new UsageError("--xray-segments or --xray-otlp, not both");
  if (values["xray-segments"]?.length) {
    xray = graphFromXrayFiles(values["xray-segments"]);
  } else if (values["xray-otlp"]?.length) {
    xray = graphFromXraySegments(segmentDocumentsFromSpans(spansFromOtlpFiles(values["xray-otlp"])));
  } else {
    const end = values.end ? parseDate(values.end, "--end") : new Date();
    const start = values.start ? parseDate(values.start, "--start") : new Date(end.getTime() - sinceMs(values.since));
    const live = await fetchXrayGraph({
      start,
      end,
      region: values.region,
      endpoint: values["xray-endpoint"] ?? process.env.XRAY_ENDPOINT,
      timeoutMs: Number(values["timeout-ms"]),
    });
    process.stderr.write(`X-Ray graph via ${live.via}\n`);
    xray = live.graph;
  }
  let servicegraph: ServiceGraph | undefined;
  if (values.servicegraph !== undefined) {
    const scrape = await readScrape(values.servicegraph, Number(values["timeout-ms"]));
    try {
      servicegraph = graphFromServiceGraphMetrics(parsePrometheusText(scrape));
    } catch (err) {
      throw new InputError(`--servicegraph ${values.servicegraph}: ${(err as Error).message}`);
    }
  }
  const comparison = compareGraphs(xray, otlp, { tolerance, servicegraph });
  const text =
    format === "json"
      ? JSON.stringify(comparison, (key, value: unknown) => (key === "latencySamplesMs" ? undefined : value), 2) + "\n"
      : format === "mermaid"
        ? renderMermaid(comparison)
        : format === "svg"
          ? renderSvg(comparison)
          : renderTable(comparison);
  if (values.output) writeFileSync(values.output, text);
  else process.stdout.write(text);
  return 0;
}

/** --start/--end: a date, or unix seconds. */
function parseDate(text: string, flag: string): Date {
  const d = /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag}: not a date or unix seconds: "${text}"`);
  return d;
}

/** A Prometheus exposition from a URL (one scrape, bounded) or a file. */
async function readScrape(source: string, timeoutMs: number): Promise<string> {
  if (!/^https?:\/\//.test(source)) {
    try {
      return readFileSync(source, "utf8");
    } catch (err) {
      throw new InputError(`--servicegraph: cannot read ${source}: ${(err as Error).message}`);
    }
  }
  const res = await fetch(source, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`--servicegraph: GET ${source} answered ${res.status}`);
  return res.text();
}
