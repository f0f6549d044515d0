// The logs part of the golden path (tests/test/k8s/k8s-cluster.e2e.test.ts calls these, in its one cluster): the real
// Fluent Bit DaemonSet ships every pod's log to the CloudWatch Logs stand-in, which checks each call as AWS does
// (HTTPS, SigV4 for `logs`, the JSON 1.1 API) and journals what it accepted on the node.
//   - traceToLogs: a post with its own traceparent (its client spans exported too, so the trace is whole) is found
//     with FilterLogEvents in the lines of at least two services; a post failed by a fault (activities-errors)
//     shows, through `tracemesh trace`, its error lines and its Rollbar item;
//   - armFaults / exactlyOnce: during the load Job, Fluent Bit's pod is deleted and then CloudWatch refuses for
//     20 s; afterwards every line the services wrote (the kubelet's files on this node) is in CloudWatch Logs
//     exactly once, stream by stream — with the figures for the note (events/s, delivery p50/p99, Fluent Bit's
//     CPU and memory during the load).
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { CloudWatchLogsStore, RECORDED_FILES, STAND_IN_AWS_CREDENTIALS, type StoredLogEvent } from "@tracemesh/devkit";
import { ROOT, run } from "./k8s-helpers.js";

/** What the cluster test lends this module. */
export interface ClusterLogsContext {
  namespace: string;
  node: string;
  /** The node's export folder (hostPath of the stand-in and the Collector). */
  exportDir: string;
  kubectl(args: string[], timeoutMs?: number): string;
  kubectlAsync(args: string[], timeoutMs?: number): Promise<string>;
  /** `kubectl port-forward svc/NAME :PORT -n NAMESPACE`, resolved to http://127.0.0.1:LOCAL. */
  portForward(service: string, port: number, namespace: string): Promise<string>;
  env(): NodeJS.ProcessEnv;
  signUp(base: string, handles: string[]): Promise<Record<string, string>>;
  until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T>;
  /** The Collector's file export on the node. */
  exportedSpans: string;
}

const SERVICES = ["api", "users", "activities", "notifications", "moderation"];

interface TraceJson {
  spans: Array<{ serviceName: string; statusCode: string }>;
  logs: Array<{ stream: string; message: string; record?: Record<string, unknown> }>;
  rollbar: Array<{ title: string; service?: string }>;
  sources: Record<string, string>;
}

/** Runs `tracemesh trace ID --json` against the stand-in (its HTTPS port and Rollbar API through port-forwards). */
async function traceCommandFor(ctx: ClusterLogsContext): Promise<(traceId: string) => TraceJson> {
  const https = (await ctx.portForward("saas-stand-in", 443, "tracemesh-system")).replace("http://", "https://");
  const plain = await ctx.portForward("saas-stand-in", 4319, "tracemesh-system");
  const cluster = ctx.kubectl(["-n", "tracemesh-system", "get", "configmap", "tracemesh-system-config", "-o", "jsonpath={.data.CLUSTER_NAME}"]).trim();
  return (traceId) => JSON.parse(run(
    process.execPath,
    [
      path.join(ROOT, "tools", "cli", "dist", "src", "main.js"),
      "trace",
      traceId,
      "--otlp",
      ctx.exportedSpans,
      "--cluster",
      cluster,
      "--region",
      "us-east-1",
      "--cloudwatch-endpoint",
      https,
      "--ca-file",
      path.join(ctx.exportDir, RECORDED_FILES.tls, "ca.pem"),
      "--json",
    ],
    {
      timeoutMs: 60_000,
      env: {
        ...ctx.env(),
        AWS_ACCESS_KEY_ID: STAND_IN_AWS_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: STAND_IN_AWS_CREDENTIALS.secretAccessKey,
        ROLLBAR_READ_TOKEN: "ci-stand-in-rollbar-read-token",
        ROLLBAR_API_URL: `${plain}/api/1/`,
      },
    },
  )) as TraceJson;
}

