import {
  Server,
  ServerCredentials,
  credentials,
  Metadata,
  status,
  type CallOptions,
  type ClientUnaryCall,
  type ServerUnaryCall,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
  type sendUnaryData,
  type ChannelOptions,
} from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { HealthImplementation } from "grpc-health-check";
import { PROTO_FILES, PROTO_ROOT } from "@tracemesh/proto";
import { RpcError, UNAVAILABLE_DEPENDENCY_KEY, isServiceError, unavailableDependency } from "./errors.js";
import { isRedisUnavailable } from "./redis.js";
import type { Logger } from "./logger.js";
import { logHandled } from "./request-log.js";

export interface GrpcService {
  /** Fully-qualified name, e.g. `tracemesh.v1.UsersService`; reported by grpc.health.v1. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface RunningGrpcServer {
  server: Server;
  port: number;
  health: HealthImplementation;
  /** Stops accepting calls, lets in-flight calls finish for up to graceMs, then cancels the rest. */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * Starts a gRPC server with the given services plus grpc.health.v1 (overall "" and per service)
 * and server reflection, so grpcurl and Kubernetes' native gRPC probes work.
 */
export async function startGrpcServer(opts: {
  host?: string;
  port: number;
  services: GrpcService[];
}): Promise<RunningGrpcServer> {
  const server = new Server({ "grpc.max_receive_message_length": 1024 * 1024 });
  for (const svc of opts.services) server.addService(svc.definition, svc.implementation);

  const health = new HealthImplementation({ "": "SERVING" });
  for (const svc of opts.services) health.setStatus(svc.name, "SERVING");
  health.addToServer(server);

  const packageDefinition = protoLoader.loadSync(PROTO_FILES, { includeDirs: [PROTO_ROOT] });
  new ReflectionService(packageDefinition).addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host ?? "0.0.0.0"}:${opts.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });

  return {
    server,
    port,
    health,
    shutdown: (graceMs) =>
      new Promise<void>((resolve) => {
        for (const svc of opts.services) health.setStatus(svc.name, "NOT_SERVING");
        health.setStatus("", "NOT_SERVING");
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        timer.unref();
        // tryShutdown is done once the calls' streams are: a call its client cancelled (its deadline passed) ends
        // there while its handler still runs — and the steps after the drain (closing Redis) would fail it. So the
        // drain also waits for every handler unary() started, within the same bound.
        server.tryShutdown(() => {
          void handlersSettled().then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }),
  };
}

/** The handlers unary() started that have not settled yet (the process's, whichever server runs them). */
const runningHandlers = new Set<Promise<unknown>>();

function track<T>(work: Promise<T>): Promise<T> {
  runningHandlers.add(work);
  const forget = () => void runningHandlers.delete(work);
  work.then(forget, forget);
  return work;
}

/** Resolves once every handler running now (and any they let start meanwhile) has settled. */
async function handlersSettled(): Promise<void> {
  while (runningHandlers.size > 0) await Promise.allSettled([...runningHandlers]);
}

/** Statuses that mean the call failed on the server's side (the caller's mistakes are not errors here). */
const SERVER_FAILURES: ReadonlySet<status> = new Set([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS, status.UNAVAILABLE]);

/**
 * Adapts an async handler to grpc-js. RpcErrors become their status; errors from a downstream
 * gRPC call keep UNAVAILABLE / DEADLINE_EXCEEDED and otherwise become INTERNAL; anything else is
 * logged and answered with INTERNAL (the message is not leaked to the caller).
 */
export function unary<Req, Res>(
  logger: Logger,
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    // One log line per call (request-log.ts): rpc, status code, duration; error level when it failed on our side.
    const done = (code: status) => logHandled(logger, "grpc", { rpc: call.getPath(), code: status[code] }, started, SERVER_FAILURES.has(code));
    track(handler(call.request, call)).then(
      (response) => {
        done(status.OK);
        callback(null, response);
      },
      (err: unknown) => {
        const error = toServiceError(err, logger, call.getPath());
        done(error.code ?? status.UNKNOWN);
        callback(error);
      },
    );
  };
}

/**
 * The status a handler's error is answered with. Exported for tests: every Redis outage must
 * become UNAVAILABLE naming redis (never INTERNAL), whatever ioredis error carried it.
 */
export function toServiceError(err: unknown, logger: Logger, path: string): Partial<ServiceError> {
  if (err instanceof RpcError) return withDependency({ code: err.code, details: err.message }, err.dependency);
  if (isServiceError(err) && (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED)) {
    // Keep the name of what is down (e.g. users answering "redis unavailable" to activities).
    return withDependency({ code: err.code, details: err.details }, unavailableDependency(err));
  }
  if (isRedisUnavailable(err)) {
    logger.warn({ err: errorMessage(err), rpc: path }, "redis unavailable");
    return withDependency({ code: status.UNAVAILABLE, details: "redis unavailable" }, "redis");
  }
  logger.error({ err, rpc: path }, "unhandled error in gRPC handler");
  return { code: status.INTERNAL, details: "internal error" };
}

function withDependency(error: Partial<ServiceError>, dependency: string | undefined): Partial<ServiceError> {
  if (!dependency || error.code !== status.UNAVAILABLE) return error;
  const metadata = new Metadata();
  metadata.set(UNAVAILABLE_DEPENDENCY_KEY, dependency);
  return { ...error, metadata };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Channel options shared by every client: keepalive so a dead peer is noticed between requests. */
export const CLIENT_CHANNEL_OPTIONS: ChannelOptions = {
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.max_receive_message_length": 4 * 1024 * 1024,
};

type ClientConstructor<C> = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options?: ChannelOptions) => C;

export function createClient<C>(Ctor: ClientConstructor<C>, address: string): C {
  return new Ctor(address, credentials.createInsecure(), CLIENT_CHANNEL_OPTIONS);
}

/** A generated client's unary method, as callUnary takes it. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

export interface CallDeadline {
  /** Absolute deadline; the call fails with DEADLINE_EXCEEDED after it. */
  deadline: Date;
  /**
   * The incoming server call this call is made on behalf of: its deadline also bounds this call
   * (grpc-js propagates the earlier of the two) and its cancellation cancels this call.
   */
  parent?: ServerUnaryCall<unknown, unknown>;
}

/** Calls a unary method as a promise, always with a deadline. */
export function callUnary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, opts: CallDeadline): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const options: Partial<CallOptions> = { deadline: opts.deadline };
    if (opts.parent) options.parent = opts.parent as unknown as CallOptions["parent"];
    method(request, new Metadata(), options, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A deadline `ms` from now, never later than the incoming call's own deadline. */
export function deadlineIn(ms: number, parent?: ServerUnaryCall<unknown, unknown>): Date {
  const own = Date.now() + ms;
  const inherited = parent?.getDeadline();
  if (inherited instanceof Date && inherited.getTime() < own) return inherited;
  if (typeof inherited === "number" && Number.isFinite(inherited) && inherited < own) return new Date(inherited);
  return new Date(own);
}
