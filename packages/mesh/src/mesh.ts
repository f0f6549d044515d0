// The whole mesh as real processes on free loopback ports: users, activities, notifications and
// api, each started the way its `start` script does (node --require @tracemesh/telemetry/register
// <its main>), each waited for with a bounded readiness check. Used by the demo, the end-to-end
// tests and the benchmarks. Every program it runs is a dependency of this package, found through
// that package's `exports` map (`@tracemesh/users/main`…), never by a path into the repository.
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

export const GRPC_SERVICES = ["users", "activities", "notifications"] as const;
export type GrpcServiceName = (typeof GRPC_SERVICES)[number];
export type MeshService = GrpcServiceName | "api";

/** The programs the mesh and its clients run, by the package entry point that names them. */
export const ENTRY_POINTS = {
  users: "@tracemesh/users/main",
  activities: "@tracemesh/activities/main",
  notifications: "@tracemesh/notifications/main",
  api: "@tracemesh/api/main",
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
}

export interface StartMeshOptions {
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
  /** Bound of each readiness wait (default 30 s). */
  readyTimeoutMs?: number;
}

export interface Mesh {
  apiUrl: string;
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
  const mains = Object.fromEntries([...GRPC_SERVICES, "api"].map((s) => [s, entryPoint(s as MeshService)])) as Record<MeshService, string>;
  const local = opts.redisUrl ? undefined : await startRedis({ echo: opts.echo });
  const redisUrl = opts.redisUrl ?? local!.url;

  const ports = {} as Record<MeshService, number>;
  for (const s of [...GRPC_SERVICES, "api"] as MeshService[]) ports[s] = await freePort();
  const addrs = {
    users: `127.0.0.1:${ports.users}`,
    activities: `127.0.0.1:${ports.activities}`,
    notifications: `127.0.0.1:${ports.notifications}`,
  };
  const clientEnv: NodeJS.ProcessEnv = {
    REDIS_URL: redisUrl,
    USERS_ADDR: addrs.users,
    ACTIVITIES_ADDR: addrs.activities,
    NOTIFICATIONS_ADDR: addrs.notifications,
    ...telemetryEnv(opts.otel),
  };
  const processes = {} as Record<MeshService, ManagedProcess>;

  const start = (name: MeshService, own: NodeJS.ProcessEnv) => {
    const env = { ...process.env, LOG_LEVEL: "info", ...clientEnv, ...opts.env, ...own, ...opts.serviceEnv?.[name] };
    processes[name] = startProcess(name, process.execPath, nodeArgs(mains[name]), {
      env,
      cwd: packageDirOf(mains[name]),
      echo: opts.echo,
    });
  };

  const stop = async (): Promise<Record<MeshService, ExitStatus>> => {
    const statuses = {} as Record<MeshService, ExitStatus>;
    // api first so no new calls reach the backends while they drain.
    if (processes.api) statuses.api = await processes.api.stop(15_000);
    await Promise.all(
      GRPC_SERVICES.filter((s) => processes[s]).map(async (s) => {
        statuses[s] = await processes[s].stop(15_000);
      }),
    );
    await local?.stop();
    return statuses;
  };

  try {
    for (const s of GRPC_SERVICES) start(s, { GRPC_PORT: String(ports[s]) });
    await Promise.all(
      GRPC_SERVICES.map((s) =>
        waitUntilReady(processes[s], `${s} gRPC health on ${addrs[s]}`, () => grpcServing(addrs[s], "", 500), readyTimeoutMs),
      ),
    );
    start("api", { PORT: String(ports.api) });
    const apiUrl = `http://127.0.0.1:${ports.api}`;
    await waitUntilReady(processes.api, `api ${apiUrl}/readyz`, async () => (await httpStatus(`${apiUrl}/readyz`, 1500)) === 200, readyTimeoutMs);
    return { apiUrl, addrs, ports, processes, redis: { url: redisUrl, local }, clientEnv, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
