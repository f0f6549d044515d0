// One load run: wait for readiness, sign up the user pool, drive the open-loop mix, drain, summarize.
import crypto from "node:crypto";
import { performance } from "node:perf_hooks";
import { context, trace, type Context } from "@opentelemetry/api";
import { ApiClient, describeError, detectMarking, type Marking } from "./client.js";
import { FlowRunner, DEFAULT_SCENARIO, meanRequestsPerFlow, scenarioNeedsUsers, type FlowName, type PoolUser, type Scenario } from "./scenario.js";
import { OpenLoopScheduler } from "./scheduler.js";
import { Surge } from "./surge.js";
import type { Faults } from "@tracemesh/flags";
import { Recorder, summarize, type Summary } from "./stats.js";

export interface LoadOptions {
  baseUrl: string;
  /** Target requests per second of this process. */
  rate: number;
  durationMs: number;
  /** Linear ramp from 0 to `rate` over this long (part of durationMs). */
  rampMs?: number;
  scenario?: Scenario;
  /** Pool size; defaults to the scenario's. */
  users?: number;
  connections?: number;
  timeoutMs?: number;
  maxInFlight?: number;
  /** [a-z0-9]{1,5}; users are lg_<runId>_<n> (lg_<runId>_<shard>_<n> in an Indexed Job). Random by default. */
  runId?: string;
  shard?: { index: number; count: number };
  /** Wait up to this long for GET /readyz = 200 first (0 = don't wait). */
  waitReadyMs?: number;
  /** After the schedule ends, how long in-flight requests may still finish (default: timeout + 1 s). */
  drainMs?: number;
  /** Live progress: "tty" rewrites one line each second, "lines" logs every 5 s, "off" is silent. */
  progress?: "auto" | "tty" | "lines" | "off";
  progressStream?: NodeJS.WriteStream;
  /** Aborting stops the schedule early; the run still drains and returns its summary. */
  signal?: AbortSignal;
  /** Reported as target_rate (the whole Job's rate is rate × shards); defaults to `rate`. */
  reportedTargetRate?: number;
  /** The failure scenarios (loadgen-surge); none when absent. */
  faults?: Faults;
}

/** The run could not start (API not ready, no user could sign up). */
export class LoadError extends Error {
  override readonly name = "LoadError";
}

