// The real Fluent Bit (scripts/tools/21-fluent-bit.sh builds it) for local runs, on the configuration users deploy
// (deploy/k8s/base/fluent-bit/fluent-bit-config.yaml: the same tail input and cri parser, the same multiline
// rule, the same cloudwatch_logs output). What a machine without Kubernetes cannot have is changed, and only
// that: the files it tails (a folder of CRI-format logs that criLogWriter writes), its state and HTTP port, the
// kubernetes filter (no API server: a `parser` filter merges the JSON lines instead, as Merge_Log does) and the
// output's endpoint (the local CloudWatch Logs stand-in, whose CA it trusts).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { freePort } from "./ports.js";
import { startProcess, type ManagedProcess } from "./process.js";
import { TOOL_BIN, repoRoot } from "./paths.js";
import { httpStatus, waitFor } from "./wait.js";
import { STAND_IN_AWS_CREDENTIALS } from "./sinks/xray.js";

type Section = Record<string, unknown>;
interface FluentBitConfig {
  service?: Section;
  parsers?: Section[];
  multiline_parsers?: Section[];
  pipeline: { inputs: Section[]; filters?: Section[]; outputs: Section[] };
}

/** The configuration the DaemonSet runs (one source for the cluster and for local runs). */
export function fluentBitConfigFile(): string {
  return path.join(repoRoot(), "deploy", "k8s", "base", "fluent-bit", "fluent-bit-config.yaml");
}

/** Path of the Fluent Bit binary: FLUENT_BIT_BIN, else the one scripts/tools/21-fluent-bit.sh builds. */
export function findFluentBit(): string {
  for (const candidate of [process.env.FLUENT_BIT_BIN, path.join(TOOL_BIN, "fluent-bit")]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  throw new Error("fluent-bit not found: run `bash scripts/tools/21-fluent-bit.sh` (builds Fluent Bit, ~2 min once)");
}

export interface LocalFluentBitSettings {
  /** The folder of CRI-format log files to tail (every *.log in it). */
  logDir: string;
  /** Its tail offsets and filesystem buffers. */
  stateDir: string;
  httpPort: number;
  /** Where the cloudwatch_logs output sends: the stand-in's host and port. */
  endpoint: { host: string; port: number };
  /** The CA the stand-in's certificate chains to. */
  caFile: string;
}

/** The users' configuration, changed only where a local run must differ (see the top of this file). */
export function localFluentBitConfig(usersConfig: string, s: LocalFluentBitSettings): string {
  const config = parse(usersConfig) as FluentBitConfig;
  config.service = { ...config.service, http_listen: "127.0.0.1", http_port: s.httpPort, "storage.path": path.join(s.stateDir, "storage") };
  const tail = config.pipeline.inputs.find((i) => i.name === "tail");
  if (!tail) throw new Error("the Fluent Bit configuration has no tail input");
  tail.path = path.join(s.logDir, "*.log");
  delete tail.exclude_path;
  tail.db = path.join(s.stateDir, "tail.db");
  const filters = config.pipeline.filters ?? [];
  const kubernetes = filters.findIndex((f) => f.name === "kubernetes");
  if (kubernetes >= 0) {
    // Merge_Log's work without an API server: the JSON in `log` becomes the record's fields, `log` goes.
    filters[kubernetes] = { name: "parser", match: filters[kubernetes]!.match, key_name: "log", parser: "json", reserve_data: "on" };
    config.parsers = [...(config.parsers ?? []), { name: "json", format: "json" }];
  }
  config.pipeline.filters = filters;
  const output = config.pipeline.outputs.find((o) => o.name === "cloudwatch_logs");
  if (!output) throw new Error("the Fluent Bit configuration has no cloudwatch_logs output");
  Object.assign(output, { endpoint: s.endpoint.host, port: s.endpoint.port, "tls.ca_file": s.caFile });
  return stringify(config, { lineWidth: 0 });
}

export interface LocalFluentBit {
  /** http://127.0.0.1:PORT (its HTTP server: health, metrics). */
  httpUrl: string;
  /** The CloudWatch Logs group it sends to (as named by the users' configuration). */
  logGroup: string;
  /** The configuration file it runs. */
  configFile: string;
  process: ManagedProcess;
  /** SIGTERM: it sends what it holds (up to the config's grace), then exits. */
  stop(): Promise<void>;
}

/** The CloudWatch Logs group the users' configuration names for a cluster. */
export function logGroupFor(clusterName: string, usersConfig = fs.readFileSync(fluentBitConfigFile(), "utf8")): string {
  const output = (parse(usersConfig) as FluentBitConfig).pipeline.outputs.find((o) => o.name === "cloudwatch_logs");
  return String(output?.log_group_name ?? "").replace("${CLUSTER_NAME}", clusterName);
}

/**
 * Starts Fluent Bit tailing `logDir` and sending to the CloudWatch Logs stand-in at `endpoint` (https://host:port)
 * with the stand-in's AWS keys; resolves once its health endpoint answers. `clusterName` names the log group.
 */
export async function startFluentBit(opts: {
  logDir: string;
  endpoint: string;
  caFile: string;
  clusterName?: string;
  stateDir?: string;
  echo?: boolean;
  readyTimeoutMs?: number;
}): Promise<LocalFluentBit> {
  const binary = findFluentBit();
  const stateDir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-fluent-bit-"));
  fs.mkdirSync(stateDir, { recursive: true });
  const url = new URL(opts.endpoint);
  const httpPort = await freePort();
  const usersConfig = fs.readFileSync(fluentBitConfigFile(), "utf8");
  const configFile = path.join(stateDir, "fluent-bit.yaml");
  fs.writeFileSync(
    configFile,
    localFluentBitConfig(usersConfig, { logDir: opts.logDir, stateDir, httpPort, endpoint: { host: url.hostname, port: Number(url.port || 443) }, caFile: opts.caFile }),
  );
  const clusterName = opts.clusterName ?? "local";
  const proc = startProcess("fluent-bit", binary, ["-c", configFile], {
    echo: opts.echo,
    env: {
      PATH: process.env.PATH,
      AWS_REGION: "us-east-1",
      CLUSTER_NAME: clusterName,
      HOST_NAME: os.hostname(),
      AWS_ACCESS_KEY_ID: STAND_IN_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STAND_IN_AWS_CREDENTIALS.secretAccessKey,
    },
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  try {
    await waitFor("fluent-bit health", async () => {
      if (exited) throw new Error(`fluent-bit exited before it was ready:\n${proc.output().slice(-3000)}`);
      return (await httpStatus(`${httpUrl}/api/v1/health`, 1000)) === 200;
    }, { timeoutMs: opts.readyTimeoutMs ?? 20_000, intervalMs: 100 });
  } catch (err) {
    await proc.stop(5000);
    throw new Error(`${(err as Error).message}\n${proc.output().slice(-3000)}`);
  }
  return {
    httpUrl,
    logGroup: logGroupFor(clusterName, usersConfig),
    configFile,
    process: proc,
    stop: async () => {
      // The config's grace (10 s) bounds its flush; the kill comes after.
      await proc.stop(20_000);
      if (!opts.stateDir) fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
