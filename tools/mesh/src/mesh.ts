// The whole mesh as real processes on free loopback ports: users, activities, notifications, api and
// moderation, each started the way its `start` script does (node --require @tracemesh/telemetry/register
// <its main>; moderation on the X-Ray SDK without it — MODERATION_TRACING=otel starts it like the others),
// each waited for with a bounded readiness check.
// Used by the demo, the end-to-end tests and the benchmarks. Every program it runs is a dependency of
// this package, found through that package's `exports` map (`@tracemesh/users/main`…), never by a path
// into the repository.
import fs from "node:fs";
import path from "node:path";
import {
  freePort,
  grpcServing,
  httpStatus,
  nodeArgsFrom,
  resolveFrom,
  startProcess,
  startRedis,
  waitFor,
  type ExitStatus,
  type LocalRedis,
  type ManagedProcess,
} from "@tracemesh/devkit";
import type { ModerationTracing } from "@tracemesh/moderation/config";
import { heapArgs, type HeapSizing } from "./heaps.js";

export const GRPC_SERVICES = ["users", "activities", "notifications"] as const;
export type GrpcServiceName = (typeof GRPC_SERVICES)[number];
export type MeshService = GrpcServiceName | "api" | "moderation";

/** The programs the mesh and its clients run, by the package entry point that names them. */
export const ENTRY_POINTS = {
  users: "@tracemesh/users/main",
  activities: "@tracemesh/activities/main",
  notifications: "@tracemesh/notifications/main",
  api: "@tracemesh/api/main",
  moderation: "@tracemesh/moderation/main",
  frontend: "@tracemesh/frontend/main",
  seed: "@tracemesh/api/seed",
  loadgen: "@tracemesh/loadgen/main",
} as const;
export type EntryPoint = keyof typeof ENTRY_POINTS;

const PACKAGE_DIR = path.resolve(__dirname, "..", "..");

/** The file of one of the mesh's programs; throws, saying what to build, when it is not built. */
export function entryPoint(name: EntryPoint): string {
  const file = resolveFrom(PACKAGE_DIR, ENTRY_POINTS[name]);
  if (!file) throw new Error(`${ENTRY_POINTS[name]} does not resolve (not built?): run pnpm -r run build`);
  return file;
}

/** The package folder a program belongs to (its working directory, as with `pnpm start`). */
export function packageDirOf(file: string): string {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
  }
  throw new Error(`no package.json above ${file}`);
}
export interface MeshOtelOptions {
  /** OTLP/HTTP base endpoint the services export to, e.g. http://127.0.0.1:4318. */
  endpoint: string;
  /** More OTEL_* (or other telemetry) variables: headers, sampler, resource attributes… */
  env?: NodeJS.ProcessEnv;
  /** host:port where moderation's X-Ray SDK sends segments (the Collector's awsxray receiver, UDP). */
  xrayDaemonAddress?: string;
  /**
   * The module every OpenTelemetry service preloads instead of @tracemesh/telemetry/register, e.g.
   * autoInstrumentationsRegister() (the benchmarks compare ours with the OpenTelemetry Demo's way).
   */
  preload?: string;
}

/** The Node binary a process runs on and the Node flags before its script (e.g. --no-async-context-frame). */
export interface NodeCommand {
  execPath: string;
  execArgv?: string[];
}

export interface StartMeshOptions {
  /** The Node the services run on (default: this process's, with no extra flags); the benchmarks compare runtimes. */
  node?: NodeCommand;
  /** Use this Redis instead of starting a throwaway redis-server. */
  redisUrl?: string;
  /** Added to every service's environment (e.g. LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** Added to one service's environment (e.g. api: { ENABLE_DEBUG_ROUTES: "true" }). */
  serviceEnv?: Partial<Record<MeshService, NodeJS.ProcessEnv>>;
  /** Export spans over OTLP; without it the SDK is disabled (OTEL_SDK_DISABLED=true). */
  otel?: MeshOtelOptions;
  /** Copy every process's output to stderr, prefixed with its name. */
  echo?: boolean;
  /** Also write each process's output to <logDir>/<service>.log, as the kubelet writes a container's log (CRI). */
  logDir?: string;
  /** Bound of each readiness wait (default 30 s). */
  readyTimeoutMs?: number;
  /** V8 heaps as in each service's pod (default) or as Node sizes them from this machine's memory. */
  heaps?: HeapSizing;
  /**
   * How moderation is traced; default: MODERATION_TRACING from this process's environment (unset: moderation's
   * own default, xray-sdk). moderation checks the value itself and exits naming the variable when it is not a mode.
   */
  moderationTracing?: ModerationTracing;
}

