#!/usr/bin/env node
// Startup time and idle RSS of one service (users) under two builds of the repo, runs alternated
// (A, B, A, B…) so that load from other processes on the machine falls on both alike; medians.
//   node tools/bench/instrumentation-startup.mjs --before /path/to/old/tree --after /path/to/this/tree [--runs 7] [--idle-ms 3000]
// Startup = spawn → the service's `listening` log line (node --require <tree>/packages/telemetry/dist/src/register.js
// <tree>/services/users/dist/src/main.js, exporting to a closed port: an idle process sends nothing). Idle
// RSS = VmRSS from /proc after idle-ms more. Startup CPU = the process's user+system time when it logged
// `listening` (/proc/<pid>/stat), less sensitive than wall time to other load on the machine. Also counts
// the modules the register loads by itself.
// Needs redis-server on PATH (scripts/tools/10-redis.sh) and both trees built.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    before: { type: "string" },
    after: { type: "string" },
    runs: { type: "string", default: "7" },
    "idle-ms": { type: "string", default: "3000" },
  },
});
if (!values.before || !values.after) {
  process.stderr.write("usage: instrumentation-startup.mjs --before TREE --after TREE [--runs N] [--idle-ms MS]\n");
  process.exit(2);
}
const trees = { before: path.resolve(values.before), after: path.resolve(values.after) };
const runs = Number(values.runs);
const idleMs = Number(values["idle-ms"]);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function waitForLine(child, pattern, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${buffer}`)), timeoutMs);
    const onData = (chunk) => {
      buffer += chunk.toString("utf8");
      if (pattern.test(buffer)) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        resolve();
      }
    };
    child.stdout.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ${pattern}:\n${buffer}`));
    });
  });
}

const CLOCK_TICK_MS = 1000 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);
function cpuMs(pid) {
  // Fields after the command name (which may contain spaces): utime is the 12th, stime the 13th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}

function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]);
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function once(tree, env) {
  const register = path.join(tree, "packages/telemetry/dist/src/register.js");
  const main = path.join(tree, "services/users/dist/src/main.js");
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ["--require", register, main], {
    cwd: path.join(tree, "services/users"),
    env,
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout.on("data", () => {}); // keep draining after the line was seen
  try {
    await waitForLine(child, /"msg":"listening"/, 30_000);
    const startupMs = Number(process.hrtime.bigint() - started) / 1e6;
    const startupCpuMs = cpuMs(child.pid);
    await new Promise((r) => setTimeout(r, idleMs));
    return { startupMs, startupCpuMs, rssMiB: rssKiB(child.pid) / 1024 };
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(kill);
  }
}

function modulesLoaded(tree) {
  const register = path.join(tree, "packages/telemetry/dist/src/register.js");
  const r = spawnSync(process.execPath, ["--require", register, "-e", "console.log(Object.keys(require.cache).length)"], {
    cwd: path.join(tree, "services/users"),
    env: { PATH: process.env.PATH, OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9" },
    encoding: "utf8",
    timeout: 30_000,
  });
  return Number(r.stdout.trim().split("\n").pop());
}

const redisPort = await freePort();
const redis = spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
try {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(redisPort, "127.0.0.1", () => (s.end(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) break;
    if (i === 99) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GRPC_PORT: "0",
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    LOG_LEVEL: "info",
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
  };
  const results = { before: [], after: [] };
  await once(trees.before, env); // warm the file cache for both, not counted
  await once(trees.after, env);
  for (let i = 0; i < runs; i++) {
    for (const name of i % 2 === 0 ? ["before", "after"] : ["after", "before"]) results[name].push(await once(trees[name], env));
  }
  const row = (name) => {
    const r = results[name];
    const s = r.map((x) => x.startupMs);
    const m = r.map((x) => x.rssMiB);
    const c = r.map((x) => x.startupCpuMs);
    return { startup_ms_median: +median(s).toFixed(1), startup_ms_min: +Math.min(...s).toFixed(1), startup_ms_max: +Math.max(...s).toFixed(1), startup_cpu_ms_median: +median(c).toFixed(0), startup_cpu_ms_min: +Math.min(...c).toFixed(0), startup_cpu_ms_max: +Math.max(...c).toFixed(0), idle_rss_mib_median: +median(m).toFixed(1), idle_rss_mib_min: +Math.min(...m).toFixed(1), idle_rss_mib_max: +Math.max(...m).toFixed(1), modules_loaded_by_register: modulesLoaded(trees[name]) };
  };
  const out = { runs, idle_ms: idleMs, node: process.version, before: row("before"), after: row("after") };
  out.change = {
    startup_pct: +(((out.after.startup_ms_median - out.before.startup_ms_median) / out.before.startup_ms_median) * 100).toFixed(1),
    startup_cpu_pct: +(((out.after.startup_cpu_ms_median - out.before.startup_cpu_ms_median) / out.before.startup_cpu_ms_median) * 100).toFixed(1),
    idle_rss_pct: +(((out.after.idle_rss_mib_median - out.before.idle_rss_mib_median) / out.before.idle_rss_mib_median) * 100).toFixed(1),
  };
  process.stdout.write(JSON.stringify(out, null, 2) + "\n");
} finally {
  redis.kill("SIGTERM");
}
