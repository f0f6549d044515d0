// `tracemesh verify`: whether the mesh told one story — whole traces judged on what Honeycomb, X-Ray, CloudWatch
// Logs and Rollbar received (../verify.ts, ../verify-logs.ts); exit 0 when every check passes, 1 when one fails.
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { HoneycombExportRecord, HoneycombMetricsRecord, RollbarItemRecord } from "@tracemesh/devkit";
import { DURATION_GRAMMAR, parseDuration } from "@tracemesh/domain";
import { InputError, graphFromXraySegments, segmentDocumentsFromFiles, spansFromOtlpFiles } from "@tracemesh/trace-model";
import { verifyLogs } from "../verify-logs.js";
import { renderVerdict, verifyExports, type VerifyInput } from "../verify.js";
import { HELP_OPTION, HelpRequested, UsageError, withoutUsageLine } from "./command.js";

export const usage = `usage:
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

export const summary = withoutUsageLine(usage);

export function run(args: string[]): number {
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
  if (values.help) throw new HelpRequested(usage);
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
