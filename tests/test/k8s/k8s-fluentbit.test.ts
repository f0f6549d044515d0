// tools: fluent-bit
// The Fluent Bit YAML configuration of the DaemonSet, checked offline: first by the real binary the project builds
// (scripts/tools/21-fluent-bit.sh; `fluent-bit --dry-run` parses every section and property as the plugins do),
// then for what only the manifests know, from the documentation (docs.fluentbit.io): plugin names, each plugin's
// documented property names, boolean / enumerated values, required properties, ${VAR} references against the
// DaemonSet's env, files against the DaemonSet's mounts, tag routing from the tail input through the filters to
// the output, the exclude patterns against real container log file names, and that the ci overlay runs the very
// same configuration (one source).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { findFluentBit } from "@tracemesh/devkit";
import { find, kustomize, workloads, type Container, type PodSpec } from "./k8s-helpers.js";

type Section = Record<string, unknown>;
interface FluentBitConfig {
  service?: Section;
  pipeline?: { inputs?: Section[]; filters?: Section[]; outputs?: Section[] };
}

const BOOL = /^(on|off|true|false|yes|no)$/i;
const SERVICE_KEYS = ["flush", "grace", "daemon", "dns.mode", "log_file", "log_level", "parsers_file", "plugins_file", "streams_file", "http_server", "http_listen", "http_port", "coro_stack_size", "scheduler.cap", "scheduler.base", "json.convert_nan_to_null", "hot_reload", "health_check", "hc_errors_count", "hc_retry_failure_count", "hc_period", "storage.path", "storage.sync", "storage.checksum", "storage.backlog.mem_limit", "storage.max_chunks_up", "storage.metrics", "storage.delete_irrecoverable_chunks"];
const COMMON_INPUT = ["name", "tag", "alias", "log_level", "mem_buf_limit", "storage.type", "storage.pause_on_chunks_overlimit", "threaded", "routable"];
const COMMON_FILTER = ["name", "match", "match_regex", "alias", "log_level"];
const TOP_LEVEL = ["service", "pipeline", "parsers", "multiline_parsers", "env", "includes", "customs", "plugins"];
const COMMON_OUTPUT = ["name", "match", "match_regex", "alias", "log_level", "retry_limit", "storage.total_limit_size", "workers", "tls", "tls.verify", "tls.debug", "tls.ca_file", "tls.vhost"];
const PLUGIN_KEYS: Record<string, string[]> = {
  "input:tail": [...COMMON_INPUT, "buffer_chunk_size", "buffer_max_size", "path", "path_key", "exclude_path", "offset_key", "read_from_head", "refresh_interval", "rotate_wait", "ignore_older", "skip_long_lines", "skip_empty_lines", "db", "db.sync", "db.locking", "db.journal_mode", "db.compare_filename", "exit_on_eof", "parser", "key", "inotify_watcher", "tag_regex", "static_batch_size", "file_cache_advise", "unicode.encoding", "generic.encoding", "multiline.parser", "multiline", "multiline_flush", "parser_firstline", "docker_mode", "docker_mode_flush", "docker_mode_parser"],
  "filter:kubernetes": [...COMMON_FILTER, "buffer_size", "kube_url", "kube_ca_file", "kube_ca_path", "kube_token_file", "kube_token_ttl", "kube_tag_prefix", "merge_log", "merge_log_key", "merge_log_trim", "merge_parser", "keep_log", "tls.debug", "tls.verify", "tls.vhost", "use_journal", "cache_use_docker_id", "regex_parser", "k8s-logging.parser", "k8s-logging.exclude", "labels", "annotations", "kube_meta_preload_cache_dir", "dummy_meta", "dns_retries", "dns_wait_time", "use_kubelet", "use_tag_for_meta", "kubelet_host", "kubelet_port", "kube_meta_cache_ttl", "kube_meta_namespace_cache_ttl", "namespace_labels", "namespace_annotations", "namespace_metadata_only", "owner_references"],
  "filter:multiline": [...COMMON_FILTER, "multiline.parser", "multiline.key_content", "mode", "buffer", "flush_ms", "emitter_name", "emitter_storage.type", "emitter_mem_buf_limit"],
  "output:cloudwatch_logs": [...COMMON_OUTPUT, "region", "log_group_name", "log_group_template", "log_stream_name", "log_stream_prefix", "log_stream_template", "log_key", "log_format", "role_arn", "auto_create_group", "log_retention_days", "endpoint", "sts_endpoint", "metric_namespace", "metric_dimensions", "auto_retry_requests", "external_id", "profile", "log_group_class"],
};
const BOOL_KEYS = new Set(["http_server", "health_check", "hot_reload", "daemon", "skip_long_lines", "skip_empty_lines", "read_from_head", "db.locking", "exit_on_eof", "merge_log", "keep_log", "k8s-logging.parser", "k8s-logging.exclude", "labels", "annotations", "use_kubelet", "auto_create_group", "threaded", "auto_retry_requests", "storage.metrics"]);
const MULTILINE_BUILTINS = new Set(["docker", "cri", "go", "python", "java", "ruby"]);
const RETENTION_DAYS = new Set([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]);
const LOG_LEVELS = new Set(["off", "error", "warn", "info", "debug", "trace"]);

