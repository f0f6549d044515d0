// The seven named faults (docs/faults.md) on the CI cluster, each switched with the real CLI
// (`tracemesh fault on|off … --context tracemesh-ci`, i.e. the flags ConfigMap) and its effect observed in what
// users look at: status codes, latency against a baseline taken in the same run, the spans in the Collector's
// export, and the RED metrics the Collector computes. Lean in wall time: the kubelet refreshes the ConfigMap volume
// every 10 s on this cluster, so the seven are switched on together (each acts on its own service and calls), read
// together, and switched off together; each effect is checked on the requests this test sent (its own trace ids).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { SCENARIOS } from "@tracemesh/flags";
import { durationMs, parsePrometheusText, redFromSpanMetrics, spansFromOtlpFiles, type Span } from "@tracemesh/trace-model";
import type { ClusterKit } from "./k8s-cluster-golden.js";
import { parseYamlStream } from "./k8s-helpers.js";

/** The value each scenario is switched on with (docs/faults.md: V). */
const VALUES: Record<string, number> = {
  "activities-errors": 50,
  "users-slow": 400,
  "notifications-stall": 500,
  "redis-slow-timeline": 200,
  "moderation-unreachable": 1,
  // Low: the api keeps V KiB for every request while on, the surge's included (limit 256 MiB).
  "api-memory-leak": 64,
  "loadgen-surge": 3,
};

/** Which pod logs the switch ("fault NAME is acting", packages/flags) once it evaluates the flag. */
const READ_BY: Record<string, string> = {
  "activities-errors": "activities",
  "users-slow": "users",
  "notifications-stall": "notifications",
  "redis-slow-timeline": "activities",
  "moderation-unreachable": "activities",
  "api-memory-leak": "api",
  "loadgen-surge": "loadgen",
};

interface Traced {
  status: number;
  json: Record<string, unknown>;
  ms: number;
  traceId: string;
}

/** X-Ray-shaped trace ids (epoch seconds first), as the services' id generator makes them. */
const newTraceId = () => Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + randomBytes(12).toString("hex");