function servicesOf(view: TraceJson): string[] {
  return [...new Set(view.logs.map((l) => String((l.record?.kubernetes as { container_name?: string } | undefined)?.container_name ?? "?")))].sort();
}

/**
 * A post sent as a traced client sends it: its own trace id in `traceparent`, and its own spans — a root and the
 * CLIENT span the traceparent names, as loadgen's flows have — exported to the Collector on the node (OTLP/JSON),
 * so the trace is whole (the verifier judges every post's trace). Resolves the trace id and the answer's status.
 */
async function tracedPost(collectorUrl: string, base: string, token: string, message: string): Promise<{ traceId: string; status: number }> {
  const traceId = crypto.randomBytes(16).toString("hex");
  const rootId = crypto.randomBytes(8).toString("hex");
  const clientId = crypto.randomBytes(8).toString("hex");
  const start = BigInt(Date.now()) * 1_000_000n;
  const res = await fetch(`${base}/api/activities`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${clientId}-01` },
    body: JSON.stringify({ message, ttl: "1-day" }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  const end = BigInt(Date.now()) * 1_000_000n;
  const attribute = (key: string, value: string | number) => ({ key, value: typeof value === "number" ? { intValue: value } : { stringValue: value } });
  const exported = await fetch(collectorUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [attribute("service.name", "cluster-test")] },
          scopeSpans: [
            {
              scope: { name: "tests/k8s-cluster-logs" },
              spans: [
                { traceId, spanId: rootId, name: "post with its own traceparent", kind: 1, startTimeUnixNano: String(start), endTimeUnixNano: String(end), status: {} },
                {
                  traceId,
                  spanId: clientId,
                  parentSpanId: rootId,
                  name: "POST",
                  kind: 3,
                  startTimeUnixNano: String(start),
                  endTimeUnixNano: String(end),
                  attributes: [attribute("peer.service", "api"), attribute("http.request.method", "POST"), attribute("server.address", "api"), attribute("server.port", 8080), attribute("http.response.status_code", res.status)],
                  status: res.status >= 500 ? { code: 2 } : {},
                },
              ],
            },
          ],
        },
      ],
    }),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(exported.status, 200, `the Collector took the test's spans: ${await exported.text()}`);
  return { traceId, status: res.status };
}

/**
 * A post with its own traceparent, found in CloudWatch Logs lines of at least two services (FilterLogEvents on its
 * id, through `tracemesh trace`); then activities-errors switched on (`tracemesh fault --context`) for one failing
 * post, whose trace shows its error lines and its Rollbar item, and off again before the load.
 */
export async function traceToLogs(ctx: ClusterLogsContext): Promise<void> {
  const base = await ctx.portForward("api", 8080, ctx.namespace);
  const traceCommand = await traceCommandFor(ctx);
  // The Collector's OTLP/HTTP hostPort on this node (the ci overlay binds it to the node's address).
  const nodeIp = ctx.kubectl(["-n", "tracemesh-system", "get", "pod", "-l", "app.kubernetes.io/name=otel-collector", "-o", "jsonpath={.items[0].status.hostIP}"]).trim();
  const collectorUrl = `http://${nodeIp}:4318/v1/traces`;
  const tokens = await ctx.signUp(base, ["logan"]);
  const post = (message: string) => tracedPost(collectorUrl, base, tokens.logan!, message);
  const ok = await post("a post with its own traceparent");
  assert.equal(ok.status, 201);
  const found = await ctx.until("the post's log lines from ≥ 2 services in CloudWatch Logs", 90_000, async () => {
    const view = traceCommand(ok.traceId);
    return servicesOf(view).length >= 2 && view.spans.length > 0 ? view : undefined;
  });
  const services = servicesOf(found);
  console.log(`own traceparent ${ok.traceId}: ${found.logs.length} log lines from ${services.join(", ")} (${found.sources.logs})`);
  for (const service of ["api", "users", "activities"]) assert.ok(services.includes(service), `${service} logged the post (${services.join(", ")})`);
  for (const line of found.logs) assert.equal(line.record?.trace_id ?? (line.record?.xray_trace_id as string | undefined)?.replace(/^1-|-/g, ""), ok.traceId, line.message);

  const cli = (args: string[]) =>
    run(process.execPath, [path.join(ROOT, "tools", "cli", "dist", "src", "main.js"), "fault", ...args, "--context", "tracemesh-ci"], { env: { ...ctx.env(), HONEYCOMB_API_KEY: "" }, timeoutMs: 60_000 });
  let failed: { traceId: string } | undefined;
  try {
    cli(["on", "activities-errors", "--value", "100"]);
    failed = await ctx.until("a post failed by activities-errors", 150_000, async () => {
      const attempt = await post("meets activities-errors");
      return attempt.status === 500 ? attempt : undefined;
    });
  } finally {
    cli(["off", "activities-errors"]);
  }
  await ctx.until("posts succeeding again (activities-errors off)", 150_000, async () => ((await post("after the fault")).status === 201 ? true : undefined));
  const view = await ctx.until("the failed post's error lines and Rollbar item", 90_000, async () => {
    const v = traceCommand(failed!.traceId);
    const errors = v.logs.filter((l) => l.record?.level === "error");
    return errors.length > 0 && v.rollbar.length > 0 && servicesOf(v).length >= 2 ? v : undefined;
  });
  const errors = view.logs.filter((l) => l.record?.level === "error").map((l) => `${String((l.record?.kubernetes as { container_name?: string }).container_name)}: ${String(l.record?.msg)}`);
  console.log(`failed post ${failed.traceId}: error lines ${errors.join("; ")}; Rollbar: ${view.rollbar.map((r) => `${r.title} (${r.service})`).join("; ")}`);
  assert.ok(view.spans.some((s) => s.statusCode === "ERROR"), "its spans say ERROR");
  assert.ok(errors.some((e) => e.startsWith("api: request")), `api's request line is an error line: ${errors.join("; ")}`);
  assert.ok(view.rollbar.some((r) => r.service === "api"), "api's Rollbar item");
}

/** Fluent Bit's pod CPU (m) and working set (MiB), sampled from the kubelet during the load. */
interface Sample {
  cpuMilli: number;
  memMiB: number;
}

export interface LogFaults {
  done: Promise<{ deletedPod: string; outageMs: number; refusedNote: string; samples: Sample[]; loadStart: number; loadEnd: number }>;
}

/**
 * Starts (and returns at once) the faults of the load Job: once loadgen's pods run, Fluent Bit's pod is deleted and
 * its replacement awaited; then CloudWatch refuses for 20 s (the stand-in's outage switch on the node). Fluent Bit's
 * CPU and memory are sampled meanwhile.
 */
export function armFaults(ctx: ClusterLogsContext): LogFaults {
  const outageFile = path.join(ctx.exportDir, RECORDED_FILES.cloudwatchLogsOutage);
  const samples: Sample[] = [];
  let sampling = true;
  const sample = async () => {
    while (sampling) {
      try {
        const summary = JSON.parse(await ctx.kubectlAsync(["get", "--raw", `/api/v1/nodes/${ctx.node}/proxy/stats/summary`])) as {
          pods: Array<{ podRef: { name: string; namespace: string }; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } }>;
        };
        const fb = summary.pods.find((p) => p.podRef.namespace === "tracemesh-system" && p.podRef.name.startsWith("fluent-bit-"));
        if (fb?.memory?.workingSetBytes) samples.push({ cpuMilli: (fb.cpu?.usageNanoCores ?? 0) / 1e6, memMiB: fb.memory.workingSetBytes / 1048576 });
      } catch {
        // a sample missed: the next one counts
      }
      await new Promise((r) => setTimeout(r, 3000));
    }
  };
  const done = (async () => {
    const loadgenRunning = async () => {
      const phases = (await ctx.kubectlAsync(["-n", ctx.namespace, "get", "pods", "-l", "job-name=loadgen", "-o", "jsonpath={.items[*].status.phase}"])).trim();
      return phases.split(" ").includes("Running") ? true : undefined;
    };
    await ctx.until("loadgen's pods running", 10 * 60_000, loadgenRunning);
    const loadStart = Date.now();
    const sampler = sample();
    const pod = (await ctx.kubectlAsync(["-n", "tracemesh-system", "get", "pod", "-l", "app.kubernetes.io/name=fluent-bit", "-o", "jsonpath={.items[0].metadata.name}"])).trim();
    await new Promise((r) => setTimeout(r, 5000));
    await ctx.kubectlAsync(["-n", "tracemesh-system", "delete", "pod", pod, "--wait=true", "--timeout=60s"], 70_000);
    await ctx.kubectlAsync(["-n", "tracemesh-system", "rollout", "status", "daemonset/fluent-bit", "--timeout=90s"], 100_000);
    // CloudWatch refusing: every call answered 503 for 20 s.
    fs.writeFileSync(outageFile, "");
    const outageStart = Date.now();
    await new Promise((r) => setTimeout(r, 20_000));
    fs.rmSync(outageFile, { force: true });
    const outageMs = Date.now() - outageStart;
    await ctx.until("the load Job to end", 5 * 60_000, async () => {
      const job = JSON.parse(await ctx.kubectlAsync(["-n", ctx.namespace, "get", "job", "loadgen", "-o", "json"])) as { status: { conditions?: Array<{ type: string; status: string }> } };
      return job.status.conditions?.some((c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True") ? true : undefined;
    });
    const loadEnd = Date.now();
    sampling = false;
    await sampler;
    return { deletedPod: pod, outageMs, refusedNote: "", samples, loadStart, loadEnd };
  })();
  done.catch(() => fs.rmSync(outageFile, { force: true }));
  return { done };
}

/** A line of a container's log, as a key both sides share: its fields but the ones Fluent Bit adds. */
function lineKey(content: string): string {
  try {
    const record = JSON.parse(content) as Record<string, unknown>;
    if (record && typeof record === "object") return keyOf(record);
  } catch {
    // a plain line
  }
  return content;
}

const ADDED = new Set(["time", "stream", "_p", "log", "kubernetes"]);
function keyOf(record: Record<string, unknown>): string {
  return JSON.stringify(Object.entries(record).filter(([k]) => !ADDED.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

function eventKey(e: StoredLogEvent): string {
  const record = JSON.parse(e.message) as Record<string, unknown>;
  return typeof record.log === "string" ? record.log : keyOf(record);
}

/** Each service container's log file on this node (the kubelet's /var/log/containers links) and its lines' keys. */
function writtenLines(namespace: string): Map<string, string[]> {
  const files = new Map<string, string[]>();
  for (const name of fs.readdirSync("/var/log/containers")) {
    const m = /^[^_]+_([^_]+)_(.+)-[0-9a-f]{64}\.log$/.exec(name);
    if (!m || m[1] !== namespace || !SERVICES.includes(m[2]!)) continue;
    const text = fs.readFileSync(path.join("/var/log/containers", name), "utf8");
    const keys: string[] = [];
    let partial = "";
    for (const line of text.split("\n")) {
      const cri = /^\S+ (stdout|stderr) ([PF]) (.*)$/.exec(line);
      if (!cri) continue;
      partial += cri[3];
      if (cri[2] === "F") {
        keys.push(lineKey(partial));
        partial = "";
      }
    }
    files.set(name, keys);
  }
  return files;
}

function multisetDiff(a: string[], b: string[]): { missing: number; extra: number } {
  const counts = new Map<string, number>();
  for (const k of a) counts.set(k, (counts.get(k) ?? 0) + 1);
  for (const k of b) counts.set(k, (counts.get(k) ?? 0) - 1);
  let missing = 0;
  let extra = 0;
  for (const n of counts.values()) {
    if (n > 0) missing += n;
    else extra -= n;
  }
  return { missing, extra };
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0);

/**
 * After the faults: every line the services wrote is in CloudWatch Logs exactly once, stream by stream (a bounded
 * wait for Fluent Bit to catch up first). Prints the figures for the note.
 */
export async function exactlyOnce(ctx: ClusterLogsContext, faults: LogFaults): Promise<void> {
  const f = await faults.done;
  const journal = path.join(ctx.exportDir, RECORDED_FILES.cloudwatchLogs);
  const compare = () => {
    const written = writtenLines(ctx.namespace);
    const events = new CloudWatchLogsStore(journal).events();
    const rows = [...written].map(([file, keys]) => {
      const stream = events.filter((e) => e.logStreamName.endsWith(`application.var.log.containers.${file}`));
      return { file, written: keys.length, events: stream.length, ...multisetDiff(keys, stream.map(eventKey)) };
    });
    return { rows, events };
  };
  let last = compare();
  try {
    await ctx.until("CloudWatch Logs to hold every line written", 120_000, async () => {
      last = compare();
      return last.rows.length >= SERVICES.length && last.rows.every((r) => r.missing === 0) ? true : undefined;
    });
  } catch {
    // the assertion below says what is missing
  }
  const { rows, events } = last;
  console.log(["| container log file | lines written | events in its stream | missing | doubled |", "|---|---|---|---|---|", ...rows.map((r) => `| ${r.file.slice(0, 60)} | ${r.written} | ${r.events} | ${r.missing} | ${r.extra} |`)].join("\n"));

  // Figures: events per second and delivery time during the load; Fluent Bit's CPU and memory.
  const during = events.filter((e) => e.timestamp >= f.loadStart && e.timestamp <= f.loadEnd);
  const duringDelays = during.map((e) => e.ingestionTime - e.timestamp).sort((a, b) => a - b);
  // Without faults: the two minutes before the load (the HTTP flow, the traced posts), Fluent Bit long running —
  // not the lines the pods wrote before Fluent Bit first started, which wait for it.
  const outside = events.filter((e) => e.timestamp >= f.loadStart - 120_000 && e.timestamp < f.loadStart).map((e) => e.ingestionTime - e.timestamp).sort((a, b) => a - b);
  const cpu = f.samples.map((s) => s.cpuMilli).sort((a, b) => a - b);
  const mem = f.samples.map((s) => s.memMiB).sort((a, b) => a - b);
  console.log(
    `logs: ${events.length} events in CloudWatch Logs; during the load Job ${during.length} in ${((f.loadEnd - f.loadStart) / 1000).toFixed(0)} s ` +
      `(${(during.length / ((f.loadEnd - f.loadStart) / 1000)).toFixed(1)} events/s); line written → stored during the load and its faults: p50 ${pct(duringDelays, 50)} ms, p99 ${pct(duringDelays, 99)} ms ` +
      `(in the 2 min before the load, no fault: ${outside.length} lines, p50 ${pct(outside, 50)} ms, p99 ${pct(outside, 99)} ms); faults: pod ${f.deletedPod} deleted, CloudWatch refusing ${(f.outageMs / 1000).toFixed(1)} s; ` +
      `Fluent Bit during the load: CPU p50 ${pct(cpu, 50).toFixed(0)} m / max ${(cpu.at(-1) ?? 0).toFixed(0)} m, working set max ${(mem.at(-1) ?? 0).toFixed(0)} MiB (${f.samples.length} samples)`,
  );
  const refused = ctx.kubectl(["-n", "tracemesh-system", "logs", "deploy/saas-stand-in"]).split("\n").filter((l) => l.startsWith("cloudwatch-logs outage over"));
  console.log(`stand-in: ${refused.join("; ") || "no outage line"}`);
  // The figures first (above), then the verdict.
  const services = new Set(rows.map((r) => /^[^_]+_[^_]+_(.+)-[0-9a-f]{64}\.log$/.exec(r.file)![1]));
  for (const s of SERVICES) assert.ok(services.has(s), `${s} has a log file on the node`);
  for (const r of rows) assert.deepEqual({ file: r.file, missing: r.missing, doubled: r.extra }, { file: r.file, missing: 0, doubled: 0 });
  assert.ok(refused.length > 0, "the outage refused calls");
}
