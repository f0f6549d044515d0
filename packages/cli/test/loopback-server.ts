// Base of the cli tests' SaaS stand-ins: an HTTP server on a free loopback port. (devkit has the same
// helper, but devkit depends on this package, so the cli tests cannot import it.)
import http from "node:http";
import type { AddressInfo } from "node:net";

export abstract class LoopbackServer {
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  url = "";

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