async function traced(base: string, method: string, route: string, opts: { token?: string; body?: unknown } = {}): Promise<Traced> {
  const traceId = newTraceId();
  const headers: Record<string, string> = { traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  const started = performance.now();
  const res = await fetch(`${base}${route}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(15_000) });
  const json = (await res.json()) as Record<string, unknown>;
  return { status: res.status, json, ms: performance.now() - started, traceId };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function namedFaults(kit: ClusterKit): Promise<void> {
  assert.deepEqual(Object.keys(VALUES).sort(), SCENARIOS.map((s) => s.name).sort(), "every named scenario is exercised");
  const cli = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(kit.root, "tools", "cli", "dist", "src", "main.js"), "fault", ...args, "--context", kit.context], { env: { ...kit.env(), HONEYCOMB_API_KEY: "" } });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      child.on("exit", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(out);
        else reject(new Error(`tracemesh fault ${args.join(" ")} exited ${code}:\n${out}`));
      });
    });
  const base = await kit.portForward("api", 8080);
  const run = Date.now().toString(36).slice(-5);
  const tokens = await kit.signUp(base, [`fa_${run}`, `fb_${run}`]);
  const [author, reader] = [tokens[`fa_${run}`]!, tokens[`fb_${run}`]!];
  const post = (tag: string) => traced(base, "POST", "/api/activities", { token: author, body: { message: `${tag} @fb_${run}`, ttl: "1-day" } });
  const home = () => traced(base, "GET", "/api/activities/home?limit=5", { token: reader });
  const profile = () => traced(base, "GET", `/api/users/@fa_${run}`, { token: reader });
  for (let i = 0; i < 3; i++) assert.equal((await post(`seed ${i}`)).status, 201);

  // The Collector's RED metrics (spanmetrics connector), read from its Prometheus port through port-forward.
  const collectorPod = kit.kubectl(["-n", "tracemesh-system", "get", "pod", "-l", "app.kubernetes.io/name=otel-collector", "-o", "jsonpath={.items[0].metadata.name}"]).trim();
  const metrics = await portForwardPod(kit, "tracemesh-system", collectorPod, 8889);
  const createRed = async () => {
    const text = await (await fetch(`${metrics.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const ops = redFromSpanMetrics(parsePrometheusText(text)).filter((r) => r.service === "activities" && r.kind === "SERVER" && r.operation.endsWith("/CreateActivity"));
    return { calls: ops.reduce((n, r) => n + r.calls, 0), errors: ops.reduce((n, r) => n + r.errors, 0) };
  };

  const spansOf = async (what: string, traceIds: string[], complete: (spans: Span[]) => boolean): Promise<Map<string, Span[]>> =>
    kit.until(what, 60_000, async () => {
      const wanted = new Set(traceIds);
      const byTrace = new Map<string, Span[]>(traceIds.map((t) => [t, []]));
      for (const s of spansFromOtlpFiles([kit.exportedSpans])) if (wanted.has(s.traceId)) byTrace.get(s.traceId)!.push(s);
      return [...byTrace.values()].every(complete) ? byTrace : undefined;
    });
  const serverSpan = (spans: Span[], service: string, method: string) => spans.find((s) => s.serviceName === service && s.kind === "SERVER" && s.name.endsWith(`/${method}`));

  // The load beside: one loadgen pod at a low rate, reading the same flags (loadgen-surge multiplies its rate).
  const job = loadJob(kit, `loadgen-faults-${run}`);
  // loadgen's flows: its root spans named "flow <name>" (services/loadgen), from this Job's pod.
  const loadgenFlows = () =>
    spansFromOtlpFiles([kit.exportedSpans]).filter((s) => s.serviceName === "loadgen" && s.parentSpanId === "" && s.name.startsWith("flow ") && s.resource["k8s.pod.name"]?.toString().startsWith(job.name));
  // Since the switch only: an earlier test switched activities-errors too.
  const logs = (name: string, since: Date) => kit.kubectl(["-n", kit.ns, "logs", name === "loadgen" ? `job/${job.name}` : `deploy/${name}`, `--since-time=${since.toISOString()}`], 30_000);
  const allLogged = (since: Date, text: (scenario: string) => string) => Object.entries(READ_BY).every(([scenario, pod]) => logs(pod, since).includes(text(scenario)));
  const figures: string[] = [];
  let switchedOffAll = false;
  /** Every fault off with the CLI, then requests until each pod says so (the kubelet's sync + the file poll). */
  const switchOff = async () => {
    const since = new Date();
    for (const scenario of Object.keys(VALUES)) assert.match(await cli(["off", scenario]), new RegExp(`^${scenario} off`));
    await kit.until("every service to log that its fault stopped", 120_000, async () => {
      await Promise.all([post("probe"), home(), profile()]);
      return allLogged(since, (s) => (s === "api-memory-leak" ? "fault api-memory-leak released its memory" : `fault ${s} stopped`)) ? true : undefined;
    });
    switchedOffAll = true;
  };
  try {
    // Baseline, same run, faults off.
    const baseHome: Traced[] = [];
    for (let i = 0; i < 6; i++) baseHome.push(await home());
    const baseRed = await createRed();
    // 15 s of the Job's base rate before the switch, for the comparison.
    const firstFlow = await kit.until("the surge Job's loadgen sending flows", 90_000, async () => {
      const flows = loadgenFlows();
      return flows.length > 0 ? Math.min(...flows.map((s) => Number(s.startNs / 1_000_000n))) : undefined;
    });
    await kit.until("15 s of the Job's load", 30_000, async () => (Date.now() > firstFlow + 16_000 ? true : undefined));
    const switchedOn = Date.now();
    for (const [scenario, value] of Object.entries(VALUES)) {
      assert.match(await cli(scenario === "moderation-unreachable" ? ["on", scenario] : ["on", scenario, "--value", String(value)]), new RegExp(`^${scenario} on`));
    }
    assert.equal((await cli(["list"])).split("\n").filter((l) => /^[a-z-]+\s+on\b/.test(l)).length, 7, "fault list shows the seven on");
    // Requests make each service evaluate its flags; bounded by the kubelet's sync (10 s) + the 5 s file poll.
    await kit.until("every service to log that its fault is acting", 120_000, async () => {
      await Promise.all([post("probe"), home(), profile()]);
      return allLogged(new Date(switchedOn), (s) => `fault ${s} is acting (value ${VALUES[s]})`) ? true : undefined;
    });
    figures.push(`switched on → all seven acting ${((Date.now() - switchedOn) / 1000).toFixed(1)} s`);

    // Observe, all at once.
    const posts: Traced[] = [];
    for (let i = 0; i < 16; i++) posts.push(await post(`faulted ${i}`));
    const homes: Traced[] = [];
    for (let i = 0; i < 6; i++) homes.push(await home());
    const profiles: Traced[] = [];
    for (let i = 0; i < 8; i++) profiles.push(await profile());
    const surgeFrom = Date.now();

    // activities-errors 50 %: some posts fail with 500, some pass (P(all alike) = 2^-15), and only the failed ones'
    // CreateActivity spans are errors, marked with the fault; the RED metrics count them.
    const failed = posts.filter((t) => t.status === 500);
    const created = posts.filter((t) => t.status === 201);
    assert.equal(failed.length + created.length, posts.length, `only 201 or 500: ${posts.map((t) => t.status).join(",")}`);
    assert.ok(failed.length > 0 && created.length > 0, `activities-errors at 50 %: ${failed.length} of ${posts.length} failed`);
    const postTraces = await spansOf("the posts' traces", posts.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "CreateActivity") !== undefined);
    for (const t of failed) {
      const span = serverSpan(postTraces.get(t.traceId)!, "activities", "CreateActivity")!;
      assert.equal(span.statusCode, "ERROR");
      assert.equal(span.attributes["app.fault.name"], "activities-errors");
    }
    const red = await kit.until("the RED metrics to count the failed CreateActivity calls", 30_000, async () => {
      const now = await createRed();
      return now.errors - baseRed.errors >= failed.length ? now : undefined;
    });
    figures.push(`activities-errors 50 %: ${failed.length}/${posts.length} posts 500; RED CreateActivity errors +${red.errors - baseRed.errors} (calls +${red.calls - baseRed.calls})`);

    // moderation-unreachable: the posts that were stored were stored unmoderated, and no moderation span.
    const unmoderated = await spansOf("the stored posts' traces", created.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "CreateActivity") !== undefined);
    for (const spans of unmoderated.values()) {
      const create = serverSpan(spans, "activities", "CreateActivity")!;
      assert.equal(create.attributes["app.moderation.skipped"], true);
      assert.equal(create.attributes["app.moderation.skip_reason"], "unavailable");
      assert.equal(spans.filter((s) => s.serviceName === "moderation").length, 0, "moderation never saw it");
    }

    // notifications-stall 500 ms: the consumer starts ≥ 500 ms after the producer ended, marked.
    const consumed = await spansOf("the stored posts' consumer spans", created.map((t) => t.traceId), (spans) => spans.some((s) => s.serviceName === "notifications" && s.kind === "CONSUMER"));
    const gaps = [...consumed.values()].map((spans) => {
      const consumer = spans.find((s) => s.serviceName === "notifications" && s.kind === "CONSUMER")!;
      const producer = spans.find((s) => s.spanId === consumer.parentSpanId)!;
      assert.equal(consumer.attributes["app.fault.name"], "notifications-stall");
      return Number(consumer.startNs - producer.endNs) / 1e6;
    });
    assert.ok(Math.min(...gaps) >= VALUES["notifications-stall"]! - 20, `producer → consumer gaps ${gaps.map(Math.round).join(", ")} ms`);
    figures.push(`notifications-stall 500 ms: producer → consumer gaps ${Math.round(Math.min(...gaps))}..${Math.round(Math.max(...gaps))} ms`);

    // users-slow 400 ms and redis-slow-timeline 200 ms, both on the home feed: it answers without display names
    // (activities' call to users is cut by its deadline), slower than the baseline, with the slowed Redis read.
    for (const t of homes) {
      assert.equal(t.status, 200, `home feed under users-slow + redis-slow-timeline: ${JSON.stringify(t.json)}`);
      assert.equal(t.json.display_names_unavailable, true, "users-slow: the feed degrades as documented");
    }
    assert.ok(median(homes.map((t) => t.ms)) > median(baseHome.map((t) => t.ms)) + 150, `home feed ${Math.round(median(baseHome.map((t) => t.ms)))} → ${Math.round(median(homes.map((t) => t.ms)))} ms (median)`);
    const homeTraces = await spansOf("the home feeds' traces", homes.map((t) => t.traceId), (spans) => serverSpan(spans, "users", "BatchGetUsers") !== undefined && spans.some((s) => s.name === "pipeline wait zrevrangebyscore"));
    for (const spans of homeTraces.values()) {
      assert.equal(serverSpan(spans, "users", "BatchGetUsers")!.attributes["app.fault.name"], "users-slow");
      const slow = spans.filter((s) => s.name === "pipeline wait zrevrangebyscore");
      assert.ok(slow.every((s) => durationMs(s) >= 195 && s.attributes["app.fault.name"] === "redis-slow-timeline"), "the slowed Redis read, marked");
    }
    figures.push(`users-slow + redis-slow-timeline: home feed median ${Math.round(median(baseHome.map((t) => t.ms)))} → ${Math.round(median(homes.map((t) => t.ms)))} ms, display names unavailable`);

    // api-memory-leak 64 KiB: each request keeps 64 KiB more (the api's spans say how much it holds).
    const profileTraces = await spansOf("the profile requests' traces", [profiles[0]!.traceId, profiles.at(-1)!.traceId], (spans) => spans.some((s) => s.serviceName === "api" && s.kind === "SERVER"));
    const leaked = (t: Traced) => Number(profileTraces.get(t.traceId)!.find((s) => s.serviceName === "api" && s.kind === "SERVER")!.attributes["app.fault.leaked_bytes"]);
    assert.ok(leaked(profiles.at(-1)!) - leaked(profiles[0]!) >= 7 * 64 * 1024, `api-memory-leak: ${leaked(profiles[0]!)} → ${leaked(profiles.at(-1)!)} bytes kept`);
    figures.push(`api-memory-leak 64 KiB: the api held ${(leaked(profiles.at(-1)!) / 1048576).toFixed(1)} MiB after the profile requests`);

    // loadgen-surge ×3: the loadgen pod's flow rate, before the switch vs while it acts, each over 15 s that the
    // export holds whole: a span is exported when its flow ends, in batches (every 5 s), so the window counts once
    // the export has flows that started 10 s after it.
    const startMs = (s: Span) => Number(s.startNs / 1_000_000n);
    const flowsIn = (from: number, to: number) => kit.until(`loadgen's flows up to ${new Date(to).toISOString()} in the export`, 60_000, async () => {
      const flows = loadgenFlows();
      return flows.some((s) => startMs(s) > to + 10_000) ? flows.filter((s) => startMs(s) >= from && startMs(s) < to).length / ((to - from) / 1000) : undefined;
    });
    const before = await flowsIn(switchedOn - 15_000, switchedOn);
    const during = await flowsIn(surgeFrom, surgeFrom + 15_000);
    assert.ok(during >= 2 * before, `loadgen-surge ×3: ${before.toFixed(1)} → ${during.toFixed(1)} flows/s`);
    assert.ok(loadgenFlows().some((s) => s.attributes["app.fault.name"] === "loadgen-surge"), "surge flows are marked");
    figures.push(`loadgen-surge ×3: ${before.toFixed(1)} → ${during.toFixed(1)} flows/s`);

    // Off, all seven, and the effects stop.
    const switchedOff = Date.now();
    await switchOff();
    figures.push(`switched off → all seven stopped ${((Date.now() - switchedOff) / 1000).toFixed(1)} s`);
    const after = [await post("after"), await post("after"), await home(), await home()];
    assert.deepEqual(after.map((t) => t.status), [201, 201, 200, 200]);
    assert.equal(after[2]!.json.display_names_unavailable, undefined, "display names back once off");
    const afterTraces = await spansOf("the traces once off", after.map((t) => t.traceId), (spans) => spans.some((s) => s.serviceName === "api" && s.kind === "SERVER"));
    const marked = [...afterTraces.values()].flat().filter((s) => s.attributes["app.fault.name"] !== undefined);
    assert.deepEqual(marked.map((s) => `${s.serviceName} ${s.name}`), [], "no span marked by a fault once off");
    console.log(`named faults on the cluster:\n  ${figures.join("\n  ")}`);
  } finally {
    // Whatever happened, every fault off — and acting off — before the tests after this one.
    if (!switchedOffAll) await switchOff().catch((err: unknown) => console.log(`switching the faults off after a failure: ${String(err)}`));
    kit.kubectl(["-n", kit.ns, "delete", "job", job.name, "--ignore-not-found", "--wait=false"]);
    metrics.stop();
  }
}

