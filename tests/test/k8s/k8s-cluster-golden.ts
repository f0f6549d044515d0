// The golden path as users live it, on the CI cluster (tests/test/k8s/k8s-cluster.e2e.test.ts brings it up once and calls
// these from its one describe block): the NetworkPolicies enforced by kube-router (real edges open, forbidden edges
// refused from inside real pods, and how long after a policy is applied its packets drop); the web app in Chromium
// through the frontend Service (frontend-flows.ts: the local browser test's flows), its spans joined to the
// server side; `skaffold dev` as a user runs it (its port-forwards, an edit served from a new pod, SIGINT removes
// what it deployed); and the Helm chart installed, upgraded and uninstalled.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startProcess, type ManagedProcess } from "@tracemesh/devkit";
import { SPAN_KIND, spansFromOtlpFiles } from "@tracemesh/trace-model";
import { WebApp, postWithMention, readNotifications, replyAndLike, signUp } from "../e2e/frontend-flows.js";
import { tool } from "./k8s-helpers.js";

/** What the cluster test file gives these checks: its cluster, its kubectl and its request helpers. */
export interface ClusterKit {
  root: string;
  context: string;
  /** The mesh's namespace (tracemesh). */
  ns: string;
  clusterBin: string;
  /** The Collector's file export of every span, on the node (the ci overlay). */
  exportedSpans: string;
  env(): NodeJS.ProcessEnv;
  kubectl(args: string[], timeoutMs?: number): string;
  until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T>;
  api(base: string, method: string, route: string, opts?: { body?: unknown; token?: string }): Promise<{ status: number; body: Record<string, unknown> }>;
  signUp(base: string, handles: string[]): Promise<Record<string, string>>;
  portForward(service: string, port: number): Promise<string>;
  /** Records a figure for the run's summary line (seconds or milliseconds, as its name says). */
  figure(name: string, value: number): void;
}

const SYSTEM_NS = "tracemesh-system";

// ---------------------------------------------------------------------------------------------------------------
// NetworkPolicies

/**
 * Tries a TCP connection to each HOST:PORT from inside a pod (the images have node and nothing else: no shell),
 * all at once, each bounded by 3 s: "open", or how it failed (a policy drops or rejects the SYN).
 */
const PROBE = [
  "const net = require('net');",
  "const probe = (t) => new Promise((resolve) => {",
  "  const [host, port] = t.split(':');",
  "  const s = net.connect({ host, port: Number(port) });",
  "  const done = (v) => { s.destroy(); resolve([t, v]); };",
  "  s.setTimeout(3000, () => done('timeout'));",
  "  s.on('connect', () => done('open'));",
  "  s.on('error', (e) => done(e.code || String(e)));",
  "});",
  "Promise.all(process.argv.slice(1).map(probe)).then((r) => console.log(JSON.stringify(Object.fromEntries(r))));",
].join("\n");

function probeFrom(kit: ClusterKit, namespace: string, pod: string, targets: string[]): Record<string, string> {
  return JSON.parse(kit.kubectl(["-n", namespace, "exec", pod, "--", "node", "-e", PROBE, ...targets], 30_000)) as Record<string, string>;
}

function podOf(kit: ClusterKit, namespace: string, name: string): string {
  const pod = kit.kubectl(["-n", namespace, "get", "pod", "-l", `app.kubernetes.io/name=${name}`, "--field-selector=status.phase=Running", "-o", "jsonpath={.items[0].metadata.name}"]).trim();
  assert.ok(pod, `a running ${name} pod in ${namespace}`);
  return pod;
}

/** A pod that runs node and waits, under the restricted Pod Security profile, with the labels given. */
function idlePod(name: string, namespace: string, image: string, labels: Record<string, string>, command: string[]): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels },
    spec: {
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 1,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "probe",
          image,
          imagePullPolicy: "IfNotPresent",
          command,
          resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "200m", memory: "96Mi" } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

