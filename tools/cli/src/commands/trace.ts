// `tracemesh trace TRACE_ID`: one trace with its log lines and its errors — the waterfall of its spans, its lines
// from CloudWatch Logs under the spans that wrote them, and its Rollbar items.
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { InputError } from "@tracemesh/trace-model";
import { makeCloudWatchLogsClient } from "../cloudwatch-logs.js";
import { DEFAULT_ROLLBAR_API_URL } from "../rollbar.js";
import { lookUpTrace, normalizeTraceId, renderTrace } from "../trace.js";
import { HELP_OPTION, HelpRequested, UsageError, sinceMs, withoutUsageLine } from "./command.js";
import { CLOUDWATCH_OPTIONS, cloudWatchOptions, logGroupOf } from "./vendor-options.js";

export const usage = `usage:
  tracemesh trace TRACE_ID [--otlp FILE...] [--cluster NAME | --log-group NAME] [--since 1h] [--region R]
                 [--cloudwatch-endpoint URL] [--ca-file FILE] [--width N] [--json]
      one trace with its log lines and its errors: the waterfall of its spans (--otlp: the Collector's file export),
      its log lines from CloudWatch Logs (FilterLogEvents on its id in the group Fluent Bit writes; AWS_REGION and the
      standard credentials; AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or --cloudwatch-endpoint for another endpoint) under the
      spans they were written in, and its Rollbar items (ROLLBAR_READ_TOKEN, ROLLBAR_API_URL default ${DEFAULT_ROLLBAR_API_URL}).
      TRACE_ID: 32 hex digits or the X-Ray form 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx. Exit 1 when nothing of it is found
`;

export const summary = withoutUsageLine(usage);

export async function run(args: string[]): Promise<number> {
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
  if (values.help) throw new HelpRequested(usage);
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
  if (values.json) process.stdout.write(JSON.stringify(view, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
  else process.stdout.write(renderTrace(view, { width }));
  return view.spans.length + view.logs.length + view.rollbar.length > 0 ? 0 : 1;
}
