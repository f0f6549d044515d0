// Base of the cli tests' SaaS stand-ins: devkit's loopback HTTP server on a free port, with the handler as
// a method.
import type http from "node:http";
import { listenOnLoopback } from "@tracemesh/devkit";

export abstract class LoopbackServer {
  private listener?: { close(): Promise<void> };
  url = "";

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;

  async start(): Promise<void> {
    const listener = await listenOnLoopback((req, res) => void this.handle(req, res));
    this.listener = listener;
    this.url = `http://127.0.0.1:${listener.port}`;
  }

  async stop(): Promise<void> {
    await this.listener?.close();
  }
}