/** Fluent Bit's tag match: `*` matches anything, including dots. */
function tagMatches(pattern: string, tag: string): boolean {
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(tag);
}

/** Shell glob (as tail's path/exclude_path): `*` within a path segment. */
function globMatches(glob: string, file: string): boolean {
  return new RegExp(`^${glob.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*")}$`).test(file);
}

function under(file: string, dir: string): boolean {
  return file === dir || file.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}

/** Problems with a Fluent Bit YAML config run by `container` of `pod`. */
export function fluentBitProblems(text: string, pod: PodSpec, container: Container): string[] {
  const problems: string[] = [];
  const config = parse(text) as FluentBitConfig;
  const env = new Set((container.env ?? []).map((e) => e.name));
  const mounts = container.volumeMounts ?? [];
  const writable = (file: string) => mounts.some((m) => !m.readOnly && under(file, m.mountPath));
  const mounted = (file: string) => mounts.some((m) => under(file, m.mountPath));

  for (const key of Object.keys(config)) if (!TOP_LEVEL.includes(key)) problems.push(`unknown top-level section ${key}`);
  const multilineParsers = new Set([...MULTILINE_BUILTINS, ...((config as { multiline_parsers?: Section[] }).multiline_parsers ?? []).map((p) => String(p.name))]);
  const check = (where: string, section: Section, allowed: string[]) => {
    for (const [key, value] of Object.entries(section)) {
      if (!allowed.includes(key.toLowerCase())) problems.push(`${where}: unknown property ${key}`);
      const v = String(value);
      if (BOOL_KEYS.has(key) && !BOOL.test(v)) problems.push(`${where}: ${key} must be on/off, not ${v}`);
      for (const m of v.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) if (!env.has(m[1])) problems.push(`${where}: ${key} uses \${${m[1]}}, which the container does not set`);
    }
  };
  const service = config.service ?? {};
  check("service", service, SERVICE_KEYS);
  if (service.log_level && !LOG_LEVELS.has(String(service.log_level))) problems.push(`service: log_level ${String(service.log_level)}`);
  if (service["storage.path"] && !writable(String(service["storage.path"]))) problems.push(`service: storage.path ${String(service["storage.path"])} is not on a writable mount`);

  const inputs = config.pipeline?.inputs ?? [];
  const filters = config.pipeline?.filters ?? [];
  const outputs = config.pipeline?.outputs ?? [];
  if (inputs.length === 0 || outputs.length === 0) problems.push("pipeline needs inputs and outputs");
  const tags: string[] = [];
  for (const input of inputs) {
    const kind = `input:${String(input.name)}`;
    if (!PLUGIN_KEYS[kind]) { problems.push(`${kind}: plugin not known to this check`); continue; }
    check(kind, input, PLUGIN_KEYS[kind]);
    if (input.name === "tail") {
      const pathGlob = String(input.path ?? "");
      if (!pathGlob) problems.push("tail: path is required");
      if (!mounted(pathGlob.slice(0, pathGlob.lastIndexOf("/")))) problems.push(`tail: ${pathGlob} is not under a mounted volume`);
      if (input.db && !writable(String(input.db))) problems.push(`tail: db ${String(input.db)} is not on a writable mount`);
      for (const parser of String(input["multiline.parser"] ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
        if (!multilineParsers.has(parser)) problems.push(`tail: multiline.parser ${parser} is not built in`);
      }
      // tail replaces `*` in the tag with the file's path, slashes turned into dots.
      const tag = String(input.tag ?? "tail.*");
      const sample = pathGlob.replace("*", "api-7d9f_tracemesh_api-0123abcd");
      tags.push(tag.replace("*", sample.replace(/^\//, "").replace(/\//g, ".")));
    }
  }
  for (const filter of filters) {
    const kind = `filter:${String(filter.name)}`;
    if (!PLUGIN_KEYS[kind]) { problems.push(`${kind}: plugin not known to this check`); continue; }
    check(kind, filter, PLUGIN_KEYS[kind]);
    if (!tags.some((t) => tagMatches(String(filter.match ?? ""), t))) problems.push(`${kind}: match ${String(filter.match)} catches no input's records`);
    if (filter.name === "multiline" && !multilineParsers.has(String(filter["multiline.parser"]))) problems.push(`${kind}: multiline.parser ${String(filter["multiline.parser"])} is not defined`);
    if (filter.name === "kubernetes") {
      // The filter reads pod and namespace from the tag after kube_tag_prefix.
      const prefix = String(filter.kube_tag_prefix ?? "kube.var.log.containers.");
      if (!tags.some((t) => t.startsWith(prefix) && /^[^.]+_[^_]+_.+$/.test(t.slice(prefix.length)))) problems.push(`${kind}: kube_tag_prefix ${prefix} does not fit the input tags`);
      if (!BOOL.test(String(filter.merge_log)) || !/^(on|true|yes)$/i.test(String(filter.merge_log))) problems.push(`${kind}: merge_log must be on (pino's JSON fields become top-level)`);
    }
  }
  for (const output of outputs) {
    const kind = `output:${String(output.name)}`;
    if (!PLUGIN_KEYS[kind]) { problems.push(`${kind}: plugin not known to this check`); continue; }
    check(kind, output, PLUGIN_KEYS[kind]);
    if (!tags.some((t) => tagMatches(String(output.match ?? ""), t))) problems.push(`${kind}: match ${String(output.match)} catches no input's records`);
    if (output.name === "cloudwatch_logs") {
      if (!output.region) problems.push(`${kind}: region is required`);
      if (!output.log_group_name && !output.log_group_template) problems.push(`${kind}: log_group_name is required`);
      if (!output.log_stream_name && !output.log_stream_prefix) problems.push(`${kind}: log_stream_name or log_stream_prefix is required (also as the template's fallback)`);
      // The output always speaks TLS and refuses `tls` as a property; trusting another CA is the ci overlay's business.
      for (const key of Object.keys(output)) if (key.startsWith("tls") || key === "endpoint" || key === "port") problems.push(`${kind}: ${key} must not be in the users' configuration`);
      if (output.log_retention_days !== undefined && !RETENTION_DAYS.has(Number(output.log_retention_days))) problems.push(`${kind}: log_retention_days ${String(output.log_retention_days)} is not a CloudWatch value`);
    }
  }
  // The probes use the built-in HTTP server.
  const probePort = (container.readinessProbe?.httpGet as { port?: string | number } | undefined)?.port;
  if (probePort !== undefined) {
    const port = typeof probePort === "number" ? probePort : container.ports?.find((p) => p.name === probePort)?.containerPort;
    if (!/^(on|true|yes)$/i.test(String(service.http_server))) problems.push("probes need service.http_server on");
    if (Number(service.http_port ?? 2020) !== port) problems.push(`probes use port ${String(port)}, the HTTP server listens on ${String(service.http_port ?? 2020)}`);
    const path = (container.readinessProbe?.httpGet as { path?: string }).path;
    if (path === "/api/v1/health" && !/^(on|true|yes)$/i.test(String(service.health_check))) problems.push("/api/v1/health needs service.health_check on");
  }
  void pod;
  return problems;
}

function setup() {
  const objects = kustomize("deploy/k8s/overlays/kind");
  const w = workloads(objects).find((x) => x.object.kind === "DaemonSet" && x.object.metadata.name === "fluent-bit")!;
  const container = w.pod.containers[0];
  const volume = w.pod.volumes!.find((v) => v.configMap)!;
  const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === volume.configMap!.name)!;
  const [file, text] = Object.entries(configMap.data as Record<string, string>)[0];
  return { objects, w, container, volume, file, text };
}

describe("Fluent Bit configuration", { timeout: 60_000 }, () => {
  test("the DaemonSet runs the mounted YAML config, and the config is sound", { timeout: 30_000 }, () => {
    const { w, container, volume, file, text } = setup();
    const mount = container.volumeMounts!.find((m) => m.name === volume.name)!.mountPath;
    assert.deepEqual(container.args, ["-c", `${mount}/${file}`]);
    assert.match(file, /\.yaml$/, "the YAML format (the classic one is being retired)");
    assert.deepEqual(fluentBitProblems(text, w.pod, container), []);

    const config = parse(text) as FluentBitConfig;
    const output = config.pipeline!.outputs![0];
    assert.equal(output.name, "cloudwatch_logs");
    // Container Insights' names: /aws/containerinsights/<cluster>/application, <node>-<tag> per container's file.
    assert.equal(output.log_group_name, "/aws/containerinsights/${CLUSTER_NAME}/application");
    assert.equal(output.log_stream_prefix, "${HOST_NAME}-");
    assert.equal(output.region, "${AWS_REGION}");
    assert.match(String(output.auto_create_group), /^(on|true)$/);
    assert.equal(output.retry_limit, "no_limits", "an outage must not drop logs");
    const tail = config.pipeline!.inputs![0];
    assert.equal(tail.tag, "application.*");
    assert.equal(tail.path, "/var/log/containers/*.log");
    assert.equal(tail["multiline.parser"], "docker, cri");
    assert.equal(tail["storage.type"], "filesystem");
    const env = container.env!.find((e) => e.name === "HOST_NAME");
    assert.equal((env?.valueFrom as { fieldRef?: { fieldPath: string } } | undefined)?.fieldRef?.fieldPath, "spec.nodeName");
  });

  test("fluent-bit --dry-run (the real binary) accepts it", { timeout: 30_000 }, () => {
    const { text } = setup();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fluent-bit-dry-run-"));
    try {
      const file = path.join(dir, "fluent-bit.yaml");
      fs.writeFileSync(file, text);
      const run = (config: string) =>
        spawnSync(findFluentBit(), ["--dry-run", "-c", config], { encoding: "utf8", timeout: 20_000, env: { PATH: process.env.PATH, AWS_REGION: "us-east-1", CLUSTER_NAME: "kind", HOST_NAME: "node-1" } });
      const ok = run(file);
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      assert.match(ok.stdout + ok.stderr, /configuration test is successful/);
      // It does judge: a misspelt property is refused.
      fs.writeFileSync(file, text.replace("merge_log: on", "merge_logs: on"));
      const bad = run(file);
      assert.notEqual(bad.status, 0, bad.stdout + bad.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the ci overlay runs the very configuration users deploy, and only points the output elsewhere by the network", { timeout: 30_000 }, () => {
    const { text } = setup();
    const ci = kustomize("deploy/k8s/overlays/ci");
    const w = workloads(ci).find((x) => x.object.kind === "DaemonSet" && x.object.metadata.name === "fluent-bit")!;
    const volume = w.pod.volumes!.find((v) => v.configMap)!;
    const configMap = ci.find((o) => o.kind === "ConfigMap" && o.metadata.name === volume.configMap!.name)!;
    assert.deepEqual(Object.values(configMap.data as Record<string, string>), [text]);
    assert.match(w.pod.containers[0]!.image, /^tracemesh\/fluent-bit:5\.1\.1$/);
    const aliases = (w.pod as { hostAliases?: Array<{ ip: string; hostnames: string[] }> }).hostAliases ?? [];
    const standIn = ci.find((o) => o.kind === "Service" && o.metadata.name === "saas-stand-in")!;
    assert.deepEqual(aliases, [{ ip: (standIn.spec as { clusterIP: string }).clusterIP, hostnames: ["logs.us-east-1.amazonaws.com"] }]);
  });

  test("its own and the Collector's logs are excluded, the mesh's are not", { timeout: 30_000 }, () => {
    const { objects, text } = setup();
    const tail = (parse(text) as FluentBitConfig).pipeline!.inputs![0];
    const excludes = String(tail.exclude_path).split(",").map((s) => s.trim());
    // /var/log/containers/<pod>_<namespace>_<container>-<container id>.log
    const logFile = (pod: string, ns: string, container: string) => `/var/log/containers/${pod}_${ns}_${container}-${"ab12".repeat(16)}.log`;
    const excluded = (f: string) => excludes.some((g) => globMatches(g, f));
    for (const ds of ["fluent-bit", "otel-collector"]) {
      const d = find(objects, "DaemonSet", ds)!;
      const containerName = workloads([d])[0].pod.containers[0].name;
      const f = logFile(`${ds}-x7k2p`, d.metadata.namespace!, containerName);
      assert.ok(globMatches(String(tail.path), f), "tail reads it at all");
      assert.ok(excluded(f), `${f} is not excluded`);
    }
    for (const svc of ["api", "users", "activities", "notifications", "moderation", "redis"]) {
      assert.ok(!excluded(logFile(`${svc}-5d9c7b7f8-x2x9z`, "tracemesh", svc)), `${svc}'s logs would be dropped`);
    }
  });

  test("the check catches broken configs", { timeout: 30_000 }, () => {
    const { w, container, text } = setup();
    const broken = (from: string, to: string) => {
      assert.ok(text.includes(from), from);
      return fluentBitProblems(text.replace(from, to), w.pod, container).join("\n");
    };
    assert.match(broken("merge_log: on", "merge_logs: on"), /unknown property merge_logs/);
    assert.match(broken("${AWS_REGION}", "${AWS_DEFAULT_REGION}"), /AWS_DEFAULT_REGION/);
    assert.match(broken("log_retention_days: 7", "log_retention_days: 10"), /not a CloudWatch value/);
    assert.match(broken("match: application.*\n      kube_url", "match: host.*\n      kube_url"), /catches no input/);
    assert.match(broken("multiline.parser: docker, cri", "multiline.parser: docker, crio"), /crio is not built in/);
    assert.match(broken("multiline.parser: nodejs-stack", "multiline.parser: nodejs-stacks"), /nodejs-stacks is not defined/);
    assert.match(broken("retry_limit: no_limits", "retry_limit: no_limits\n      tls.verify: off"), /tls.verify must not be in the users' configuration/);
    assert.match(broken("db: /var/fluent-bit/state/", "db: /fluent-bit/"), /not on a writable mount/);
    assert.match(broken("http_port: 2020", "http_port: 2021"), /HTTP server listens on 2021/);
  });
});