export interface Mesh {
  apiUrl: string;
  /** Base URL of moderation (activities' MODERATION_URL). */
  moderationUrl: string;
  /** The MODERATION_TRACING moderation was given (undefined: its default, the X-Ray SDK). */
  moderationTracing: string | undefined;
  /** host:port of each gRPC service. */
  addrs: Record<GrpcServiceName, string>;
  ports: Record<MeshService, number>;
  processes: Record<MeshService, ManagedProcess>;
  redis: { url: string; local?: LocalRedis };
  /** The environment a process talking to this mesh needs (addresses, REDIS_URL, telemetry). */
  clientEnv: NodeJS.ProcessEnv;
  /** SIGTERMs api first, then the gRPC services, then the local Redis; resolves their exit statuses. */
  stop(): Promise<Record<MeshService, ExitStatus>>;
}

/** Node arguments that run `script` the way the services' start scripts do (telemetry preloaded when built). */
export function nodeArgs(script: string): string[] {
  return nodeArgsFrom(PACKAGE_DIR, script);
}

/**
 * The metapackage's own entry point (`node --require @opentelemetry/auto-instrumentations-node/register`):
 * every default instrumentation and the SDK's defaults, set up from OTEL_* alone, as the OpenTelemetry
 * Demo's Node services do. Resolved through @tracemesh/telemetry, which depends on the metapackage.
 */
export function autoInstrumentationsRegister(): string {
  const telemetry = resolveFrom(PACKAGE_DIR, "@tracemesh/telemetry/package.json");
  const register = telemetry && resolveFrom(path.dirname(telemetry), "@opentelemetry/auto-instrumentations-node/register");
  if (!register) throw new Error("@opentelemetry/auto-instrumentations-node/register does not resolve through @tracemesh/telemetry");
  return register;
}

