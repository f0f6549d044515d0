// The demo's web frontend step: once the mesh is up, the frontend server (services/frontend) starts in
// front of it and `--keep-running` prints `frontend: http://127.0.0.1:<port>` — the app a person uses.
import type { DemoExtension } from "./demo.js";
import { startFrontend, type LocalFrontend } from "@tracemesh/mesh";

export function frontendDemo(options: { echo?: boolean } = {}): DemoExtension {
  let frontend: LocalFrontend | undefined;
  return {
    name: "frontend",
    async meshUp(mesh) {
      frontend = await startFrontend(mesh, { echo: options.echo });
    },
    urls: () => (frontend ? [`  frontend: ${frontend.url}   (the web app: open it in a browser)`] : []),
    async stop() {
      await frontend?.stop();
      frontend = undefined;
    },
  };
}
