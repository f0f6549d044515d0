// `tracemesh setup honeycomb | xray | cloudwatch`: each vendor's side of tracemesh as code — Honeycomb's saved
// queries and board, X-Ray's group and sampling rules (or Transaction Search), the CloudWatch Logs Insights query.
// Every target prints its plan (offline) unless --apply.
import { parseArgs } from "node:util";
import { cloudWatchSetupPlan, makeCloudWatchLogsClient, setupCloudWatch } from "../cloudwatch-logs.js";
import { ALL_DATASETS, DEFAULT_HONEYCOMB_API_URL, savedQueries, setupHoneycomb } from "../honeycomb.js";
import { MESH_SERVICES, setupTransactionSearch, setupXray, transactionSearchPlan, xraySetupPlan } from "../xray.js";
import { HELP_OPTION, HelpRequested, UsageError, printJson, withoutUsageLine } from "./command.js";
import { CLOUDWATCH_OPTIONS, cloudWatchOptions, honeycombOptions, logGroupOf } from "./vendor-options.js";

const HONEYCOMB_USAGE = `usage:
  tracemesh setup honeycomb [--apply] [--dataset SLUG]
      saved queries + board (prints them unless --apply, as every setup target does); HONEYCOMB_API_KEY, HONEYCOMB_API_URL (default ${DEFAULT_HONEYCOMB_API_URL};
      EU: https://api.eu1.honeycomb.io), dataset default ${ALL_DATASETS} (all services of the environment)
`;

const XRAY_USAGE = `usage:
  tracemesh setup xray [--apply] [--group-name NAME] [--services a,b,c] [--xray-endpoint URL] [--region R]
      an X-Ray group (services with fault or error) and one sampling rule per service (reservoir 5, rate 0.1);
      prints them unless --apply
  tracemesh setup xray --transaction-search [--apply] [--xray-endpoint URL] [--region R]
      Transaction Search, for the OTLP path into X-Ray: prints the calls unless --apply, which reads the trace
      segment destination and sets it to CloudWatchLogs when it is not (account-wide; docs/xray-migration.md)
`;

const CLOUDWATCH_USAGE = `usage:
  tracemesh setup cloudwatch [--apply] [--cluster NAME | --log-group NAME] [--region R] [--cloudwatch-endpoint URL] [--ca-file F]
      the saved CloudWatch Logs Insights query "logs of one trace" (PutQueryDefinition) over the log group Fluent Bit
      writes (/aws/containerinsights/<cluster>/application; cluster default tracemesh); prints the plan unless --apply
`;

export const usage = HONEYCOMB_USAGE + withoutUsageLine(XRAY_USAGE) + withoutUsageLine(CLOUDWATCH_USAGE);

export const summary = withoutUsageLine(usage);

export async function run(args: string[]): Promise<number> {
  const target = args[0];
  if (target === "--help" || target === "-h" || target === "help") throw new HelpRequested(usage);
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
  if (values.help) {
    throw new HelpRequested(target === "honeycomb" ? HONEYCOMB_USAGE : target === "xray" ? XRAY_USAGE : target === "cloudwatch" ? CLOUDWATCH_USAGE : usage);
  }
  const timeoutMs = Number(values["timeout-ms"]);
  if (values.apply && values["dry-run"]) throw new UsageError("setup: --apply and --dry-run contradict each other");
  const planOnly = !values.apply;
  const log = (line: string) => process.stderr.write(line + "\n");
  const xrayEndpoint = values["xray-endpoint"] ?? process.env.XRAY_ENDPOINT;
  if (target === "honeycomb") {
    if (planOnly) printJson({ dataset: values.dataset ?? ALL_DATASETS, queries: savedQueries() });
    else printJson(await setupHoneycomb(honeycombOptions(values.dataset, timeoutMs)));
    return 0;
  }
  if (target === "xray" && values["transaction-search"]) {
    if (planOnly) printJson(transactionSearchPlan());
    else printJson(await setupTransactionSearch({ region: values.region, endpoint: xrayEndpoint, timeoutMs, log }));
    return 0;
  }
  if (target === "xray") {
    const services = values.services.split(",").map((s) => s.trim()).filter(Boolean);
    if (services.length === 0) throw new UsageError("--services: at least one service name");
    const plan = xraySetupPlan(values["group-name"], services);
    if (planOnly) printJson(plan);
    else printJson(await setupXray(plan, { region: values.region, endpoint: xrayEndpoint, timeoutMs, log }));
    return 0;
  }
  if (target === "cloudwatch") {
    const plan = cloudWatchSetupPlan(logGroupOf(values));
    if (planOnly) printJson({ dryRun: true, queryDefinition: plan });
    else printJson(await setupCloudWatch(plan, makeCloudWatchLogsClient(cloudWatchOptions(values, timeoutMs)), { timeoutMs, log }));
    return 0;
  }
  throw new UsageError(`setup: "honeycomb", "xray" or "cloudwatch", got "${target ?? ""}"`);
}
