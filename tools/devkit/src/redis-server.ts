import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { execFileSync } from "node:child_process";
import { freePort } from "./ports.js";
import { startProcess, type ManagedProcess } from "./process.js";
import { waitFor } from "./wait.js";

export interface LocalRedis {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Path of the redis-server binary, or a clear error saying how to install it. */
export function findRedisServer(): string {
  for (const candidate of [process.env.REDIS_SERVER_BIN, "/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("redis-server not found: install it (Debian: apt-get install redis-server) or set REDIS_URL");
  }
}

/** True when a redis-server on 127.0.0.1:port answers PING within timeoutMs. */
export function redisPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(timeoutMs);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A throwaway redis-server on a free loopback port, no persistence, its own temp dir. */
export async function startRedis(opts: { echo?: boolean } = {}): Promise<LocalRedis> {
  const bin = findRedisServer();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-redis-"));
  const proc = startProcess(
    "redis",
    bin,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"],
    { echo: opts.echo },
  );
  try {
    await waitFor(`redis-server on port ${port}`, () => redisPing(port), { timeoutMs: 10_000 });
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\n${proc.output()}`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: proc,
    stop: async () => {
      await proc.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
