/**
 * Host processes as /proc shows them: liveness checked with the start time, so that a pid the
 * kernel reused for another program is never taken for the container's.
 */
import * as fs from 'node:fs';

/** The fields of /proc/PID/stat that noah-oci uses (proc(5)). */
export interface ProcessStat {
  pid: number;
  state: string; // R, S, D, T, t, Z, X...
  ppid: number;
  session: number;
  startTime: number; // clock ticks after boot
}

/** Reads /proc/PID/stat, or returns undefined when the process does not exist. */
export function readStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain ") ".
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: fields[0],
    ppid: Number(fields[1]),
    session: Number(fields[3]),
    startTime: Number(fields[19]),
  };
}

/** Returns whether `pid` is the same live (not zombie) process that started at `startTime`. */
export function isAlive(pid: number, startTime: number): boolean {
  if (pid <= 0) return false;
  const stat = readStat(pid);
  if (stat === undefined || stat.startTime !== startTime) return false;
  return stat.state !== 'Z' && stat.state !== 'X';
}

/** Reads every process on the host once. */
export function allProcesses(): ProcessStat[] {
  const list: ProcessStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== undefined) list.push(stat);
  }
  return list;
}

/**
 * Returns the live processes that belong to the trees of `roots`: the roots themselves, their
 * descendants, and every process in a root's session. A child whose parent exited is
 * re-parented to a subreaper and leaves the tree, but it keeps the session.
 * NOTE: a guest process that calls setsid() and then loses its parent is not found.
 */
export function processTrees(roots: number[]): number[] {
  const processes = allProcesses().filter((p) => p.state !== 'Z' && p.state !== 'X');
  const rootSet = new Set(roots);
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const found = new Set<number>();
  for (const process of processes) {
    if (rootSet.has(process.session)) {
      found.add(process.pid);
      continue;
    }
    for (let p: ProcessStat | undefined = process; p !== undefined; p = byPid.get(p.ppid)) {
      if (rootSet.has(p.pid)) {
        found.add(process.pid);
        break;
      }
      if (p.ppid <= 1) break;
    }
  }
  return [...found].sort((a, b) => a - b);
}
