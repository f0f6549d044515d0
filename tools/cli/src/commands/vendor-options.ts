// The options and environment variables that name a vendor's account: Honeycomb's configuration key (setup
// honeycomb, marker) and CloudWatch Logs' log group, region and endpoint (setup cloudwatch, trace).
import { applicationLogGroup, type CloudWatchLogsOptions } from "../cloudwatch-logs.js";
import { ALL_DATASETS, DEFAULT_HONEYCOMB_API_URL, type HoneycombOptions } from "../honeycomb.js";
import { UsageError } from "./command.js";

/** HONEYCOMB_API_KEY (required) and HONEYCOMB_API_URL, for --dataset (default: every dataset of the environment). */
export function honeycombOptions(dataset: string | undefined, timeoutMs: number): HoneycombOptions {
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

/** The options every CloudWatch Logs caller takes (setup cloudwatch, trace). */
export const CLOUDWATCH_OPTIONS = {
  cluster: { type: "string" },
  "log-group": { type: "string" },
  region: { type: "string" },
  "cloudwatch-endpoint": { type: "string" },
  "ca-file": { type: "string" },
} as const;

export interface CloudWatchValues {
  cluster?: string;
  "log-group"?: string;
  region?: string;
  "cloudwatch-endpoint"?: string;
  "ca-file"?: string;
}

/** --log-group, else the Container Insights group of --cluster (CLUSTER_NAME, default tracemesh). */
export function logGroupOf(values: CloudWatchValues): string {
  if (values["log-group"] && values.cluster) throw new UsageError("--log-group or --cluster, not both");
  return values["log-group"] ?? applicationLogGroup(values.cluster ?? process.env.CLUSTER_NAME ?? "tracemesh");
}

/** The CloudWatch Logs client's settings: --region, --cloudwatch-endpoint (or AWS_ENDPOINT_URL_CLOUDWATCH_LOGS), --ca-file. */
export function cloudWatchOptions(values: CloudWatchValues, timeoutMs: number): CloudWatchLogsOptions {
  return {
    region: values.region,
    endpoint: values["cloudwatch-endpoint"] ?? process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS,
    caFile: values["ca-file"],
    timeoutMs,
  };
}
