// tools: docker
// The service images, built for real with Docker from deploy/docker/Dockerfile on the locally made
// bases (no container registry is reachable: scripts/docker-base-image.sh), then run: each image's
// size and user, each container's gRPC health or /healthz, the whole mesh on a user-defined Docker
// network (Redis from tracemesh/redis:local) with requests through api and a short loadgen run, and
// SIGTERM handling. Docker is required: when the engine cannot start this test fails, it never skips.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { grpcServing, httpStatus, waitFor } from "@tracemesh/devkit";

const ROOT = path.resolve(__dirname, "..", "..", "..", "..");
const DOCKERFILE = path.join(ROOT, "deploy", "docker", "Dockerfile");
const MAX_IMAGE_BYTES = 200 * 1000 * 1000;
const SERVICES = ["api", "users", "activities", "notifications", "loadgen", "frontend"] as const;
type Service = (typeof SERVICES)[number];
const GRPC_PORTS = { activities: 50051, users: 50052, notifications: 50053 } as const;
type GrpcService = keyof typeof GRPC_PORTS;
const GRPC_SERVICES = Object.keys(GRPC_PORTS) as GrpcService[];
const API_PORT = 8080;

interface Result {
  stdout: string;
  stderr: string;
}

/** Runs a command with a hard timeout; rejects with its output when it fails. */
function run(cmd: string, args: string[], opts: { timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: ROOT, timeout: opts.timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, env: opts.env ?? process.env },
      (err, stdout, stderr) => {
        if (err) {
          const tail = (s: string) => s.split("\n").slice(-40).join("\n");
          reject(new Error(`${cmd} ${args.join(" ")} failed (${err.message.split("\n")[0]})\n${tail(stdout)}\n${tail(stderr)}`));
        } else resolve({ stdout, stderr });
      },
    );
  });
}

// The classic builder: Debian's docker.io has no buildx, and the Dockerfile needs nothing more.
const docker = (args: string[], timeoutMs = 30_000) =>
  run("docker", args, { timeoutMs, env: { ...process.env, DOCKER_BUILDKIT: "0" } }).then((r) => r.stdout.trim());

interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  OOMKilled: boolean;
}

async function containerState(name: string): Promise<ContainerState> {
  return JSON.parse(await docker(["inspect", "-f", "{{json .State}}", name])) as ContainerState;
}

/** The loopback address Docker published for a container port ("127.0.0.1:49153"). */
async function publishedAddress(name: string, port: number): Promise<string> {
  const line = (await docker(["port", name, `${port}/tcp`])).split("\n")[0] ?? "";
  assert.match(line, /^127\.0\.0\.1:\d+$/, `published address of ${name}:${port}`);
  return line;
}

async function logsOf(name: string): Promise<string> {
  try {
    const { stdout, stderr } = await run("docker", ["logs", "--tail", "60", name], { timeoutMs: 10_000 });
    return `${stdout}${stderr}`;
  } catch (err) {
    return (err as Error).message;
  }
}

