// CloudWatch Logs from the CLI: the trace's log lines (FilterLogEvents on its id, the call a user makes against the
// real service) and the saved Logs Insights query `tracemesh setup cloudwatch` creates (PutQueryDefinition). The
// AWS SDK signs every call (SigV4); AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or --cloudwatch-endpoint points it at a
// stand-in, --ca-file trusts the stand-in's CA.
import fs from "node:fs";
import https from "node:https";
import tls from "node:tls";
import {
  CloudWatchLogsClient,
  DescribeQueryDefinitionsCommand,
  FilterLogEventsCommand,
  PutQueryDefinitionCommand,
  type FilteredLogEvent,
} from "@aws-sdk/client-cloudwatch-logs";
import { xrayTraceId } from "@tracemesh/trace-model";

export interface CloudWatchLogsOptions {
  region?: string;
  /** An endpoint other than AWS's (https://host:port); else AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, else AWS's. */
  endpoint?: string;
  /** A CA bundle to trust besides the system's (a stand-in's own CA). */
  caFile?: string;
  /** Keys to sign with (a stand-in's); else the standard AWS credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  timeoutMs?: number;
}

/** The log group Fluent Bit writes a cluster's container logs to (as Container Insights names it). */
export function applicationLogGroup(clusterName: string): string {
  return `/aws/containerinsights/${clusterName}/application`;
}

export function makeCloudWatchLogsClient(options: CloudWatchLogsOptions): CloudWatchLogsClient {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("no AWS region: set AWS_REGION or pass --region");
  const ca = options.caFile ? fs.readFileSync(options.caFile, "utf8") : undefined;
  return new CloudWatchLogsClient({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: 2,
    requestHandler: {
      requestTimeout: options.timeoutMs ?? 10_000,
      connectionTimeout: 5_000,
      ...(ca ? { httpsAgent: new https.Agent({ ca: [...tls.rootCertificates, ca], keepAlive: true }) } : {}),
    },
  });
}

/** The FilterLogEvents pattern that finds a trace's lines: its W3C id or its X-Ray form (moderation logs both). */
export function traceFilterPattern(traceId: string): string {
  return `?"${traceId}" ?"${xrayTraceId(traceId)}"`;
}

/** One log line of a trace: the event and, when the message is JSON (a merged pino line), its fields. */
export interface TraceLogLine {
  stream: string;
  timestamp: number;
  message: string;
  record?: Record<string, unknown>;
}

/** Every event of `logGroup` between start and end that carries the trace's id (all pages, bounded). */
export async function traceLogLines(
  client: CloudWatchLogsClient,
  opts: { logGroup: string; traceId: string; startMs: number; endMs: number; timeoutMs?: number; maxPages?: number },
): Promise<TraceLogLine[]> {
  const events: FilteredLogEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < (opts.maxPages ?? 20); page++) {
    const out = await client.send(
      new FilterLogEventsCommand({ logGroupName: opts.logGroup, filterPattern: traceFilterPattern(opts.traceId), startTime: opts.startMs, endTime: opts.endMs, nextToken }),
      { abortSignal: AbortSignal.timeout((opts.timeoutMs ?? 10_000) * 2) },
    );
    events.push(...(out.events ?? []));
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return events.map((e) => {
    const message = e.message ?? "";
    let record: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(message) as unknown;
      if (parsed && typeof parsed === "object") record = parsed as Record<string, unknown>;
    } catch {
      // a plain line
    }
    return { stream: e.logStreamName ?? "", timestamp: e.timestamp ?? 0, message, record };
  });
}

/** The saved Logs Insights query `setup cloudwatch` creates (a user pastes a trace id in place of TRACE_ID). */
export interface QueryDefinitionPlan {
  name: string;
  queryString: string;
  logGroupNames: string[];
}

export const TRACE_QUERY_NAME = "tracemesh/logs of one trace";

export function cloudWatchSetupPlan(logGroup: string): QueryDefinitionPlan {
  return {
    name: TRACE_QUERY_NAME,
    // Both id forms: the OpenTelemetry services log both, moderation (X-Ray SDK) too.
    queryString: [
      "fields @timestamp, kubernetes.container_name as service, level, msg, route, rpc, status, code, duration_ms, span_id, @logStream",
      '| filter trace_id = "TRACE_ID" or xray_trace_id = "TRACE_ID"',
      "| sort @timestamp asc",
      "| limit 1000",
    ].join("\n"),
    logGroupNames: [logGroup],
  };
}

/** Creates the saved query, or updates the one of the same name (idempotent): PutQueryDefinition. */
export async function setupCloudWatch(
  plan: QueryDefinitionPlan,
  client: CloudWatchLogsClient,
  opts: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<{ queryDefinitionId: string; action: "created" | "updated" }> {
  const signal = () => ({ abortSignal: AbortSignal.timeout((opts.timeoutMs ?? 10_000) * 2) });
  const existing = await client.send(new DescribeQueryDefinitionsCommand({ queryDefinitionNamePrefix: plan.name }), signal());
  const same = existing.queryDefinitions?.find((q) => q.name === plan.name);
  const out = await client.send(
    new PutQueryDefinitionCommand({ name: plan.name, queryString: plan.queryString, logGroupNames: plan.logGroupNames, queryDefinitionId: same?.queryDefinitionId }),
    signal(),
  );
  const action = same ? "updated" : "created";
  opts.log?.(`CloudWatch Logs Insights query "${plan.name}" ${action} (${out.queryDefinitionId})`);
  return { queryDefinitionId: out.queryDefinitionId ?? "", action };
}
