// The Fluent Bit YAML configuration of the DaemonSet, checked offline. No registry ships a Fluent Bit
// binary and the module proxy refuses the schema validator (github.com/calyptia/go-fluentbit-config/v2),
// so this checks what can be checked from the documentation (docs.fluentbit.io, v4.0): the YAML layout,
// plugin names, each plugin's documented property names, boolean / enumerated values, required
// properties, ${VAR} references against the DaemonSet's env, files against the DaemonSet's mounts, tag
// routing from the tail input through the filter to the output, and the exclude patterns against real
// container log file names. What `fluent-bit --dry-run` would check in addition: every value as the
// plugin parses it, and that the cloudwatch_logs output initialises (credentials chain, region).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
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
const COMMON_OUTPUT = ["name", "match", "match_regex", "alias", "log_level", "retry_limit", "storage.total_limit_size", "workers", "tls", "tls.verify", "tls.debug", "tls.ca_file", "tls.vhost"];
const PLUGIN_KEYS: Record<string, string[]> = {
  "input:tail": [...COMMON_INPUT, "buffer_chunk_size", "buffer_max_size", "path", "path_key", "exclude_path", "offset_key", "read_from_head", "refresh_interval", "rotate_wait", "ignore_older", "skip_long_lines", "skip_empty_lines", "db", "db.sync", "db.locking", "db.journal_mode", "db.compare_filename", "exit_on_eof", "parser", "key", "inotify_watcher", "tag_regex", "static_batch_size", "file_cache_advise", "unicode.encoding", "generic.encoding", "multiline.parser", "multiline", "multiline_flush", "parser_firstline", "docker_mode", "docker_mode_flush", "docker_mode_parser"],
  "filter:kubernetes": [...COMMON_FILTER, "buffer_size", "kube_url", "kube_ca_file", "kube_ca_path", "kube_token_file", "kube_token_ttl", "kube_tag_prefix", "merge_log", "merge_log_key", "merge_log_trim", "merge_parser", "keep_log", "tls.debug", "tls.verify", "tls.vhost", "use_journal", "cache_use_docker_id", "regex_parser", "k8s-logging.parser", "k8s-logging.exclude", "labels", "annotations", "kube_meta_preload_cache_dir", "dummy_meta", "dns_retries", "dns_wait_time", "use_kubelet", "use_tag_for_meta", "kubelet_host", "kubelet_port", "kube_meta_cache_ttl", "kube_meta_namespace_cache_ttl", "namespace_labels", "namespace_annotations", "namespace_metadata_only", "owner_references"],
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

  for (const key of Object.keys(config)) if (!["service", "pipeline", "parsers", "multiline_parsers", "env", "includes", "customs", "plugins"].includes(key)) problems.push(`unknown top-level section ${key}`);
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
        if (!MULTILINE_BUILTINS.has(parser)) problems.push(`tail: multiline.parser ${parser} is not built in`);
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
    assert.equal(output.log_group_name, "/tracemesh/${CLUSTER_NAME}/application");
    assert.equal(output.region, "${AWS_REGION}");
    assert.match(String(output.log_stream_template), /\$kubernetes\['pod_name'\].*\$kubernetes\['container_name'\]/);
    assert.match(String(output.auto_create_group), /^(on|true)$/);
    const tail = config.pipeline!.inputs![0];
    assert.equal(tail.path, "/var/log/containers/*.log");
    assert.equal(tail["multiline.parser"], "docker, cri");
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
    assert.match(broken("match: kube.*\n      kube_url", "match: host.*\n      kube_url"), /catches no input/);
    assert.match(broken("multiline.parser: docker, cri", "multiline.parser: docker, crio"), /crio is not built in/);
    assert.match(broken("db: /var/fluent-bit/state/", "db: /fluent-bit/"), /not on a writable mount/);
    assert.match(broken("http_port: 2020", "http_port: 2021"), /HTTP server listens on 2021/);
  });
});
