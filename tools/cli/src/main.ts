#!/usr/bin/env node
// The `tracemesh` command: compare, setup honeycomb / xray / cloudwatch, marker, demo, trace, verify, stand-in. Arguments are parsed with
// node:util parseArgs (in Node itself, strict about unknown options, nothing to install for a few flags);
// every command and subcommand answers --help/-h with its own usage and exit 0.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startRecordingStandIn, type HoneycombExportRecord, type HoneycombMetricsRecord, type RollbarItemRecord } from "@tracemesh/devkit";
import { DURATION_GRAMMAR, parseDuration } from "@tracemesh/domain";
import {
  InputError,
  compareGraphs,
  graphFromOtlp,
  graphFromServiceGraphMetrics,
  graphFromXrayFiles,
  graphFromXraySegments,
  renderMermaid,
  renderSvg,
  parsePrometheusText,
  renderTable,
  segmentDocumentsFromFiles,
  segmentDocumentsFromSpans,
  spansFromOtlpFiles,
  type ServiceGraph,
} from "@tracemesh/trace-model";
import { DEMO_USAGE, parseDemoArgs, runDemo } from "./demo/demo.js";
import { frontendDemo } from "./demo/frontend.js";
import { runFault } from "./fault.js";
import { DEFAULT_DEMO_OUT, telemetryDemo } from "./demo/telemetry.js";
import { logsDemo } from "./demo/logs.js";
import {
  ALL_DATASETS,
  DEFAULT_HONEYCOMB_API_URL,
  createMarker,
  endMarker,
  savedQueries,
  setupHoneycomb,
  type HoneycombOptions,
} from "./honeycomb.js";
import { renderVerdict, verifyExports, type VerifyInput } from "./verify.js";
import { verifyLogs } from "./verify-logs.js";
import { MESH_SERVICES, fetchXrayGraph, setupTransactionSearch, setupXray, transactionSearchPlan, xraySetupPlan } from "./xray.js";
import { applicationLogGroup, cloudWatchSetupPlan, makeCloudWatchLogsClient, setupCloudWatch } from "./cloudwatch-logs.js";
import { DEFAULT_ROLLBAR_API_URL } from "./rollbar.js";
import { lookUpTrace, normalizeTraceId, renderTrace } from "./trace.js";