/** kubectl port-forward to one pod's port on a free local port. */
async function portForwardPod(kit: ClusterKit, namespace: string, pod: string, port: number): Promise<{ url: string; stop(): void }> {
  const child = spawn(path.join(kit.clusterBin, "kubectl"), ["--context", kit.context, "-n", namespace, "port-forward", "--address", "127.0.0.1", `pod/${pod}`, `:${port}`], { env: kit.env(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  try {
    const url = await kit.until(`port-forward pod/${pod}`, 20_000, async () => {
      if (child.exitCode !== null) throw new Error(`port-forward exited: ${output}`);
      const match = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(output);
      return match ? `http://127.0.0.1:${match[1]}` : undefined;
    });
    return { url, stop: () => child.kill("SIGTERM") };
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
}

/**
 * The load Job of deploy/k8s/loadgen (its labels, flags mount and image as skaffold loaded it), as one pod at
 * 4 requests/s for 180 s (deleted when the test ends) under NAME, with no error budget (other faults fail requests on purpose); started at once.
 */
function loadJob(kit: ClusterKit, name: string): { name: string } {
  const job = parseYamlStream(kit.kubectl(["kustomize", path.join(kit.root, "deploy", "k8s", "loadgen")], 30_000)).find((o) => o.kind === "Job")!;
  type Env = { name: string; value?: string };
  const spec = job.spec as { completions: number; parallelism: number; template: { spec: { containers: Array<{ image: string; env: Env[] }> } } };
  job.metadata.name = name;
  spec.completions = 1;
  spec.parallelism = 1;
  const container = spec.template.spec.containers[0]!;
  container.image = "tracemesh/loadgen:latest";
  const set: Record<string, string> = { LOADGEN_RATE: "4", LOADGEN_PARALLELISM: "1", LOADGEN_DURATION: "180s", LOADGEN_MAX_ERROR_RATE: "1" };
  for (const env of container.env) if (env.name in set) env.value = set[env.name];
  const file = path.join(os.tmpdir(), `tracemesh-${name}.json`);
  fs.writeFileSync(file, JSON.stringify(job));
  try {
    kit.kubectl(["apply", "-f", file]);
  } finally {
    fs.rmSync(file, { force: true });
  }
  return { name };
}
