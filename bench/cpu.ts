/**
 * CPU time of the bench's process tree: this process (the gateway, dynalite, local KMS and Step Functions all run in
 * it) and its descendants (local mode's function environments, one process each). A throughput window divided by
 * its calls gives the CPU each call really took under load, beside the one-thread bound's calls timed alone: the
 * difference is what the bound leaves out (the handlers' own compute, the gateway's invocation of a function,
 * scheduling across processes).
 *
 * Read from Linux's /proc (utime + stime of /proc/<pid>/stat, in clock ticks of 10 ms); elsewhere it is undefined
 * and the bench prints no CPU figures.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface TreeCpu {
  /** CPU ms of this process. */
  readonly main: number;
  /** CPU ms of its descendants: those alive at the time, and the children that ended. */
  readonly environments: number;
}

/** Linux's USER_HZ, which every architecture Node.js supports on Linux uses for /proc times. */
const TICK_MS = 10;

function stat(pid: string): { ppid: string; ms: number; endedChildrenMs: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it follow its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields 3.. from there: state, ppid (4), …, utime (14), stime (15), cutime (16), cstime (17): the last two are
    // the CPU of its children that ended (and were waited for, as Node.js does), which /proc no longer lists.
    return {
      ppid: fields[1]!,
      ms: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
      endedChildrenMs: (Number(fields[13]) + Number(fields[14])) * TICK_MS,
    };
  } catch {
    return undefined; // it ended between the listing and the read
  }
}

/** CPU ms so far of this process and of its descendants, or undefined where /proc is not there. */
export function treeCpu(): TreeCpu | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const byPid = new Map<string, { ppid: string; ms: number; endedChildrenMs: number }>();
  for (const pid of pids) {
    const s = stat(pid);
    if (s) byPid.set(pid, s);
  }
  const self = String(process.pid);
  const main = byPid.get(self);
  if (!main) return undefined;
  const inTree = (pid: string): boolean => {
    for (let p = byPid.get(pid)?.ppid, depth = 0; p && depth < 64; p = byPid.get(p)?.ppid, depth++) if (p === self) return true;
    return false;
  };
  // Environments that ended (local mode stops idle ones, and those of a timed-out invocation) count as well.
  let environments = main.endedChildrenMs;
  for (const [pid, s] of byPid) if (pid !== self && inTree(pid)) environments += s.ms;
  return { main: main.ms, environments };
}

/** CPU ms per call between two readings: main process, environments, and both. */
export function cpuPerCall(before: TreeCpu, after: TreeCpu, calls: number): { main: number; environments: number; total: number } {
  const main = (after.main - before.main) / calls;
  const environments = (after.environments - before.environments) / calls;
  return { main, environments, total: main + environments };
}
