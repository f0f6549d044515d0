// frontend: config → logger → the built app in memory → HTTP server → graceful shutdown on SIGTERM/SIGINT.
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createLogger, drainHttpServer, exitOnSignal, loadConfigOrExit, runMain } from "@tracemesh/runtime";
import { shutdownTelemetry } from "@tracemesh/telemetry";
import { loadConfig } from "./config.js";
import { createHandler } from "./handlers.js";
import { createServer } from "./server.js";
import { StaticFiles } from "./static-files.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit(() => loadConfig());
  const logger = createLogger("frontend", config.logLevel);
  const files = StaticFiles.load(config.webRoot);
  const agentFor = (base: string) => new (base.startsWith("https:") ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 128 });
  const api = { name: "api", base: config.apiUrl, bodyLimitBytes: config.apiBodyLimitBytes, timeoutMs: config.requestTimeoutMs, traced: true, agent: agentFor(config.apiUrl) };
  const collector = { name: "collector", base: config.otlpUrl, bodyLimitBytes: config.otlpBodyLimitBytes, timeoutMs: config.requestTimeoutMs, traced: false, agent: agentFor(config.otlpUrl) };

  const server = createServer(createHandler({ files, api, collector }), logger);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, api: config.apiUrl, otlp: config.otlpUrl, app_bytes: files.sizes() }, "listening");

  exitOnSignal(
    logger,
    [
      drainHttpServer(server, config.drainTimeoutMs),
      { name: "close upstream sockets", run: async () => [api.agent, collector.agent].forEach((a) => a.destroy()) },
      { name: "flush telemetry", run: () => shutdownTelemetry(2000) },
    ],
    config.drainTimeoutMs + 5000,
  );
}

runMain("frontend", main);
