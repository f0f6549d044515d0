// V8 heap sizes for the local processes, from the memory limits their pods run with. Node ≥ 22 sizes V8's
// young generation from the memory the process sees at start: on a 24 GiB machine that is 64 MiB semi-spaces
// and a 4 GiB old space per process (a traced mesh peaked at 1.5 GiB). Inside a pod's limit V8 picks a 256 MiB
// old space and 1 MiB semi-spaces, which under tracing's allocation rate costs garbage collection: 13–21 % of
// each service's busy CPU on posts against 5–9 % with 16 MiB semi-spaces (profile.js, 2026-12-06). So a local
// process gets V8's own old space for its pod's limit and semi-spaces of 1/16 of that limit (16 MiB for 256 MiB:
// a young generation of 48 MiB, three semi-spaces).
// loadgen and the frontend's server are not on the mesh's request path, and their pods run with V8's own 1 MiB
// semi-spaces: so do they locally. loadgen at 150 req/s for 20 s (/usr/bin/time, two alternating runs each,
// 2026-12-07): 134 MiB peak RSS and 1.92–2.31 s of CPU with 16 MiB semi-spaces, 110–111 MiB and 2.27–2.37 s
// with 1 MiB.

/** The memory limit of each program's container (deploy/k8s/base/mesh/*.yaml, deploy/k8s/loadgen/loadgen-job.yaml). */
export const POD_MEMORY_LIMIT_MIB = {
  users: 256,
  activities: 256,
  notifications: 256,
  api: 256,
  moderation: 128,
  frontend: 192,
  loadgen: 256,
} as const;
export type PodProgram = keyof typeof POD_MEMORY_LIMIT_MIB;

/**
 * The flags for a process whose container is limited to `limitMiB`. The old space is V8's own choice for that
 * limit, measured on Node 24.22 in a memory cgroup (v8.getHeapStatistics().heap_size_limit): 128, 256 and 512 MiB
 * → 256 MiB of old space; 1, 2 and 4 GiB → half the limit, up to 2 GiB. The semi-spaces are 1/16 of the limit
 * (V8 would pick 1 MiB up to 512 MiB: see the top of this file), at most 64 MiB, unless `semiSpaceMiB` says otherwise.
 */
export function v8HeapArgs(limitMiB: number, semiSpaceMiB?: number): string[] {
  if (!(limitMiB > 0)) throw new Error(`a memory limit in MiB is needed, got ${limitMiB}`);
  const oldSpace = limitMiB <= 512 ? 256 : Math.min(2048, Math.max(256, Math.round(limitMiB / 2)));
  const semiSpace = semiSpaceMiB ?? Math.min(64, Math.max(1, Math.round(limitMiB / 16)));
  return [`--max-old-space-size=${oldSpace}`, `--max-semi-space-size=${semiSpace}`];
}

/** How a local process's heaps are sized: as in its pod (the default), or as Node sizes them from this machine's memory. */
export type HeapSizing = "pod" | "machine";

/** The programs that keep V8's own semi-spaces for their pod's limit (top of this file): off the request path. */
const IN_POD_SEMI_SPACES: ReadonlySet<PodProgram> = new Set(["loadgen", "frontend"]);
/** V8's own semi-space size in a 128–512 MiB memory cgroup (Node 24.22). */
const V8_POD_SEMI_SPACE_MIB = 1;

/** Node flags for one program run locally, before its script. */
export function heapArgs(program: PodProgram, sizing: HeapSizing = "pod"): string[] {
  if (sizing !== "pod") return [];
  const limit = POD_MEMORY_LIMIT_MIB[program];
  return IN_POD_SEMI_SPACES.has(program) ? v8HeapArgs(limit, V8_POD_SEMI_SPACE_MIB) : v8HeapArgs(limit);
}
