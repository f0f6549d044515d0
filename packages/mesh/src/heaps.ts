// V8 heap sizes for the local processes, from the memory limits their pods run with. Node ≥ 22 sizes V8's
// young generation from the memory the process sees at start: on a 24 GiB machine that is 64 MiB
// semi-spaces per process (a traced mesh peaked at 1.5 GiB), while inside a pod's limit V8 picks 1 MiB.
// Local runs get what the pods get, so the mesh's footprint and its garbage collection are the cluster's.

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
 * The flags that give V8 the heaps it chooses by itself inside a memory limit of `limitMiB`. Measured on
 * Node 24.22 in a memory cgroup (v8.getHeapStatistics().heap_size_limit): 128, 256 and 512 MiB → 259 MiB
 * (256 MiB old space + a young generation of three 1 MiB semi-spaces); 1, 2 and 4 GiB → 560, 1120, 2240 MiB
 * (half the limit of old space, up to 2 GiB, and semi-spaces of 1/32 of it).
 */
export function v8HeapArgs(limitMiB: number): string[] {
  if (!(limitMiB > 0)) throw new Error(`a memory limit in MiB is needed, got ${limitMiB}`);
  const oldSpace = limitMiB <= 512 ? 256 : Math.min(2048, Math.max(256, Math.round(limitMiB / 2)));
  const semiSpace = limitMiB <= 512 ? 1 : Math.round(oldSpace / 32);
  return [`--max-old-space-size=${oldSpace}`, `--max-semi-space-size=${semiSpace}`];
}

/** How a local process's heaps are sized: as in its pod (the default), or as Node sizes them from this machine's memory. */
export type HeapSizing = "pod" | "machine";

/** Node flags for one program run locally, before its script. */
export function heapArgs(program: PodProgram, sizing: HeapSizing = "pod"): string[] {
  return sizing === "pod" ? v8HeapArgs(POD_MEMORY_LIMIT_MIB[program]) : [];
}