export async function runLoad(opts: LoadOptions): Promise<Summary> {
  const scenario = opts.scenario ?? DEFAULT_SCENARIO;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const marking = detectMarking();
  const client = new ApiClient(opts.baseUrl, marking, { connections: opts.connections ?? 64, timeoutMs });
  const out = opts.progressStream ?? process.stderr;
  const progressMode = opts.progress === undefined || opts.progress === "auto" ? (out.isTTY ? "tty" : "lines") : opts.progress;
  try {
    if (opts.waitReadyMs && opts.waitReadyMs > 0) {
      const { ready, last } = await client.waitReady(opts.waitReadyMs, opts.signal);
      if (!ready) throw new LoadError(`${opts.baseUrl}/readyz did not answer 200 within ${opts.waitReadyMs / 1000} s (last: ${last})`);
    }
    const runId = opts.runId ?? crypto.randomBytes(4).readUInt32BE(0).toString(36).slice(0, 5);
    const prefix = opts.shard && opts.shard.count > 1 ? `lg_${runId}_${opts.shard.index}_` : `lg_${runId}_`;
    const users = scenarioNeedsUsers(scenario)
      ? await signUpUsers(client, prefix, opts.users ?? scenario.users, timeoutMs, marking.baseContext)
      : [];
    if (progressMode !== "off") {
      out.write(`loadgen: ${opts.rate} req/s for ${opts.durationMs / 1000} s against ${opts.baseUrl}` + (users.length ? ` with ${users.length} users (${prefix}*)` : "") + "\n");
    }

    const recorder = new Recorder();
    const runner = new FlowRunner(client, scenario, users, recorder);
    const tracer = trace.getTracer("@tracemesh/loadgen");
    // Loaded only with faults on (main.ts loaded it then): @tracemesh/flags brings OpenFeature and gRPC.
    const faultAttributes = opts.faults?.file ? (require("@tracemesh/flags") as typeof import("@tracemesh/flags")).faultAttributes : undefined;
    const maxInFlight = opts.maxInFlight ?? 10_000;
    let inFlight = 0;
    let dropped = 0;
    let drained: (() => void) | undefined;
    const flowDone = () => {
      if (--inFlight === 0 && drained) drained();
    };

    // Flows run in a context carrying the synthetic baggage and, with OTel, a root span named after the flow;
    // every request of the flow (and instrumentation-undici's client span) is its child.
    const startFlow = (name: FlowName, dueAt: number, surge?: number): void => {
      if (marking.otelActive) {
        const attributes = { "app.synthetic": true, "app.flow": name, ...(surge && faultAttributes ? faultAttributes("loadgen-surge", surge) : {}) };
        const span = tracer.startSpan(`flow ${name}`, { root: true, attributes }, marking.baseContext);
        const ctx: Context = trace.setSpan(marking.baseContext, span);
        context.with(ctx, () =>
          runner.run(name, dueAt, () => {
            span.end();
            flowDone();
          }),
        );
      } else if (marking.baggageInContext) {
        context.with(marking.baseContext, () => runner.run(name, dueAt, flowDone));
      } else {
        runner.run(name, dueAt, flowDone);
      }
    };

    const arrive = (dueAt: number, surge?: number) => {
      if (inFlight >= maxInFlight) {
        dropped++;
        return;
      }
      inFlight++;
      startFlow(runner.pick(), dueAt, surge);
    };
    const flowRate = opts.rate / meanRequestsPerFlow(scenario);
    const scheduler = new OpenLoopScheduler({ rate: flowRate, durationMs: opts.durationMs, rampMs: opts.rampMs ?? 0, onArrival: (dueAt) => arrive(dueAt) });
    const surge = opts.faults?.file
      ? new Surge({
          faults: opts.faults,
          rate: flowRate,
          endsAt: () => scheduler.startedAt + opts.durationMs,
          now: () => performance.now(),
          onArrival: arrive,
        })
      : undefined;

    const onAbort = () => scheduler.stop();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) scheduler.stop();

    const progress = progressMode === "off" ? undefined : startProgress(recorder, () => inFlight, () => dropped, opts.rate, progressMode, out);
    const startedAt = performance.now();
    const scheduled = scheduler.run();
    surge?.start();
    await scheduled;
    surge?.stop();

    // Let in-flight flows finish (bounded), then cut off whatever is left: those requests count as errors.
    if (inFlight > 0) {
      const drainMs = opts.drainMs ?? timeoutMs + 1000;
      const allDone = new Promise<void>((resolve) => (drained = resolve));
      const timedOut = await Promise.race([allDone.then(() => false), sleep(drainMs).then(() => true)]);
      if (timedOut) {
        await client.destroy();
        await Promise.race([allDone, sleep(2000)]);
      }
    }
    // A full run spans at least the scheduled window (its last arrival is due a little before the end).
    const elapsedS = (performance.now() - startedAt) / 1000;
    const durationS = opts.signal?.aborted ? elapsedS : Math.max(elapsedS, opts.durationMs / 1000);
    progress?.stop();
    opts.signal?.removeEventListener("abort", onAbort);

    return summarize(
      recorder,
      { target_rate: opts.reportedTargetRate ?? opts.rate, duration_s: durationS, dropped_flows: dropped },
      {
        base_url: opts.baseUrl,
        users: users.length,
        user_prefix: users.length ? prefix : undefined,
        stopped_early: opts.signal?.aborted ?? false,
        synthetic_marking: marking.otelActive ? (marking.undiciInstrumented ? "otel-context+instrumentation-undici" : "otel-context+inject") : "header",
      },
    );
  } finally {
    await client.destroy().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** Signs up `count` users with unique handles (8 at a time); sign-ups are not part of the measured mix. */
async function signUpUsers(client: ApiClient, prefix: string, count: number, timeoutMs: number, ctx: Context): Promise<PoolUser[]> {
  const headers = client.headers({ "content-type": "application/json" });
  const users: PoolUser[] = [];
  let lastError = "";
  let next = 0;
  const signUp = async (n: number): Promise<void> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      // A taken handle (409, e.g. a re-used run id) gets a random suffix on the next attempt.
      const handle = attempt === 0 ? `${prefix}${n}` : `${prefix}${n}${crypto.randomBytes(2).toString("hex").slice(0, 3)}`;
      try {
        const res = await client.send("POST", "/api/users", headers, JSON.stringify({ handle, display_name: `Load Tester ${n}` }), timeoutMs);
        if (res.status === 201) {
          const body = JSON.parse(res.body.toString("utf8")) as { token?: unknown };
          if (typeof body.token !== "string") {
            lastError = "sign-up answered 201 without a token";
            return;
          }
          users.push({ handle, authHeaders: client.headers({ authorization: `Bearer ${body.token}`, "content-type": "application/json" }) });
          return;
        }
        const text = res.body.toString("utf8").slice(0, 200);
        lastError = `POST /api/users ${handle}: HTTP ${res.status} ${text}`;
        if (res.status !== 409) return;
      } catch (err) {
        lastError = `POST /api/users ${handle}: ${describeError(err)}`;
        return;
      }
    }
  };
  const worker = async () => {
    while (next < count) await signUp(next++);
  };
  await context.with(ctx, () => Promise.all(Array.from({ length: Math.min(8, count) }, worker)));
  if (users.length === 0) throw new LoadError(`no user could sign up (last: ${lastError})`);
  if (users.length < count) process.stderr.write(`loadgen: only ${users.length} of ${count} users signed up (last: ${lastError})\n`);
  return users;
}

function startProgress(
  recorder: Recorder,
  inFlight: () => number,
  dropped: () => number,
  target: number,
  mode: "tty" | "lines",
  out: NodeJS.WriteStream,
): { stop(): void } {
  const intervalMs = mode === "tty" ? 1000 : 5000;
  const started = performance.now();
  let lastAt = started;
  let lastCount = 0;
  const line = () => {
    const now = performance.now();
    const { count, errors } = recorder.totals();
    const rate = ((count - lastCount) * 1000) / (now - lastAt);
    lastAt = now;
    lastCount = count;
    const all = recorder.allRoutes();
    const p99 = all.totalCount > 0 ? (all.getValueAtPercentile(99) / 1000).toFixed(1) : "-";
    const errPct = count > 0 ? ((errors / count) * 100).toFixed(2) : "0.00";
    const d = dropped();
    return (
      `[${((now - started) / 1000).toFixed(0).padStart(4)}s] ${rate.toFixed(1)} req/s (target ${target}) · ${count} requests · ` +
      `${errors} errors (${errPct} %) · p99 ${p99} ms · in flight ${inFlight()}` + (d > 0 ? ` · dropped ${d}` : "")
    );
  };
  const timer = setInterval(() => {
    if (mode === "tty") out.write(`\r\x1b[2K${line()}`);
    else out.write(`${line()}\n`);
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      if (mode === "tty") out.write("\n");
    },
  };
}

export type { Marking };