function apply(kit: ClusterKit, object: object): void {
  const file = path.join(os.tmpdir(), `tracemesh-np-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify(object));
  try {
    kit.kubectl(["apply", "-f", file]);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

/**
 * Every real edge stays open and these forbidden ones are refused, from inside real pods: frontend → activities
 * (and → redis), a loadgen pod → users' gRPC port, a pod in another namespace → redis. api → redis is a real edge
 * (the api's /readyz pings Redis), so it is probed as one that must stay open. Then how long after a policy is
 * applied its packets drop: a client in tracemesh-system connects to a fresh pod every 50 ms while a deny-all
 * ingress policy for that pod is applied.
 */
export async function networkPoliciesEnforced(kit: ClusterKit): Promise<void> {
  const svc = (name: string, port: number, ns = kit.ns) => `${name}.${ns}.svc.cluster.local:${port}`;
  const loadgen = "np-probe-loadgen";
  const target = "np-probe-target";
  apply(kit, idlePod(loadgen, kit.ns, "tracemesh/api:latest", { "app.kubernetes.io/name": "loadgen", "app.kubernetes.io/part-of": "tracemesh" }, ["node", "-e", "setInterval(() => {}, 1 << 30)"]));
  apply(kit, idlePod(target, SYSTEM_NS, "tracemesh/cli:latest", { "app.kubernetes.io/name": target }, ["node", "-e", "require('net').createServer((s) => s.end()).listen(8080)"]));
  try {
    kit.kubectl(["-n", kit.ns, "wait", "--for=condition=Ready", `pod/${loadgen}`, "--timeout=60s"], 70_000);
    kit.kubectl(["-n", SYSTEM_NS, "wait", "--for=condition=Ready", `pod/${target}`, "--timeout=60s"], 70_000);

    const edges: Array<{ from: string; ns: string; pod: string; open: string[]; refused: string[] }> = [
      { from: "frontend", ns: kit.ns, pod: podOf(kit, kit.ns, "frontend"), open: [svc("api", 8080)], refused: [svc("activities", 50051), svc("redis", 6379)] },
      { from: "api", ns: kit.ns, pod: podOf(kit, kit.ns, "api"), open: [svc("users", 50052), svc("activities", 50051), svc("notifications", 50053), svc("redis", 6379)], refused: [svc("moderation", 8090)] },
      { from: "activities", ns: kit.ns, pod: podOf(kit, kit.ns, "activities"), open: [svc("users", 50052), svc("moderation", 8090), svc("redis", 6379)], refused: [svc("notifications", 50053)] },
      { from: "loadgen", ns: kit.ns, pod: loadgen, open: [svc("api", 8080)], refused: [svc("users", 50052), svc("redis", 6379)] },
      // Another namespace: the stand-in (tracemesh-system) reaches a pod of its own namespace, never Redis.
      { from: `${SYSTEM_NS}/saas-stand-in`, ns: SYSTEM_NS, pod: podOf(kit, SYSTEM_NS, "saas-stand-in"), open: [`${kit.kubectl(["-n", SYSTEM_NS, "get", "pod", target, "-o", "jsonpath={.status.podIP}"]).trim()}:8080`], refused: [svc("redis", 6379), svc("api", 8080)] },
    ];
    const wrong: string[] = [];
    for (const edge of edges) {
      const result = probeFrom(kit, edge.ns, edge.pod, [...edge.open, ...edge.refused]);
      for (const t of edge.open) if (result[t] !== "open") wrong.push(`${edge.from} → ${t}: ${result[t]} (a real edge, must be open)`);
      for (const t of edge.refused) if (result[t] === "open") wrong.push(`${edge.from} → ${t}: open (forbidden, must be refused)`);
      console.log(`network policy probes from ${edge.from}: ${JSON.stringify(result)}`);
    }
    assert.deepEqual(wrong, [], "NetworkPolicies as written, enforced");

    // Enforcement delay: connections every 50 ms from the stand-in to the target pod, then a deny-all ingress
    // policy for it; the pod's clock is this machine's, so its timestamps compare with ours.
    const targetIp = kit.kubectl(["-n", SYSTEM_NS, "get", "pod", target, "-o", "jsonpath={.status.podIP}"]).trim();
    const loop = [
      "const net = require('net');",
      `const tick = () => { const t = Date.now(); const s = net.connect({ host: '${targetIp}', port: 8080 });`,
      "  const done = (v) => { s.destroy(); console.log(t + ' ' + v); };",
      "  s.setTimeout(400, () => done('timeout')); s.on('connect', () => done('open')); s.on('error', (e) => done(e.code)); };",
      "setInterval(tick, 50); setTimeout(() => process.exit(0), 60000);",
    ].join("\n");
    const client = startProcess("np-loop", path.join(kit.clusterBin, "kubectl"), ["--context", kit.context, "-n", SYSTEM_NS, "exec", podOf(kit, SYSTEM_NS, "saas-stand-in"), "--", "node", "-e", loop], { env: kit.env() });
    try {
      const lines = () => client.output().split("\n").map((l) => l.split(" ")).filter((p) => p.length === 2).map(([t, v]) => ({ t: Number(t), v: v! }));
      await kit.until("the client connecting to the target", 20_000, async () => (lines().filter((l) => l.v === "open").length >= 5 ? true : undefined));
      const policy = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "np-probe-deny", namespace: SYSTEM_NS }, spec: { podSelector: { matchLabels: { "app.kubernetes.io/name": target } }, policyTypes: ["Ingress"] } };
      apply(kit, policy);
      const appliedAt = Date.now();
      const dropped = await kit.until("the first refused connection after the policy", 30_000, async () => lines().find((l) => l.t >= appliedAt && l.v !== "open"));
      // …and it stays refused: no connection opened after the first refused one.
      await kit.until("a second of refused connections", 10_000, async () => (lines().filter((l) => l.t > dropped.t + 1000).length > 0 ? true : undefined));
      assert.deepEqual(lines().filter((l) => l.t > dropped.t && l.v === "open"), [], "no connection opens once the policy is enforced");
      const delayMs = dropped.t - appliedAt;
      kit.figure("policy applied → packets dropped (ms)", delayMs);
      console.log(`NetworkPolicy enforcement: applied → first refused connection ${delayMs} ms (connections every 50 ms, ${dropped.v})`);
      kit.kubectl(["-n", SYSTEM_NS, "delete", "networkpolicy", "np-probe-deny"]);
    } finally {
      await client.stop(2000);
    }
  } finally {
    kit.kubectl(["-n", kit.ns, "delete", "pod", loadgen, "--ignore-not-found", "--wait=false"]);
    kit.kubectl(["-n", SYSTEM_NS, "delete", "pod", target, "--ignore-not-found", "--wait=false"]);
    kit.kubectl(["-n", SYSTEM_NS, "delete", "networkpolicy", "np-probe-deny", "--ignore-not-found"]);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The web app

/**
 * Two people use the web app in Chromium through `kubectl port-forward svc/frontend` (the flows of the local
 * browser test): sign-up, a post with an @mention, a reply and a like, the notifications; axe-core on every screen;
 * every /api fetch carries the trace context. Then the post click's trace in the Collector's export: the browser's
 * fetch (frontend-web) → the frontend server → api → … → the notifications consumer. The verifier (`--browser`)
 * judges the same join over every browser trace after the load.
 */
export async function webAppOnCluster(kit: ClusterKit): Promise<void> {
  const base = await kit.portForward("frontend", 3000);
  const app = await WebApp.launch(base);
  try {
    const run = Date.now().toString(36).slice(-5);
    const [alice, bob] = [await app.open(), await app.open()];
    const aliceHandle = `alice_web_${run}`;
    const bobHandle = `bob_web_${run}`;
    const postText = `From a browser on the cluster, hello @${bobHandle}!`;
    await bob.page.goto("/signup");
    await app.checkA11y(bob.page, "sign up");
    await signUp(bob.page, bobHandle, "Bob Cluster");
    await signUp(alice.page, aliceHandle, "Alice Cluster");
    await postWithMention(app, alice.page, postText, bobHandle);
    await replyAndLike(app, bob.page, aliceHandle, postText, `Replying on the cluster, ${run}`);
    await readNotifications(app, alice.page, bobHandle);
    app.assertAccessible(4);
    app.assertPropagated(6);

    const trace = await kit.until("the post click's trace, from the browser to the notifications consumer, in the Collector's export", 60_000, async () => {
      if (!fs.existsSync(kit.exportedSpans)) return undefined;
      const spans = spansFromOtlpFiles([kit.exportedSpans]);
      const fetchSpan = spans.find((s) => s.serviceName === "frontend-web" && s.name === "POST /api/activities" && s.attributes["enduser.id"] === aliceHandle);
      const trace = fetchSpan ? spans.filter((s) => s.traceId === fetchSpan.traceId) : [];
      return trace.some((s) => s.serviceName === "notifications" && s.kind === SPAN_KIND.CONSUMER) ? trace : undefined;
    });
    const fetchSpan = trace.find((s) => s.serviceName === "frontend-web" && s.kind === SPAN_KIND.CLIENT)!;
    const feServer = trace.find((s) => s.serviceName === "frontend" && s.kind === SPAN_KIND.SERVER);
    assert.equal(feServer?.parentSpanId, fetchSpan.spanId, "frontend server span ← the browser's fetch span");
    const apiServer = trace.find((s) => s.serviceName === "api" && s.kind === SPAN_KIND.SERVER);
    const feClient = trace.find((s) => s.spanId === apiServer?.parentSpanId);
    assert.equal(feClient?.serviceName, "frontend", "api's server span ← the frontend server's proxy call");
    assert.equal(feClient?.parentSpanId, feServer?.spanId);
    const services = new Set(trace.map((s) => s.serviceName));
    for (const service of ["frontend-web", "frontend", "api", "users", "activities", "notifications"]) assert.ok(services.has(service), `${service} in the click's trace (${[...services].join(", ")})`);
  } finally {
    await app.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// skaffold dev

/** The repository's tracked files, as they are on disk, copied to a scratch folder (a second checkout). */
function scratchCopy(root: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-skaffold-dev-"));
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).toString("utf8").split("\0").filter((f) => f && fs.existsSync(path.join(root, f)));
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(dir, f));
  }
  return dir;
}