const COMPARE_USAGE = `usage:
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

const SETUP_HONEYCOMB_USAGE = `usage:
  tracemesh setup honeycomb [--apply] [--dataset SLUG]
      saved queries + board (prints them unless --apply, as every setup target does); HONEYCOMB_API_KEY, HONEYCOMB_API_URL (default ${DEFAULT_HONEYCOMB_API_URL};
      EU: https://api.eu1.honeycomb.io), dataset default ${ALL_DATASETS} (all services of the environment)
`;

const SETUP_XRAY_USAGE = `usage:
  tracemesh setup xray [--apply] [--group-name NAME] [--services a,b,c] [--xray-endpoint URL] [--region R]
      an X-Ray group (services with fault or error) and one sampling rule per service (reservoir 5, rate 0.1);
      prints them unless --apply
  tracemesh setup xray --transaction-search [--apply] [--xray-endpoint URL] [--region R]
      Transaction Search, for the OTLP path into X-Ray: prints the calls unless --apply, which reads the trace
      segment destination and sets it to CloudWatchLogs when it is not (account-wide; docs/xray-migration.md)
`;

const SETUP_CLOUDWATCH_USAGE = `usage:
  tracemesh setup cloudwatch [--apply] [--cluster NAME | --log-group NAME] [--region R] [--cloudwatch-endpoint URL] [--ca-file F]
      the saved CloudWatch Logs Insights query "logs of one trace" (PutQueryDefinition) over the log group Fluent Bit
      writes (/aws/containerinsights/<cluster>/application; cluster default tracemesh); prints the plan unless --apply
`;

const SETUP_USAGE = SETUP_HONEYCOMB_USAGE + SETUP_XRAY_USAGE.replace("usage:\n", "") + SETUP_CLOUDWATCH_USAGE.replace("usage:\n", "");

const TRACE_USAGE = `usage:
  tracemesh trace TRACE_ID [--otlp FILE...] [--cluster NAME | --log-group NAME] [--since 1h] [--region R]
                 [--cloudwatch-endpoint URL] [--ca-file FILE] [--width N] [--json]
      one trace with its log lines and its errors: the waterfall of its spans (--otlp: the Collector's file export),
      its log lines from CloudWatch Logs (FilterLogEvents on its id in the group Fluent Bit writes; AWS_REGION and the
      standard credentials; AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or --cloudwatch-endpoint for another endpoint) under the
      spans they were written in, and its Rollbar items (ROLLBAR_READ_TOKEN, ROLLBAR_API_URL default ${DEFAULT_ROLLBAR_API_URL}).
      TRACE_ID: 32 hex digits or the X-Ray form 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx. Exit 1 when nothing of it is found
`;

const MARKER_USAGE = `usage:
  tracemesh marker [--start | --end] [--message TEXT] [--type TYPE] [--url URL] [--dataset SLUG]
      a Honeycomb marker; --start opens a range marker (type load-test by default), --end closes the newest open one
`;

const VERIFY_USAGE = `usage:
  tracemesh verify --otlp FILE... --xray-segments FILE... [--honeycomb-spans FILE...] [--honeycomb-exports FILE]
                   [--honeycomb-metrics FILE] [--namespace NS --node NAME] [--cloudwatch-logs FILE [--rollbar-items FILE]]
                   [--browser]
      asserts the mesh told one story: each loadgen flow one whole trace (api → … → the stream hop; error traces
      too), judged on what Honeycomb received (--honeycomb-spans: a stand-in's record; else the --otlp export),
      the X-Ray map with every edge of Honeycomb's and no inferred node but redis, every judged trace's X-Ray
      segments, Kubernetes attributes on every OpenTelemetry span (with --namespace/--node), Honeycomb given
      every span of every judged trace (--honeycomb-spans; --honeycomb-exports: trace ids only) and the RED
      metrics of every mesh edge (--honeycomb-metrics: the stand-in's record of the servicegraph connector's edges);
      with --cloudwatch-logs JOURNAL (the CloudWatch Logs stand-in's) and --rollbar-items FILE: every service's pods
      logged, 99 % of request lines carry an exported trace's id, an error trace has its error line and Rollbar item;
      with --browser (the web app was used): the browser's frontend-web spans joined to api's in the same traces;
      --grace D (default 10s): traces that started this close to the end of the capture are not judged;
      --tolerance R (default 0.1). Exit 0 when every check passes, 1 when one fails
`;

const STAND_IN_USAGE = `usage:
  tracemesh stand-in --dir DIR [--port 4319] [--host 0.0.0.0] [--honeycomb-key KEY] [--rollbar-token T --rollbar-read-token R]
                     [--cloudwatch-logs-port 4320 --tls-name NAME...]
      Honeycomb's trace ingest (POST /v1/traces) and X-Ray's PutTraceSegments, checked as the real APIs
      check them, recorded in DIR for \`tracemesh verify\` (for a cluster with no way out; runs until SIGTERM);
      with --rollbar-token Rollbar's item API and RQL on the same port; with --cloudwatch-logs-port CloudWatch
      Logs over HTTPS (its CA in DIR/tls/ca.pem, the certificate for --tls-name), journaled in DIR
`;

const USAGE = `tracemesh — compare X-Ray with Honeycomb, set both up as code, run the local demo

${COMPARE_USAGE}${SETUP_USAGE.replace("usage:\n", "")}${MARKER_USAGE.replace("usage:\n", "")}  tracemesh demo [options]        the whole mesh locally with the real Collector (tracemesh demo --help)
${TRACE_USAGE.replace("usage:\n", "")}${VERIFY_USAGE.replace("usage:\n", "")}${STAND_IN_USAGE.replace("usage:\n", "")}  tracemesh fault list | on NAME [--value V] | off NAME [--context NAME]   the named failure scenarios, in the local demo or a cluster (tracemesh fault --help)

Every command takes --help (-h). Exit status: 0 done, 1 a remote call failed, 2 bad usage or unreadable input.
`;

/** Printed by --help/-h: the command's usage on stdout, exit 0. */
class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super("help");
  }
}

const HELP_OPTION = { help: { type: "boolean", short: "h", default: false } } as const;

class UsageError extends Error {}

function out(text: string, file: string | undefined): void {
  if (file) writeFileSync(file, text);
  else process.stdout.write(text);
}

function sinceMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--since: expected ${DURATION_GRAMMAR}, got "${text}"`);
  return ms;
}

function parseDate(text: string, flag: string): Date {
  const d = /^\d+$/.test(text) ? new Date(Number(text) * 1000) : new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${flag}: not a date or unix seconds: "${text}"`);
  return d;
}

