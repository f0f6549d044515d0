// Benchmark 6: the tracing overhead of benchmark 1 on several Node runtimes in one run, to see what
// AsyncContextFrame (Node 24's AsyncLocalStorage, no async hooks) changes on its own: Node 20 (the machine's),
// Node 24 with --no-async-context-frame (AsyncLocalStorage on async hooks, as on Node 20) and Node 24 as it
// ships. Each runtime gets an untraced and a traced mesh, all exporting to one Collector; every repetition
// alternates over all of them. The load generators run on the benchmark's own Node, the same for all.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { TOOL_BIN, TOOL_CACHE } from "@tracemesh/devkit";
import type { NodeCommand } from "@tracemesh/mesh";
import { seedPair, startMeshPair, startTraceBackend, Stops, type MeshPair } from "./env.js";
import { pairConfigs, runOverhead, type OverheadConfig, type OverheadResult, type OverheadSettings } from "./overhead.js";

/** What --runtimes takes by default, in the order they are measured and shown. */
export const DEFAULT_RUNTIMES = ["node20", "node24-no-acf", "node24"] as const;

const NO_ACF_FLAG = "--no-async-context-frame";

export interface RuntimeSpec {
  /** As written: node20, node24-no-acf… */
  id: string;
  major: number;
  /** Run with --no-async-context-frame. */
  noAcf: boolean;
}

/** "node24-no-acf" → { major: 24, noAcf: true }; throws on anything else. */
export function parseRuntimeSpec(id: string): RuntimeSpec {
  const m = /^node(\d+)(-no-acf)?$/.exec(id.trim());
  if (!m) throw new Error(`a runtime is nodeNN or nodeNN-no-acf (e.g. node20, node24-no-acf), got "${id}"`);
  return { id: id.trim(), major: Number(m[1]), noAcf: m[2] !== undefined };
}

export interface NodeRuntime extends NodeCommand {
  id: string;
  execArgv: string[];
  /** process.version of the binary. */
  version: string;
  /** How AsyncLocalStorage carries the context on it. */
  asyncContext: "AsyncContextFrame" | "async hooks";
}

interface Probe {
  version: string;
  hasNoAcfFlag: boolean;
}

function probe(execPath: string): Probe | undefined {
  const r = spawnSync(execPath, ["-p", `JSON.stringify([process.version, process.allowedNodeEnvironmentFlags.has("${NO_ACF_FLAG}")])`], {
    encoding: "utf8",
    timeout: 10_000,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  if (r.status !== 0) return undefined;
  const [version, hasNoAcfFlag] = JSON.parse(r.stdout) as [string, boolean];
  return { version, hasNoAcfFlag };
}

/** The first `node` on PATH outside the project's cache bin (the machine's, as scripts/lib.sh finds it). */
function machineNodeOnPath(env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir || path.resolve(dir) === path.resolve(TOOL_BIN)) continue;
    const file = path.join(dir, "node");
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Node binaries worth asking, this process's first, each once (by real path). */
export function candidateBinaries(env: NodeJS.ProcessEnv = process.env): string[] {
  const cacheDir = path.join(TOOL_CACHE, "node");
  const cached = fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).map((v) => path.join(cacheDir, v, "bin", "node")) : [];
  const all = [process.execPath, env.TRACEMESH_MACHINE_NODE, machineNodeOnPath(env), "/usr/bin/node", "/usr/local/bin/node", ...cached];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const file of all) {
    if (!file || !fs.existsSync(file)) continue;
    const real = fs.realpathSync(file);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(file);
  }
  return out;
}

/**
 * Finds a binary for each spec among the candidates. A spec with no binary throws when `required`
 * (runtimes named on the command line), else it is left out and reported in `missing`.
 */
export function resolveRuntimes(ids: readonly string[], opts: { required: boolean; candidates?: string[] }): { runtimes: NodeRuntime[]; missing: string[] } {
  const probes = (opts.candidates ?? candidateBinaries()).flatMap((file) => {
    const p = probe(file);
    return p ? [{ file, ...p }] : [];
  });
  const runtimes: NodeRuntime[] = [];
  const missing: string[] = [];
  for (const spec of ids.map(parseRuntimeSpec)) {
    const found = probes.find((p) => Number(p.version.slice(1).split(".")[0]) === spec.major);
    const why = !found
      ? `no Node ${spec.major} found (looked at ${probes.map((p) => `${p.file} ${p.version}`).join(", ") || "nothing"})`
      : spec.noAcf && !found.hasNoAcfFlag
        ? `${found.file} (${found.version}) has no ${NO_ACF_FLAG}`
        : undefined;
    if (!found || why) {
      if (opts.required) throw new Error(`runtime ${spec.id}: ${why}`);
      missing.push(`${spec.id}: ${why}`);
      continue;
    }
    // Node ≥ 24 uses AsyncContextFrame unless told not to; earlier majors run AsyncLocalStorage on async hooks.
    const acf = found.hasNoAcfFlag && !spec.noAcf;
    runtimes.push({
      id: spec.id,
      execPath: found.file,
      execArgv: spec.noAcf ? [NO_ACF_FLAG] : [],
      version: found.version,
      asyncContext: acf ? "AsyncContextFrame" : "async hooks",
    });
  }
  return { runtimes, missing };
}

/** A configuration's id in the results: runtime and mesh, e.g. "node24-no-acf/traced". */
export const runtimeConfigId = (runtime: string, kind: "untraced" | "traced") => `${runtime}/${kind}`;

export interface RuntimesResult {
  runtimes: NodeRuntime[];
  overhead: OverheadResult<string>;
}

export async function runRuntimes(
  runtimes: NodeRuntime[],
  s: OverheadSettings,
  opts: { seed: boolean; sampleRatio: number; log: (line: string) => void },
): Promise<RuntimesResult> {
  const stops = new Stops();
  try {
    const backend = await startTraceBackend(stops, opts.log);
    const pairs: MeshPair[] = [];
    for (const runtime of runtimes) {
      const pair = await startMeshPair(stops, backend, { sampleRatio: opts.sampleRatio, node: runtime });
      opts.log(`${runtime.id} (${runtime.version} ${[runtime.execPath, ...runtime.execArgv].join(" ")}): untraced ${pair.untraced.apiUrl}, traced ${pair.traced.apiUrl}`);
      pairs.push(pair);
    }
    if (opts.seed) {
      // One pair at a time: seeding six meshes at once would only measure the machine's queue.
      for (const pair of pairs) await seedPair(pair);
      opts.log("every mesh seeded with the demo data");
    }
    const configs: Array<OverheadConfig<string>> = runtimes.flatMap((runtime, i) =>
      pairConfigs(pairs[i]!, backend.collector).map((c) => ({ ...c, id: runtimeConfigId(runtime.id, c.id) })),
    );
    // A rate every configuration sustains: half the lowest traced maximum, so p99 is latency, not queueing.
    const halfRateFrom = runtimes.map((r) => runtimeConfigId(r.id, "traced"));
    const overhead = await runOverhead({ configs, halfRateFrom }, s, opts.log);
    return { runtimes, overhead };
  } finally {
    await stops.run();
  }
}
