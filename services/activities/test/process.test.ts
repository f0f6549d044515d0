// activities as a real process: `node dist/src/main.js` (with the telemetry register module once it
// exists), its health and reflection, SIGTERM, and invalid configuration.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { grpcServing, startProcess, startRedis, waitFor, type LocalRedis, type ManagedProcess } from "@tracemesh/devkit";

const PKG_DIR = path.resolve(__dirname, "..", "..");
const MAIN = path.join(PKG_DIR, "dist", "src", "main.js");

function nodeArgs(): string[] {
  let register: string | undefined;
  try {
    register = require.resolve("@tracemesh/telemetry/register", { paths: [PKG_DIR] });
  } catch {
    register = undefined;
  }
  return register && fs.existsSync(register) ? ["--require", "@tracemesh/telemetry/register", MAIN] : [MAIN];
}

function listeningPort(proc: ManagedProcess): number | undefined {
  const line = proc.jsonLines().find((l) => l.msg === "listening");
  return typeof line?.port === "number" ? line.port : undefined;
}

/** Lists services through grpc.reflection.v1 (what grpcurl uses). */
function reflectionServices(address: string): Promise<string[]> {
  const protoPath = require.resolve("@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto", {
    paths: [path.dirname(require.resolve("@tracemesh/runtime", { paths: [PKG_DIR] }))],
  });
  const def = protoLoader.loadSync(protoPath, { keepCase: true });
  const pkg = loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: GrpcObject } } };
  const Ctor = pkg.grpc.reflection.v1.ServerReflection as ServiceClientConstructor;
  const client = new Ctor(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: new Date(Date.now() + 3000) });
    call.on("data", (res: { list_services_response?: { service: Array<{ name: string }> } }) => {
      resolve(res.list_services_response?.service.map((s) => s.name) ?? []);
      call.end();
      client.close();
    });
    call.on("error", reject);
    call.write({ list_services: "" });
  });
}

describe("activities process", { timeout: 60_000 }, () => {
  let redis: LocalRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test("serves health and reflection, exits 0 on SIGTERM within the bound", { timeout: 30_000 }, async () => {
    const proc = startProcess("activities", process.execPath, nodeArgs(), {
      cwd: PKG_DIR,
      env: { ...process.env, GRPC_PORT: "0", REDIS_URL: redis.url, USERS_ADDR: "127.0.0.1:1", LOG_LEVEL: "info" },
    });
    try {
      const port = await waitFor("activities listening", () => listeningPort(proc), { timeoutMs: 15_000 });
      const address = `127.0.0.1:${port}`;
      assert.equal(await grpcServing(address, ""), true);
      assert.equal(await grpcServing(address, "tracemesh.v1.ActivitiesService"), true);
      const services = await reflectionServices(address);
      assert.ok(services.includes("tracemesh.v1.ActivitiesService"), `reflection lists ${services.join(", ")}`);
      const startedAt = Date.now();
      const exit = await proc.stop(15_000);
      assert.equal(exit.code, 0, proc.output());
      assert.ok(Date.now() - startedAt < 10_000, "exited within the shutdown bound");
    } finally {
      await proc.stop();
    }
  });

  test("invalid configuration exits non-zero with one line naming the variable", { timeout: 15_000 }, async () => {
    for (const [name, value] of [
      ["GRPC_PORT", "abc"],
      ["USERS_ADDR", "not an address"],
      ["REDIS_URL", "http://x"],
    ] as const) {
      const proc = startProcess("activities-bad-config", process.execPath, [MAIN], {
        cwd: PKG_DIR,
        env: { ...process.env, REDIS_URL: redis.url, [name]: value },
      });
      const exit = await proc.exited;
      assert.notEqual(exit.code, 0);
      const lines = proc.output().trim().split("\n");
      assert.equal(lines.length, 1, proc.output());
      assert.match(lines[0]!, new RegExp(name));
    }
  });
});