function honeycombOptions(dataset: string | undefined, timeoutMs: number): HoneycombOptions {
  const apiKey = process.env.HONEYCOMB_API_KEY;
  if (!apiKey) throw new UsageError("HONEYCOMB_API_KEY is not set (a configuration key with Manage Queries, Boards and Markers)");
  return {
    apiKey,
    apiUrl: process.env.HONEYCOMB_API_URL || DEFAULT_HONEYCOMB_API_URL,
    dataset: dataset ?? ALL_DATASETS,
    timeoutMs,
    log: (line) => process.stderr.write(line + "\n"),
  };
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

async function compareCommand(args: string[]): Promise<void> {
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
  if (values.help) throw new HelpRequested(COMPARE_USAGE);
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
  out(text, values.output);
}

/** The options every CloudWatch Logs caller takes (setup cloudwatch, trace). */
const CLOUDWATCH_OPTIONS = {
  cluster: { type: "string" },
  "log-group": { type: "string" },
  region: { type: "string" },
  "cloudwatch-endpoint": { type: "string" },
  "ca-file": { type: "string" },
} as const;

interface CloudWatchValues {
  cluster?: string;
  "log-group"?: string;
  region?: string;
  "cloudwatch-endpoint"?: string;
  "ca-file"?: string;
}

/** --log-group, else the Container Insights group of --cluster (CLUSTER_NAME, default tracemesh). */
function logGroupOf(values: CloudWatchValues): string {
  if (values["log-group"] && values.cluster) throw new UsageError("--log-group or --cluster, not both");
  return values["log-group"] ?? applicationLogGroup(values.cluster ?? process.env.CLUSTER_NAME ?? "tracemesh");
}

function cloudWatchOptions(values: CloudWatchValues, timeoutMs: number) {
  return {
    region: values.region,
    endpoint: values["cloudwatch-endpoint"] ?? process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
    caFile: values["ca-file"],
    timeoutMs,
  };
}

async function traceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...HELP_OPTION,
      ...CLOUDWATCH_OPTIONS,
      otlp: { type: "string", multiple: true },
      since: { type: "string", default: "1h" },
      width: { type: "string" },
      json: { type: "boolean", default: false },
      "timeout-ms": { type: "string", default: "10000" },
    },
  });
  if (values.help) throw new HelpRequested(TRACE_USAGE);
  if (positionals.length !== 1) throw new UsageError("trace: one TRACE_ID");
  const traceId = normalizeTraceId(positionals[0]!);
  if (!traceId) throw new UsageError(`trace: "${positionals[0]}" is neither 32 hex digits nor an X-Ray trace id`);
  const timeoutMs = Number(values["timeout-ms"]);
  const width = values.width ? Number(values.width) : Math.min(160, process.stdout.columns || 130);
  if (!(width >= 60)) throw new UsageError("trace: --width must be a number ≥ 60");
  for (const f of values.otlp ?? []) if (!existsSync(f)) throw new InputError(`trace: --otlp ${f}: no such file`);
  const readToken = process.env.ROLLBAR_READ_TOKEN?.trim();
  // Without a region there is no CloudWatch Logs to ask: the spans and Rollbar still answer.
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) process.stderr.write("tracemesh trace: no AWS region (AWS_REGION or --region): CloudWatch Logs not asked\n");
  const view = await lookUpTrace({
    traceId,
    otlpFiles: values.otlp ?? [],
    logs: region ? { client: makeCloudWatchLogsClient(cloudWatchOptions(values, timeoutMs)), logGroup: logGroupOf(values) } : undefined,
    rollbar: readToken ? { readToken, apiUrl: process.env.ROLLBAR_API_URL?.trim() || undefined, timeoutMs } : undefined,
    sinceMs: sinceMs(values.since),
    timeoutMs,
  });
  if (values.json) out(JSON.stringify(view, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n", undefined);
  else out(renderTrace(view, { width }), undefined);
  return view.spans.length + view.logs.length + view.rollbar.length > 0 ? 0 : 1;
}

async function setupCommand(args: string[]): Promise<void> {
  const target = args[0];
  if (target === "--help" || target === "-h" || target === "help") throw new HelpRequested(SETUP_USAGE);
  const { values } = parseArgs({
    args: args.slice(1),
    options: {
      // Every setup target only prints its plan (offline) unless --apply; --dry-run says so explicitly.
      apply: { type: "boolean", default: false },
      "dry-run": { type: "boolean", default: false },
      dataset: { type: "string" },
      "group-name": { type: "string", default: "tracemesh" },
      "transaction-search": { type: "boolean", default: false },
      services: { type: "string", default: MESH_SERVICES.join(",") },
      "xray-endpoint": { type: "string" },
      "timeout-ms": { type: "string", default: "10000" },
      // region among them
      ...CLOUDWATCH_OPTIONS,
      ...HELP_OPTION,
    },
  });
  if (values.help) throw new HelpRequested(target === "honeycomb" ? SETUP_HONEYCOMB_USAGE : target === "xray" ? SETUP_XRAY_USAGE : target === "cloudwatch" ? SETUP_CLOUDWATCH_USAGE : SETUP_USAGE);
  const timeoutMs = Number(values["timeout-ms"]);
  if (values.apply && values["dry-run"]) throw new UsageError("setup: --apply and --dry-run contradict each other");
  const planOnly = !values.apply;
  if (target === "honeycomb") {
    if (planOnly) {
      out(JSON.stringify({ dataset: values.dataset ?? ALL_DATASETS, queries: savedQueries() }, null, 2) + "\n", undefined);
      return;
    }
    const result = await setupHoneycomb(honeycombOptions(values.dataset, timeoutMs));
    out(JSON.stringify(result, null, 2) + "\n", undefined);
    return;
  }
  if (target === "xray" && values["transaction-search"]) {
    if (planOnly) {
      out(JSON.stringify(transactionSearchPlan(), null, 2) + "\n", undefined);
      return;
    }
    const result = await setupTransactionSearch({
      region: values.region,
      endpoint: values["xray-endpoint"] ?? process.env.XRAY_ENDPOINT,
      timeoutMs,
      log: (line) => process.stderr.write(line + "\n"),
    });
    out(JSON.stringify(result, null, 2) + "\n", undefined);
    return;
  }
  if (target === "xray") {
    const services = values.services.split(",").map((s) => s.trim()).filter(Boolean);
    if (services.length === 0) throw new UsageError("--services: at least one service name");
    const plan = xraySetupPlan(values["group-name"], services);
    if (planOnly) {
      out(JSON.stringify(plan, null, 2) + "\n", undefined);
      return;
    }
    const result = await setupXray(plan, {
      region: values.region,
      endpoint: values["xray-endpoint"] ?? process.env.XRAY_ENDPOINT,
      timeoutMs,
      log: (line) => process.stderr.write(line + "\n"),
    });
    out(JSON.stringify(result, null, 2) + "\n", undefined);
    return;
  }
  if (target === "cloudwatch") {
    const plan = cloudWatchSetupPlan(logGroupOf(values));
    if (planOnly) {
      out(JSON.stringify({ dryRun: true, queryDefinition: plan }, null, 2) + "\n", undefined);
      return;
    }
    const result = await setupCloudWatch(plan, makeCloudWatchLogsClient(cloudWatchOptions(values, timeoutMs)), { timeoutMs, log: (line) => process.stderr.write(line + "\n") });
    out(JSON.stringify(result, null, 2) + "\n", undefined);
    return;
  }
  throw new UsageError(`setup: "honeycomb", "xray" or "cloudwatch", got "${target ?? ""}"`);
}

async function markerCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      start: { type: "boolean", default: false },
      end: { type: "boolean", default: false },
      message: { type: "string" },
      type: { type: "string" },
      url: { type: "string" },
      dataset: { type: "string" },
      "timeout-ms": { type: "string", default: "10000" },
      ...HELP_OPTION,
    },
  });
  if (values.help) throw new HelpRequested(MARKER_USAGE);
  if (values.start && values.end) throw new UsageError("marker: --start or --end, not both");
  if (!values.start && !values.end && !values.message) throw new UsageError("marker: give --message, --start or --end");
  const options = honeycombOptions(values.dataset, Number(values["timeout-ms"]));
  const now = Math.floor(Date.now() / 1000);
  const type = values.type ?? (values.start || values.end ? "load-test" : "tracemesh");
  const marker = values.end
    ? await endMarker(options, type, now, values.message)
    : await createMarker(options, {
        message: values.message ?? "load test started",
        type,
        start_time: now,
        ...(values.url ? { url: values.url } : {}),
      });
  out(JSON.stringify(marker) + "\n", undefined);
}

