// The per-call cost worker (calls.ts): `node --require @tracemesh/telemetry/register calls-worker.js <redis url>
// <result file>` with the sampler of its configuration in OTEL_* (or OTEL_SDK_DISABLED=true). Its logs go to
// stdout, as a service's do (calls.ts points it at /dev/null). Every call runs inside a request
// span started here, as a service's handler runs inside its incoming request's: with parent-based sampling the
// request span decides, and the calls under it follow. Measures µs of this process's CPU per call, one kind after
// the other, the calls sequential; writes {"<kind>": µs, …} to the result file.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { SpanKind, trace } from "@opentelemetry/api";
import { createLogger, createRedis } from "@tracemesh/runtime";
import { ECHO_SERVICE } from "./servers/grpc-echo.js";

export const CALL_KINDS = ["request span alone", "Redis command", "gRPC unary call", "HTTP request", "log line"] as const;
export type CallKind = (typeof CALL_KINDS)[number];
export type CallCosts = Record<CallKind, number>;

const tracer = trace.getTracer("@tracemesh/bench-calls");

/** Exports what the batch processor holds (a no-op with the SDK off). */
async function flushSpans(): Promise<void> {
  const registered = trace.getTracerProvider() as unknown as { getDelegate?(): { forceFlush?(): Promise<void> } };
  await registered.getDelegate?.().forceFlush?.();
}

/**
 * `count` calls, each in its request span; every 256 the spans are exported, so that the batch processor's
 * queue never fills and drops spans (calls this fast outrun its schedule), and their export is counted.
 */
async function measure(call: () => Promise<unknown> | void, count: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    await inRequest(call);
    if (i % 256 === 255) await flushSpans();
  }
  await flushSpans();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

function inRequest(call: () => Promise<unknown> | void): Promise<void> {
  return tracer.startActiveSpan("GET /bench", { kind: SpanKind.SERVER }, async (span) => {
    try {
      await call();
    } finally {
      span.end();
    }
  });
}

async function main(): Promise<void> {
  const [redisUrl = "", resultFile = ""] = process.argv.slice(2);
  const count = Number(process.env.CALLS_COUNT ?? "3000");
  const silent = createLogger("bench-calls", "warn");
  const redis = createRedis(redisUrl, silent, { commandTimeoutMs: 2000 });
  await redis.set("bench:calls", "x".repeat(64));
  const logger = createLogger("bench-calls", "info");

  const grpcServer = new grpc.Server();
  grpcServer.addService(ECHO_SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
  const grpcClient = new EchoClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    echo(req: Buffer, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): grpc.ClientUnaryCall;
  };
  const payload = Buffer.alloc(64, 1);

  const httpServer = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const httpUrl = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/bench`;

  const calls: Record<CallKind, () => Promise<unknown> | void> = {
    "request span alone": () => undefined,
    "Redis command": () => redis.get("bench:calls"),
    "gRPC unary call": () =>
      new Promise<void>((resolve, reject) =>
        grpcClient.echo(payload, { deadline: Date.now() + 2000 }, (err) => (err ? reject(err) : resolve())),
      ),
    "HTTP request": async () => {
      const res = await fetch(httpUrl, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
    },
    "log line": () => logger.info({ handle: "alice", stream_id: "1-0" }, "event handled"),
  };

  const costs = {} as CallCosts;
  // CALLS_KINDS=gRPC unary call,… narrows a run to some kinds (e.g. for a --cpu-prof of one of them).
  const only = process.env.CALLS_KINDS?.split(",").map((k) => k.trim());
  for (const kind of CALL_KINDS) {
    if (only && !only.includes(kind)) continue;
    // Warm: compiled code and open connections are what a running service has.
    await measure(calls[kind], count / 5);
    costs[kind] = await measure(calls[kind], count);
  }
  fs.writeFileSync(resultFile, JSON.stringify(costs) + "\n");
  grpcClient.close();
  grpcServer.forceShutdown();
  httpServer.close();
  await redis.quit();
  process.exit(0);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`calls worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
