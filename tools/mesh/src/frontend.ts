// The web frontend (services/frontend) as a local process in front of a running mesh: it serves the
// built app, forwards /api to the mesh's api and the browser's spans to the Collector. Used by the
// demo (--keep-running prints its URL) and the browser test.
import { freePort, httpStatus, startProcess, waitFor, type ExitStatus, type ManagedProcess } from "@tracemesh/devkit";
import { heapArgs, type HeapSizing } from "./heaps.js";
import { entryPoint, nodeArgs, packageDirOf, type Mesh } from "./mesh.js";

export interface LocalFrontend {
  url: string;
  process: ManagedProcess;
  stop(): Promise<ExitStatus>;
}

export interface StartFrontendOptions {
  /** The Collector's OTLP/HTTP base URL; default: where the mesh exports (none: uploads answer 503). */
  otlpUrl?: string;
  env?: NodeJS.ProcessEnv;
  echo?: boolean;
  readyTimeoutMs?: number;
  /** V8 heaps as in the frontend's pod (default) or as Node sizes them from this machine's memory. */
  heaps?: HeapSizing;
}

export async function startFrontend(mesh: Mesh, opts: StartFrontendOptions = {}): Promise<LocalFrontend> {
  const main = entryPoint("frontend");
  const port = await freePort();
  const api = new URL(mesh.apiUrl);
  const proc = startProcess("frontend", process.execPath, [...heapArgs("frontend", opts.heaps), ...nodeArgs(main)], {
    cwd: packageDirOf(main),
    echo: opts.echo,
    env: {
      ...process.env,
      ...mesh.clientEnv,
      PORT: String(port),
      API_URL: mesh.apiUrl,
      OTLP_URL: opts.otlpUrl ?? mesh.clientEnv.OTEL_EXPORTER_OTLP_ENDPOINT ?? "http://127.0.0.1:9",
      // So the proxy's client span carries peer.service=api (X-Ray names the node by it).
      TRACEMESH_HTTP_PEERS: `${api.hostname}:${api.port}=api`,
      ...opts.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `frontend ${url}/readyz`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`frontend exited with ${proc.child.exitCode}:\n${proc.output().slice(-4000)}`);
        return (await httpStatus(`${url}/readyz`, 1500)) === 200;
      },
      { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 100 },
    );
  } catch (err) {
    await proc.stop();
    throw new Error(`${(err as Error).message}\nfrontend output:\n${proc.output().slice(-4000)}`);
  }
  return { url, process: proc, stop: () => proc.stop(15_000) };
}