async function demoCommand(args: string[]): Promise<number> {
  let opts: ReturnType<typeof parseDemoArgs>;
  try {
    opts = parseDemoArgs(args);
  } catch (err) {
    const e = err as Error & { code?: string };
    throw e.code?.startsWith("ERR_PARSE_ARGS") ? e : new UsageError(`demo: ${e.message}`);
  }
  if (opts === "help") throw new HelpRequested(DEMO_USAGE);
  // The frontend first: extensions stop in order, so it flushes its spans before the Collector stops.
  const telemetry = telemetryDemo({ echo: opts.echo });
  // Logs need the Collector's export to tell which lines belong to exported traces: both, or neither.
  const logs = logsDemo({ tracesFile: () => telemetry.files().traces, outDir: DEFAULT_DEMO_OUT, echo: opts.echo });
  return runDemo(opts, [frontendDemo({ echo: opts.echo }), ...(opts.collector ? [telemetry, logs] : [])]);
}

function verifyCommand(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: {
      ...HELP_OPTION,
      otlp: { type: "string", multiple: true },
      "xray-segments": { type: "string", multiple: true },
      "honeycomb-exports": { type: "string" },
      "honeycomb-spans": { type: "string", multiple: true },
      "honeycomb-metrics": { type: "string" },
      namespace: { type: "string" },
      node: { type: "string" },
      "cloudwatch-logs": { type: "string" },
      "rollbar-items": { type: "string" },
      browser: { type: "boolean", default: false },
      grace: { type: "string", default: "10s" },
      tolerance: { type: "string", default: "0.1" },
    },
  });
  if (values.help) throw new HelpRequested(VERIFY_USAGE);
  if (!values.otlp?.length || !values["xray-segments"]?.length) throw new UsageError("verify: --otlp and --xray-segments are required");
  if ((values.namespace === undefined) !== (values.node === undefined)) throw new UsageError("verify: --namespace and --node go together");
  const graceMs = parseDuration(values.grace);
  if (graceMs === undefined) throw new UsageError(`verify: --grace: expected ${DURATION_GRAMMAR}, got "${values.grace}"`);
  const tolerance = Number(values.tolerance);
  if (!(tolerance >= 0)) throw new UsageError(`verify: --tolerance must be a number ≥ 0, got "${values.tolerance}"`);
  const honeycombTraceIds = values["honeycomb-exports"]
    ? new Set(readRecords<HoneycombExportRecord>(values["honeycomb-exports"]).flatMap((r) => r.traceIds))
    : undefined;
  const honeycombMetricEdges = values["honeycomb-metrics"]
    ? new Set(readRecords<HoneycombMetricsRecord>(values["honeycomb-metrics"]).flatMap((r) => r.edges))
    : undefined;
  const xraySegments = segmentDocumentsFromFiles(values["xray-segments"]);
  const input: VerifyInput = {
    spans: spansFromOtlpFiles(values.otlp),
    xray: graphFromXraySegments(xraySegments),
    xraySegments,
    honeycombSpans: values["honeycomb-spans"]?.length ? spansFromOtlpFiles(values["honeycomb-spans"]) : undefined,
    honeycombTraceIds,
    honeycombMetricEdges,
    kubernetes: values.namespace && values.node ? { namespace: values.namespace, node: values.node } : undefined,
    browser: values.browser,
    graceMs,
    tolerance,
  };
  const checks = verifyExports(input);
  // Logs and errors (verify-logs.ts): what Fluent Bit shipped to CloudWatch Logs, what Rollbar got.
  if (values["cloudwatch-logs"]) {
    if (!values.namespace) throw new UsageError("verify: --cloudwatch-logs needs --namespace");
    if (!existsSync(values["cloudwatch-logs"])) throw new InputError(`verify: cannot read ${values["cloudwatch-logs"]}`);
    const rollbarItems = values["rollbar-items"] ? (existsSync(values["rollbar-items"]) ? readRecords<RollbarItemRecord>(values["rollbar-items"]) : []) : undefined;
    checks.push(...verifyLogs({ journal: values["cloudwatch-logs"], rollbarItems, spans: input.spans, namespace: values.namespace, graceMs }));
  }
  process.stdout.write(renderVerdict(checks, input) + "\n");
  return checks.every((c) => c.ok) ? 0 : 1;
}

