// @tracemesh/devkit/testing — the checks every gRPC service must pass as a real process (`node [--require
// @tracemesh/telemetry/register] <its main>`): it serves grpc.health.v1 ("" and its own service) and reflection, exits 0 on
// SIGTERM within its shutdown bound, and refuses invalid configuration with one line naming the
// variable. Written once here; each service's test/process.test.ts calls it.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { grpcServing } from "./grpc-health.js";
import { nodeArgsFrom, resolveFrom } from "./paths.js";
import { startProcess, type ManagedProcess } from "./process.js";
import { startRedis, type LocalRedis } from "./redis-server.js";
import { waitFor } from "./wait.js";

/** Lists the services a server exposes through grpc.reflection.v1 (what grpcurl uses). */
export function reflectionServices(address: string, timeoutMs = 3000): Promise<string[]> {
  const protoPath = require.resolve("@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto");
  const def = protoLoader.loadSync(protoPath, { keepCase: true });
  const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: GrpcObject } } };
  const Ctor = pkg.grpc.reflection.v1.ServerReflection as ServiceClientConstructor;
  const client = new Ctor(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: new Date(Date.now() + timeoutMs) });
    call.on("data", (res: { list_services_response?: { service: Array<{ name: string }> } }) => {
      resolve(res.list_services_response?.service.map((s) => s.name) ?? []);
      call.end();
      client.close();
    });
    call.on("error", reject);
    call.write({ list_services: "" });
  });
}

/** The port a service logged in its `{"msg":"listening","port":N}` line, once it has. */
export function listeningPort(proc: ManagedProcess): number | undefined {
  const line = proc.jsonLines().find((l) => l.msg === "listening");
  return typeof line?.port === "number" ? line.port : undefined;
}

export interface GrpcServiceProcessSuite {
  /** Service folder name, e.g. "users". */
  name: string;
  /** Fully-qualified gRPC service, e.g. "tracemesh.v1.UsersService". */
  grpcService: string;
  /** The package directory: its `exports` map names the entry point (`<package>/main`). */
  packageDir: string;
  /** Extra environment the service needs to start (e.g. USERS_ADDR). */
  env?: NodeJS.ProcessEnv;
  /** Variable/value pairs that must each be refused at start. */
  invalidConfig: ReadonlyArray<readonly [string, string]>;
}

export function describeGrpcServiceProcess(suite: GrpcServiceProcessSuite): void {
  const packageName = (JSON.parse(fs.readFileSync(path.join(suite.packageDir, "package.json"), "utf8")) as { name: string }).name;
  const main = resolveFrom(suite.packageDir, `${packageName}/main`);
  if (!main) throw new Error(`${packageName}/main does not resolve from ${suite.packageDir}: is it built, and in its exports map?`);

  describe(`${suite.name} process`, { timeout: 60_000 }, () => {
    let redis: LocalRedis;
    before(async () => {
      redis = await startRedis();
    });
    after(async () => {
      await redis?.stop();
    });

    test("serves health and reflection, exits 0 on SIGTERM within the bound", { timeout: 30_000 }, async () => {
      const proc = startProcess(suite.name, process.execPath, nodeArgsFrom(suite.packageDir, main), {
        cwd: suite.packageDir,
        env: { ...process.env, ...suite.env, GRPC_PORT: "0", REDIS_URL: redis.url, LOG_LEVEL: "info" },
      });
      try {
        const port = await waitFor(`${suite.name} listening`, () => listeningPort(proc), { timeoutMs: 15_000 });
        const address = `127.0.0.1:${port}`;
        assert.equal(await grpcServing(address, ""), true);
        assert.equal(await grpcServing(address, suite.grpcService), true);
        const services = await reflectionServices(address);
        assert.ok(services.includes(suite.grpcService), `reflection lists ${services.join(", ")}`);
        const startedAt = Date.now();
        const exit = await proc.stop(15_000);
        assert.equal(exit.code, 0, proc.output());
        assert.ok(Date.now() - startedAt < 10_000, "exited within the shutdown bound");
      } finally {
        await proc.stop();
      }
    });

    test("invalid configuration exits non-zero with one line naming the variable", { timeout: 20_000 }, async () => {
      for (const [variable, value] of suite.invalidConfig) {
        const proc = startProcess(`${suite.name}-bad-config`, process.execPath, [main], {
          cwd: suite.packageDir,
          env: { ...process.env, ...suite.env, REDIS_URL: redis.url, [variable]: value },
        });
        const exit = await proc.exited;
        assert.notEqual(exit.code, 0, `${variable}=${value} was accepted`);
        const lines = proc.output().trim().split("\n");
        assert.equal(lines.length, 1, proc.output());
        assert.match(lines[0]!, new RegExp(variable));
      }
    });
  });
}