/** OTEL_* variables for a process of the mesh (SDK off unless an endpoint is given). */
export function telemetryEnv(otel: MeshOtelOptions | undefined): NodeJS.ProcessEnv {
  if (!otel) return { OTEL_SDK_DISABLED: "true" };
  return {
    OTEL_SDK_DISABLED: "false",
    OTEL_EXPORTER_OTLP_ENDPOINT: otel.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    // Logs stay on stdout; only traces are exported.
    OTEL_LOGS_EXPORTER: "none",
    OTEL_METRICS_EXPORTER: "none",
    ...otel.env,
  };
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Waits for `check`, but fails at once (with the process's output) if the process exits first. */
async function waitUntilReady(proc: ManagedProcess, what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let exitedEarly = false;
  const exited = proc.exited.then((status) => {
    exitedEarly = true;
    throw new Error(`${proc.name} exited (code ${status.code}, signal ${status.signal}) before it was ready:\n${tail(proc.output())}`);
  });
  try {
    await Promise.race([waitFor(what, async () => !exitedEarly && (await check()), { timeoutMs, intervalMs: 100 }), exited]);
  } catch (err) {
    if (exitedEarly) throw err;
    throw new Error(`${(err as Error).message}\n${proc.name} output:\n${tail(proc.output())}`);
  } finally {
    exited.catch(() => undefined);
  }
}

export async function startMesh(opts: StartMeshOptions = {}): Promise<Mesh> {
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const mains = Object.fromEntries([...GRPC_SERVICES, "api", "moderation"].map((s) => [s, entryPoint(s as MeshService)])) as Record<MeshService, string>;
  const local = opts.redisUrl ? undefined : await startRedis({ echo: opts.echo });
  const redisUrl = opts.redisUrl ?? local!.url;

  const ports = {} as Record<MeshService, number>;
  for (const s of [...GRPC_SERVICES, "api", "moderation"] as MeshService[]) ports[s] = await freePort();
  const addrs = {
    users: `127.0.0.1:${ports.users}`,
    activities: `127.0.0.1:${ports.activities}`,
    notifications: `127.0.0.1:${ports.notifications}`,
  };
  const moderationUrl = `http://127.0.0.1:${ports.moderation}`;
  const clientEnv: NodeJS.ProcessEnv = {
    REDIS_URL: redisUrl,
    USERS_ADDR: addrs.users,
    ACTIVITIES_ADDR: addrs.activities,
    NOTIFICATIONS_ADDR: addrs.notifications,
    ...telemetryEnv(opts.otel),
  };
  const processes = {} as Record<MeshService, ManagedProcess>;
  const moderationTracing = opts.moderationTracing ?? (process.env.MODERATION_TRACING?.trim() || undefined);

  const start = (name: MeshService, own: NodeJS.ProcessEnv) => {
    const env = { ...process.env, LOG_LEVEL: "info", ...clientEnv, ...opts.env, ...own, ...opts.serviceEnv?.[name] };
    // moderation on the X-Ray SDK: no OpenTelemetry preload (it refuses to start with one).
    const plain = name === "moderation" && moderationTracing !== "otel";
    const script = plain ? [mains[name]] : opts.otel?.preload ? ["--require", opts.otel.preload, mains[name]] : nodeArgs(mains[name]);
    const args = [...heapArgs(name, opts.heaps), ...(opts.node?.execArgv ?? []), ...script];
    processes[name] = startProcess(name, opts.node?.execPath ?? process.execPath, args, {
      env,
      cwd: packageDirOf(mains[name]),
      echo: opts.echo,
      logFile: opts.logDir ? path.join(opts.logDir, `${name}.log`) : undefined,
    });
  };

  const stop = async (): Promise<Record<MeshService, ExitStatus>> => {
    const statuses = {} as Record<MeshService, ExitStatus>;
    // api first so no new calls reach the backends while they drain.
    if (processes.api) statuses.api = await processes.api.stop(15_000);
    await Promise.all(
      [...GRPC_SERVICES, "moderation" as const].filter((s) => processes[s]).map(async (s) => {
        statuses[s] = await processes[s].stop(15_000);
      }),
    );
    await local?.stop();
    return statuses;
  };

  try {
    // Without tracing moderation still gets an address, but activities then sends no trace header
    // and moderation traces only requests that arrive with a sampling decision.
    start("moderation", {
      PORT: String(ports.moderation),
      ...(moderationTracing ? { MODERATION_TRACING: moderationTracing } : {}),
      ...(opts.otel?.xrayDaemonAddress ? { AWS_XRAY_DAEMON_ADDRESS: opts.otel.xrayDaemonAddress } : {}),
    });
    for (const s of GRPC_SERVICES) {
      const own: NodeJS.ProcessEnv = { GRPC_PORT: String(ports[s]) };
      // activities asks moderation before storing; its fetch spans name moderation as peer.service.
      if (s === "activities") Object.assign(own, { MODERATION_URL: moderationUrl, TRACEMESH_HTTP_PEERS: `127.0.0.1:${ports.moderation}=moderation` });
      start(s, own);
    }
    await Promise.all([
      ...GRPC_SERVICES.map((s) =>
        waitUntilReady(processes[s], `${s} gRPC health on ${addrs[s]}`, () => grpcServing(addrs[s], "", 500), readyTimeoutMs),
      ),
      waitUntilReady(processes.moderation, `moderation ${moderationUrl}/healthz`, async () => (await httpStatus(`${moderationUrl}/healthz`, 1500)) === 200, readyTimeoutMs),
    ]);
    start("api", { PORT: String(ports.api) });
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    await waitUntilReady(processes.api, `api ${apiUrl}/readyz`, async () => (await httpStatus(`${apiUrl}/readyz`, 1500)) === 200, readyTimeoutMs);
    return { apiUrl, moderationUrl, moderationTracing, addrs, ports, processes, redis: { url: redisUrl, local }, clientEnv, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
