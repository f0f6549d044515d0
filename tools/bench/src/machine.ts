// What the figures were measured on: printed above every table and written into docs/benchmarks.md.
import fs from "node:fs";
import os from "node:os";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  kernel: string;
  /** 1-minute load average when the run started and when it ended (other work on the machine). */
  loadAtStart: number;
  loadAtEnd?: number;
}

export function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() || "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAtStart: loadAverage(),
  };
}

export function loadAverage(): number {
  return Math.round(os.loadavg()[0]! * 100) / 100;
}

/** Busy = the 1-minute load average was at or above 2 (the benches themselves add about 1-2 while running). */
export function machineLine(m: Machine): string {
  const load = m.loadAtEnd === undefined ? `${m.loadAtStart}` : `${m.loadAtStart} at start, ${m.loadAtEnd} at end`;
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, Node ${m.node}, ${m.kernel}; load average ${load}`;
}

/** Clock ticks per second for /proc/<pid>/stat CPU times (USER_HZ; 100 on every Linux in practice). */
export const CLOCK_TICKS = 100;

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), or undefined once the process is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Proportional set size in bytes (Pss of /proc/<pid>/smaps_rollup): resident memory with each page shared by n
 * processes counted 1/n in each (the Node binary's pages, mapped by every Node process). Summed over processes it
 * is the memory they use together; a sum of VmRSS counts shared pages once per process.
 */
export function pssBytes(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds used so far by a process (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14, 15)
  } catch {
    return undefined;
  }
}