/** The local URL skaffold's port-forward gives RESOURCE (it picks another free port when the one asked for is taken). */
function forwardedUrl(output: string, resource: string): string | undefined {
  const matches = [...output.matchAll(new RegExp(`Port forwarding ${resource.replace("/", "\\/")} in namespace \\S+, remote port \\d+ -> (http://[0-9.]+:\\d+)`, "g"))];
  return matches.at(-1)?.[1];
}

async function httpText(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: res.status, text: await res.text() };
  } catch {
    return undefined;
  }
}

/**
 * `skaffold dev -m tracemesh` in a scratch copy of the repository: it reaches "Watching for changes", the api and
 * the frontend answer through skaffold's own port-forwards, an edit to one file of the api is served by a new api
 * pod (only the api image rebuilt, no other pod replaced), and SIGINT makes skaffold delete everything it deployed.
 * Returns the seconds from the edit to the change served.
 */
export async function skaffoldDevLoop(kit: ClusterKit): Promise<number> {
  const dir = scratchCopy(kit.root);
  const apiPods = () => kit.kubectl(["-n", kit.ns, "get", "pod", "-l", "app.kubernetes.io/name=api", "-o", "jsonpath={.items[*].metadata.name}"]).trim();
  const otherPods = () =>
    kit.kubectl(["-n", kit.ns, "get", "pod", "-l", "app.kubernetes.io/name in (users,activities,notifications,moderation,frontend)", "-o", "jsonpath={.items[*].metadata.name}"]).trim().split(" ").sort().join(" ");
  let dev: ManagedProcess | undefined;
  try {
    const started = Date.now();
    const proc = startProcess("skaffold-dev", tool("skaffold", "33-skaffold.sh"), ["dev", "-m", "tracemesh", "--kube-context", kit.context, "--status-check=true"], { cwd: dir, env: kit.env() });
    dev = proc;
    // Every wait ends as soon as skaffold does, with its output: until() would only retry a failing probe.
    const running = <T>(wait: Promise<T>): Promise<T> =>
      Promise.race([wait, proc.exited.then((status) => Promise.reject(new Error(`skaffold dev exited (${JSON.stringify(status)}):\n${proc.output().slice(-6000)}`)))]);
    await running(kit.until("skaffold dev: Watching for changes", 12 * 60_000, async () => (proc.output().includes("Watching for changes") ? true : undefined))).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${proc.output().slice(-4000)}`);
    });
    kit.figure("skaffold dev → Watching for changes (s)", Math.round((Date.now() - started) / 1000));
    const apiUrl = await running(kit.until("skaffold's port-forward of service/api", 60_000, async () => forwardedUrl(proc.output(), "service/api")));
    const webUrl = await running(kit.until("skaffold's port-forward of service/frontend", 60_000, async () => forwardedUrl(proc.output(), "service/frontend")));
    await running(kit.until("the api through skaffold's port-forward", 60_000, async () => ((await httpText(`${apiUrl}/readyz`))?.status === 200 ? true : undefined)));
    const page = await running(
      kit.until("the web app through skaffold's port-forward", 60_000, async () => {
        const res = await httpText(`${webUrl}/`);
        return res?.status === 200 ? res.text : undefined;
      }),
    );
    assert.match(page, /<html/i, "the frontend serves the web app");
    const healthBefore = await httpText(`${apiUrl}/healthz`);
    assert.deepEqual(JSON.parse(healthBefore?.text ?? "{}"), { status: "ok" });
    // skaffold labels what it deploys with its run id, so its first deploy rolled every Deployment once: the pods
    // of before are the new ones, once the old ones have drained and gone.
    await running(kit.until("one pod per service after skaffold dev's first deploy", 120_000, async () => (apiPods().split(" ").length === 1 && otherPods().split(" ").length === 5 ? true : undefined)));
    const podBefore = apiPods();
    const othersBefore = otherPods();

    // The edit a developer makes: what GET /healthz answers, in the api's TypeScript source.
    const token = `edited-${Date.now().toString(36)}`;
    const handlers = path.join(dir, "services", "api", "src", "handlers.ts");
    const source = fs.readFileSync(handlers, "utf8");
    const original = `"GET /healthz": async () => ({ status: 200, body: { status: "ok" } }),`;
    assert.ok(source.includes(original), "services/api/src/handlers.ts still answers /healthz as this test edits it");
    const outputBefore = proc.output().length;
    fs.writeFileSync(handlers, source.replace(original, `"GET /healthz": async () => ({ status: 200, body: { status: "ok", edit: "${token}" } }),`));
    const editedAt = Date.now();
    // Where the time goes: when skaffold's output first says the build is done and the rollout is stable.
    const seen: Record<string, number> = {};
    await running(
      kit.until("the edit served through skaffold's port-forward", 5 * 60_000, async () => {
        const since = proc.output().slice(outputBefore);
        for (const [mark, text] of [["built", "Build [tracemesh/api] succeeded"], ["stable", "Deployments stabilized"]] as const) {
          if (seen[mark] === undefined && since.includes(text)) seen[mark] = Date.now();
        }
        const url = forwardedUrl(proc.output(), "service/api") ?? apiUrl;
        const res = await httpText(`${url}/healthz`);
        return res?.text.includes(token) ? true : undefined;
      }),
    );
    const editToServedS = (Date.now() - editedAt) / 1000;
    kit.figure("skaffold dev: edit → served (s)", Math.round(editToServedS * 10) / 10);
    const at = (mark: string) => (seen[mark] === undefined ? "?" : ((seen[mark]! - editedAt) / 1000).toFixed(1));
    const iteration = proc.output().slice(outputBefore);
    console.log(
      `skaffold dev: edit of services/api/src/handlers.ts served after ${editToServedS.toFixed(1)} s (api image built by ${at("built")} s, ` +
        `rollout stable by ${at("stable")} s, polled every 0.5 s)\n${iteration.split("\n").filter((l) => /Building|Found|Not found|Deployments stabilized|Watching/.test(l)).join("\n")}`,
    );
    // Only the api image was built again; every other image came from skaffold's cache.
    assert.match(iteration, /tracemesh\/api: Not found\. Building/);
    for (const image of ["users", "activities", "notifications", "moderation", "frontend", "cli"]) {
      assert.doesNotMatch(iteration, new RegExp(`tracemesh/${image}: Not found`), `${image} was not rebuilt`);
    }
    await kit.until("the old api pod gone", 60_000, async () => (apiPods().split(" ").includes(podBefore) ? undefined : true));
    assert.notEqual(apiPods(), podBefore, "a new api pod serves the edit");
    assert.equal(otherPods(), othersBefore, "no other pod was replaced");

    // Ctrl-C: skaffold deletes what it deployed.
    proc.child.kill("SIGINT");
    const status = await Promise.race([proc.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 4 * 60_000).unref())]);
    assert.ok(status, `skaffold dev ended within 4 min of SIGINT\n${proc.output().slice(-3000)}`);
    assert.match(proc.output(), /Cleaning up/);
    await kit.until("skaffold's clean-up: the namespaces gone", 3 * 60_000, async () =>
      kit.kubectl(["get", "namespace", "-o", "name"]).split("\n").some((n) => n === `namespace/${kit.ns}` || n === `namespace/${SYSTEM_NS}`) ? undefined : true,
    );
    assert.equal(kit.kubectl(["get", "clusterrole,clusterrolebinding", "-l", "app.kubernetes.io/part-of=tracemesh", "-o", "name"]).trim(), "", "no cluster-scoped object of the mesh is left");
    return editToServedS;
  } finally {
    if (dev && dev.child.exitCode === null) {
      dev.child.kill("SIGINT");
      await Promise.race([dev.exited, new Promise((r) => setTimeout(r, 120_000).unref())]);
      await dev.stop(5000);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helm

/**
 * The chart installed on the cluster (after `skaffold dev` removed the kustomize deploy: one node holds one mesh,
 * and both Collectors would want the same hostPorts), with the images the ci profile built and loaded:
 * everything rolls out under Pod Security "restricted" with the NetworkPolicies on (the chart's default, enforced
 * here), the HTTP flow works, `helm upgrade` with one changed value rolls only the pods it changes, and
 * `helm uninstall` leaves nothing of the mesh behind.
 */
export async function helmInstall(kit: ClusterKit): Promise<void> {
  const helm = (args: string[], timeoutMs = 5 * 60_000) =>
    execFileSync(tool("helm", "30-helm.sh"), [...args, "--kube-context", kit.context], { cwd: kit.root, env: kit.env(), timeout: timeoutMs, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  // What cannot exist offline, as in the ci overlay: the images built locally, Redis and the Collector from
  // local images, no Fluent Bit image, and the Collector's hostPorts on the node's bridge address only.
  const ciValues = [
    "--set", "image.tag=latest",
    "--set", "redis.image=tracemesh/redis:local",
    "--set", "collector.image=tracemesh/otelcol:latest",
    "--set", "collector.hostIP=10.213.0.1",
    "--set", "fluentBit.enabled=false",
    "--set", "deploymentEnvironment=ci",
  ];
  // The release record lives in the default namespace; the chart makes its own two namespaces, so the ones the
  // kustomize deploy made must be gone.
  await kit.until("an empty cluster: the kustomize deploy's namespaces gone", 3 * 60_000, async () =>
    kit.kubectl(["get", "namespace", "-o", "name"]).split("\n").some((n) => n === `namespace/${kit.ns}` || n === `namespace/${SYSTEM_NS}`) ? undefined : true,
  );
  const started = Date.now();
  console.log(helm(["install", "tracemesh", path.join(kit.root, "charts", "tracemesh"), ...ciValues, "--wait", "--timeout", "4m"], 5 * 60_000));
  kit.figure("helm install --wait (s)", Math.round((Date.now() - started) / 1000));
  try {
    const ns = JSON.parse(kit.kubectl(["get", "namespace", kit.ns, "-o", "json"])) as { metadata: { labels: Record<string, string> } };
    assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    for (const name of kit.kubectl(["-n", kit.ns, "get", "deploy,statefulset", "-o", "name"]).trim().split("\n")) kit.kubectl(["-n", kit.ns, "rollout", "status", name, "--timeout=120s"], 130_000);
    kit.kubectl(["-n", SYSTEM_NS, "rollout", "status", "daemonset/otel-collector", "--timeout=120s"], 130_000);
    assert.ok(kit.kubectl(["-n", kit.ns, "get", "networkpolicy", "-o", "name"]).includes("default-deny-all"), "the chart's NetworkPolicies are on by default");

    const base = await kit.portForward("api", 8080);
    const tokens = await kit.signUp(base, ["helm_alice", "helm_bob"]);
    const post = await kit.api(base, "POST", "/api/activities", { token: tokens.helm_alice, body: { message: "installed by helm, @helm_bob", ttl: "1-day" } });
    assert.equal(post.status, 201, JSON.stringify(post.body));
    await kit.until("helm_bob's mention", 30_000, async () => {
      const res = await kit.api(base, "GET", "/api/notifications", { token: tokens.helm_bob });
      return (res.body.notifications as Array<{ kind: string }> | undefined)?.some((n) => n.kind === "mention") ? true : undefined;
    });

    // One changed value: the api's memory limit. Only the api's pods roll.
    const pods = () => kit.kubectl(["-n", kit.ns, "get", "pod", "-o", "jsonpath={range .items[*]}{.metadata.labels.app\\.kubernetes\\.io/name} {.metadata.name}{\"\\n\"}{end}"]).trim().split("\n").sort();
    const before = pods();
    helm(["upgrade", "tracemesh", path.join(kit.root, "charts", "tracemesh"), "--reuse-values", "--set", "services.api.resources.limits.memory=320Mi", "--wait", "--timeout", "3m"], 4 * 60_000);
    kit.kubectl(["-n", kit.ns, "rollout", "status", "deploy/api", "--timeout=120s"], 130_000);
    await kit.until("the old api pod gone after the upgrade", 90_000, async () => (pods().filter((p) => p.startsWith("api ")).length === 1 && !before.includes(pods().find((p) => p.startsWith("api "))!) ? true : undefined));
    const after = pods();
    assert.deepEqual(after.filter((p) => !p.startsWith("api ")), before.filter((p) => !p.startsWith("api ")), "only the api's pod was replaced");
    const limit = kit.kubectl(["-n", kit.ns, "get", "deploy", "api", "-o", "jsonpath={.spec.template.spec.containers[0].resources.limits.memory}"]).trim();
    assert.equal(limit, "320Mi");
  } finally {
    helm(["uninstall", "tracemesh", "--wait", "--timeout", "3m"], 4 * 60_000);
  }
  await kit.until("helm uninstall: the chart's namespaces gone", 3 * 60_000, async () =>
    kit.kubectl(["get", "namespace", "-o", "name"]).split("\n").some((n) => n === `namespace/${kit.ns}` || n === `namespace/${SYSTEM_NS}`) ? undefined : true,
  );
  assert.equal(kit.kubectl(["get", "clusterrole,clusterrolebinding", "-l", "app.kubernetes.io/part-of=tracemesh", "-o", "name"]).trim(), "", "no cluster-scoped object of the chart is left");
  assert.equal(kit.kubectl(["get", "secret", "-n", "default", "-l", "owner=helm", "-o", "name"]).trim(), "", "no release record is left");
}