describe("Docker images: build, size, non-root, health, the mesh in containers", { timeout: 40 * 60_000 }, () => {
  const started = Date.now();
  const runId = `${process.pid}-${Date.now().toString(36)}`;
  const network = `tracemesh-test-${runId}`;
  const name = (what: string) => `tracemesh-${what}-${runId}`;
  const images = {} as Record<"NODE_IMAGE" | "BUILD_IMAGE" | "REDIS_IMAGE", string>;
  const tag = (service: Service) => `tracemesh/${service}:test`;
  const buildSeconds: Partial<Record<Service, number>> = {};
  const addresses: Partial<Record<GrpcService, string>> = {};
  let apiUrl = "";
  // fetch() keeps no ref'd handle while it waits on a socket, and between docker commands nothing
  // else holds the event loop: without this the runner ends the file with "Promise resolution is
  // still pending but the event loop has already resolved".
  let keepAlive: NodeJS.Timeout | undefined;

  /** Starts a detached container on the test network: read-only root, no capabilities. */
  async function startContainer(service: Service | "redis", image: string, env: Record<string, string>, publish: number[]) {
    const args = ["run", "--detach", "--name", name(service), "--network", network, "--network-alias", service];
    args.push("--label", `tracemesh.test=${runId}`, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL");
    args.push("--security-opt", "no-new-privileges", "--memory", "256m");
    if (service === "redis") args.push("--tmpfs", "/data:mode=1777");
    for (const [k, v] of Object.entries(env)) args.push("--env", `${k}=${v}`);
    for (const port of publish) args.push("--publish", `127.0.0.1::${port}`);
    await docker([...args, image]);
  }

  before(async () => {
    keepAlive = setInterval(() => undefined, 1000);
    // Starts dockerd if needed and builds the local bases (cached); fails loudly when it cannot.
    await run("bash", [path.join(ROOT, "scripts", "tools", "40-docker.sh")], { timeoutMs: 20 * 60_000 });
    const printed = await run("bash", [path.join(ROOT, "scripts", "docker-base-image.sh"), "--print"], { timeoutMs: 10_000 });
    for (const line of printed.stdout.trim().split("\n")) {
      const [key, value] = line.split("=") as [keyof typeof images, string];
      images[key] = value;
    }
    assert.ok(images.NODE_IMAGE && images.BUILD_IMAGE && images.REDIS_IMAGE, printed.stdout);
    await docker(["network", "create", "--label", `tracemesh.test=${runId}`, network]);
  });

  after(async () => {
    const ids = await docker(["ps", "-aq", "--filter", `label=tracemesh.test=${runId}`]).catch(() => "");
    if (ids) await docker(["rm", "-f", ...ids.split("\n")]).catch(() => undefined);
    await docker(["network", "rm", network]).catch(() => undefined);
    // The images stay: they are the next run's build cache. scripts/test.sh prunes older builds of ours at its end
    // (scripts/docker-prune.sh).
    clearInterval(keepAlive);
  });

  test("every service image builds from the shared Dockerfile on the local bases", { timeout: 30 * 60_000 }, async (t) => {
    for (const service of SERVICES) {
      const start = Date.now();
      await docker(
        [
          "build", "--quiet", "--file", DOCKERFILE, "--tag", tag(service),
          "--build-arg", `NODE_IMAGE=${images.NODE_IMAGE}`,
          "--build-arg", `BUILD_IMAGE=${images.BUILD_IMAGE}`,
          "--build-arg", `SERVICE=${service}`,
          ".",
        ],
        15 * 60_000,
      );
      buildSeconds[service] = Math.round((Date.now() - start) / 100) / 10;
    }
    t.diagnostic(`build seconds: ${JSON.stringify(buildSeconds)}`);
  });

  test("each image is at most 200 MB, runs node directly as a non-root user, with OCI labels", { timeout: 60_000 }, async (t) => {
    const sizes: Record<string, string> = {};
    for (const service of SERVICES) {
      const info = JSON.parse(await docker(["image", "inspect", tag(service)]))[0] as {
        Size: number;
        Config: { User: string; Cmd: string[] | null; Entrypoint: string[] | null; WorkingDir: string; Env: string[]; Labels: Record<string, string> };
      };
      sizes[service] = `${(info.Size / 1e6).toFixed(1)} MB`;
      assert.ok(info.Size <= MAX_IMAGE_BYTES, `${service} image is ${sizes[service]} (limit 200 MB)`);
      assert.equal(info.Config.User, "10001:10001", `${service} runs as user 10001`);
      assert.deepEqual(info.Config.Entrypoint ?? [], [], `${service}: no entrypoint wrapper`);
      assert.deepEqual(info.Config.Cmd, ["node", "--require", "@tracemesh/telemetry/register", "dist/src/main.js"]);
      assert.equal(info.Config.WorkingDir, "/app");
      assert.ok(info.Config.Env.includes("NODE_ENV=production"));
      assert.equal(info.Config.Labels["org.opencontainers.image.title"], `tracemesh-${service}`);
      assert.equal(info.Config.Labels["org.opencontainers.image.base.name"], images.NODE_IMAGE);
    }
    t.diagnostic(`image sizes: ${JSON.stringify(sizes)}`);
    const id = await docker(["run", "--rm", "--entrypoint", "node", tag("users"), "-p", "process.getuid() + ':' + process.getgid()"]);
    assert.equal(id, "10001:10001");
    // Production dependencies only: no dev tools in the runtime image.
    const devTool = await docker(["run", "--rm", "--entrypoint", "node", tag("users"), "-p",
      "['typescript','@tracemesh/devkit'].filter((m) => { try { require.resolve(m); return true } catch { return false } }).join(',')"]);
    assert.equal(devTool, "", "dev dependencies resolvable in the users image");
    // The frontend image carries the Vite build it serves, and none of the tools that made it.
    const web = await docker(["run", "--rm", "--entrypoint", "node", tag("frontend"), "-p",
      "require('fs').readdirSync('dist/web/assets').some((f) => f.endsWith('.js')) + ':' + " +
      "['vite','react','@opentelemetry/sdk-trace-web'].filter((m) => { try { require.resolve(m); return true } catch { return false } }).join(',')"]);
    assert.equal(web, "true:", "the frontend image has dist/web/assets/*.js and no build or browser packages");
  });

  test("Redis from the local image answers on the test network", { timeout: 60_000 }, async () => {
    await startContainer("redis", images.REDIS_IMAGE, {}, []);
    await waitFor("redis container running", async () => (await containerState(name("redis"))).Running, { timeoutMs: 15_000 });
  });

  test("each gRPC service container reports SERVING on grpc.health.v1", { timeout: 120_000 }, async () => {
    for (const service of GRPC_SERVICES) {
      await startContainer(service, tag(service), { REDIS_URL: "redis://redis:6379", LOG_LEVEL: "info" }, [GRPC_PORTS[service]]);
    }
    for (const service of GRPC_SERVICES) {
      const address = await publishedAddress(name(service), GRPC_PORTS[service]);
      addresses[service] = address;
      try {
        await waitFor(`${service} gRPC health at ${address}`, () => grpcServing(address, "", 1000), { timeoutMs: 30_000, intervalMs: 250 });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await logsOf(name(service))}`);
      }
      const logs = await logsOf(name(service));
      assert.match(logs, /"msg":"listening"/, `${service} logged listening`);
      assert.doesNotMatch(logs, /\[telemetry\] not started/, `${service}: the telemetry register loaded`);
    }
  });

  test("the api container answers /healthz, then /readyz once the mesh is up", { timeout: 90_000 }, async () => {
    await startContainer(
      "api",
      tag("api"),
      {
        USERS_ADDR: "users:50052",
        ACTIVITIES_ADDR: "activities:50051",
        NOTIFICATIONS_ADDR: "notifications:50053",
        REDIS_URL: "redis://redis:6379",
      },
      [API_PORT],
    );
    apiUrl = `http://${await publishedAddress(name("api"), API_PORT)}`;
    try {
      await waitFor("api /healthz = 200", async () => (await httpStatus(`${apiUrl}/healthz`)) === 200, { timeoutMs: 30_000, intervalMs: 250 });
      await waitFor("api /readyz = 200", async () => (await httpStatus(`${apiUrl}/readyz`, 3000)) === 200, { timeoutMs: 30_000, intervalMs: 500 });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await logsOf(name("api"))}`);
    }
  });

  test("one request through api reaches users over the Docker network", { timeout: 60_000 }, async () => {
    const handle = `dk_${runId.replace(/[^a-z0-9]/g, "").slice(-12)}`;
    const created = await fetch(`${apiUrl}/api/users`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ handle, display_name: "Docker Test" }),
      signal: AbortSignal.timeout(10_000),
    });
    const createdBody = (await created.json()) as { user?: { handle: string } };
    assert.equal(created.status, 201, JSON.stringify(createdBody));
    assert.equal(createdBody.user?.handle, handle);
    const profile = await fetch(`${apiUrl}/api/users/@${handle}`, { signal: AbortSignal.timeout(10_000) });
    const profileBody = (await profile.json()) as { user?: { handle: string; display_name: string } };
    assert.equal(profile.status, 200, JSON.stringify(profileBody));
    assert.equal(profileBody.user?.display_name, "Docker Test");
    assert.equal(await httpStatus(`${apiUrl}/readyz`, 3000), 200);
  });

  test("the loadgen image drives the containerised api and exits 0", { timeout: 90_000 }, async () => {
    const loadgen = name("loadgen");
    const args = ["run", "--name", loadgen, "--network", network, "--label", `tracemesh.test=${runId}`, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"];
    for (const env of ["LOADGEN_BASE_URL=http://api:8080", "LOADGEN_RATE=5", "LOADGEN_DURATION=3s", "LOADGEN_USERS=3", "LOADGEN_WAIT_READY=20s", "LOADGEN_MAX_ERROR_RATE=0.05", "LOADGEN_TIMEOUT=5s"]) {
      args.push("--env", env);
    }
    await docker([...args, tag("loadgen")], 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await logsOf(loadgen)}`);
    });
    assert.equal((await containerState(loadgen)).ExitCode, 0, await logsOf(loadgen));
  });

  test("docker stop (SIGTERM) ends every service quickly with exit code 0", { timeout: 90_000 }, async (t) => {
    const stopSeconds: Record<string, number> = {};
    for (const service of ["api", ...GRPC_SERVICES] as const) {
      const start = Date.now();
      await docker(["stop", "--time", "10", name(service)], 30_000);
      stopSeconds[service] = (Date.now() - start) / 1000;
      const state = await containerState(name(service));
      assert.equal(state.Running, false);
      assert.equal(state.ExitCode, 0, `${service} exit code after SIGTERM\n${await logsOf(name(service))}`);
      // 10 s would mean Docker had to SIGKILL it.
      assert.ok(stopSeconds[service] < 8, `${service} took ${stopSeconds[service]} s to stop`);
    }
    t.diagnostic(`stop seconds: ${JSON.stringify(stopSeconds)}; whole test ${Math.round((Date.now() - started) / 1000)} s`);
  });
});
