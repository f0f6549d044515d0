// `tracemesh stand-in`: the recording stand-in for Honeycomb, X-Ray (and Rollbar, CloudWatch Logs) that a cluster
// with no way out exports to; it runs until SIGTERM and leaves its record for `tracemesh verify`.
import { parseArgs } from "node:util";
import { startRecordingStandIn } from "@tracemesh/devkit";
import { HELP_OPTION, HelpRequested, UsageError, withoutUsageLine } from "./command.js";

export const usage = `usage:
  tracemesh stand-in --dir DIR [--port 4319] [--host 0.0.0.0] [--honeycomb-key KEY] [--rollbar-token T --rollbar-read-token R]
                     [--cloudwatch-logs-port 4320 --tls-name NAME...]
      Honeycomb's trace ingest (POST /v1/traces) and X-Ray's PutTraceSegments, checked as the real APIs
      check them, recorded in DIR for \`tracemesh verify\` (for a cluster with no way out; runs until SIGTERM);
      with --rollbar-token Rollbar's item API and RQL on the same port; with --cloudwatch-logs-port CloudWatch
      Logs over HTTPS (its CA in DIR/tls/ca.pem, the certificate for --tls-name), journaled in DIR
`;

export const summary = withoutUsageLine(usage);

export async function run(args: string[]): Promise<number> {
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
  if (values.help) throw new HelpRequested(usage);
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