/** A stand-in's record: one JSON object per line (RECORDED_FILES); unreadable → exit 2. */
function readRecords<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new InputError(`verify: cannot read ${file}: ${(err as Error).message}`);
  }
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as T);
}

async function standInCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...HELP_OPTION,
      dir: { type: "string" },
      port: { type: "string", default: "4319" },
      host: { type: "string", default: "0.0.0.0" },
      "honeycomb-key": { type: "string" },
      "rollbar-token": { type: "string" },
      "rollbar-read-token": { type: "string" },
      "cloudwatch-logs-port": { type: "string" },
      "tls-name": { type: "string", multiple: true },
    },
  });
  if (values.help) throw new HelpRequested(STAND_IN_USAGE);
  if (!values.dir) throw new UsageError("stand-in: --dir is required");
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`stand-in: --port must be 0-65535, got "${values.port}"`);
  const logsPort = values["cloudwatch-logs-port"] === undefined ? undefined : Number(values["cloudwatch-logs-port"]);
  if (logsPort !== undefined && !(Number.isInteger(logsPort) && logsPort >= 0 && logsPort <= 65535)) throw new UsageError(`stand-in: --cloudwatch-logs-port must be 0-65535`);
  const standIn = await startRecordingStandIn({
    dir: values.dir,
    host: values.host,
    port,
    honeycombApiKey: values["honeycomb-key"],
    rollbarToken: values["rollbar-token"],
    rollbarReadToken: values["rollbar-read-token"],
    cloudwatchLogsPort: logsPort,
    tlsNames: values["tls-name"],
  });
  process.stderr.write(
    `stand-in for Honeycomb and X-Ray${values["rollbar-token"] !== undefined ? " and Rollbar" : ""} on ${values.host}:${standIn.port}` +
      `${standIn.cloudwatchLogsPort !== undefined ? `, CloudWatch Logs on https ${values.host}:${standIn.cloudwatchLogsPort}` : ""}, recording in ${values.dir}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  await standIn.stop();
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === "compare") await compareCommand(rest);
    else if (command === "setup") await setupCommand(rest);
    else if (command === "marker") await markerCommand(rest);
    else if (command === "demo") return await demoCommand(rest);
    else if (command === "verify") return verifyCommand(rest);
    else if (command === "stand-in") return await standInCommand(rest);
    else if (command === "fault") return await runFault(rest);
    else if (command === "trace") return await traceCommand(rest);
    else if (command === undefined || command === "help" || command === "--help" || command === "-h") {
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    } else throw new UsageError(`unknown command "${command}"`);
    return 0;
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(err.usage);
      return 0;
    }
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || err instanceof InputError || e.code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`tracemesh: ${e.message}\n`);
      if (err instanceof UsageError || e.code?.startsWith("ERR_PARSE_ARGS")) process.stderr.write("run `tracemesh help` for usage\n");
      return 2;
    }
    process.stderr.write(`tracemesh: ${e.name === "Error" ? "" : e.name + ": "}${e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  main(argv).then((code) => {
    process.exitCode = code;
    // The demo has stopped every process it started; it exits at once, as it always did, rather than wait
    // for a straggling handle (a lost child's pipe).
    if (argv[0] === "demo") process.exit(code);
  });
}
