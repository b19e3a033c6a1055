import * as fs from 'node:fs';
import { constants } from 'node:os';
import { isErrno } from '../image/store';
import { ContainerError } from './errors';

/**
 * Checks whether a process with `pid` runs, including one owned by another user. A zombie, which
 * has ended and waits for its parent to collect its status, does not count.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (!isErrno(error, 'EPERM')) return false;
  }
  return statFields(pid)?.[0] !== 'Z';
}

/** Reads the fields of /proc/PID/stat from field 3 (the state) on, or undefined when it is gone. */
function statFields(pid: number): string[] | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name in field 2 may contain spaces and parentheses, so fields are counted
  // from the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * Reads the start time of process `pid` in clock ticks after boot (field 22 of /proc/PID/stat), or
 * undefined when it is gone. Together with the pid it names one process, even after the pid is
 * reused.
 */
export function processStartTime(pid: number): number | undefined {
  const value = Number(statFields(pid)?.[19]);
  return Number.isInteger(value) ? value : undefined;
}

/** Sends `signal` to `pid`, or to its process group with `group`; false when it is gone. */
export function sendSignal(pid: number, signal: NodeJS.Signals | number, group = false): boolean {
  try {
    process.kill(group ? -pid : pid, signal);
    return true;
  } catch (error) {
    if (isErrno(error, 'ESRCH')) return false;
    throw error;
  }
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/**
 * Parses a signal as Docker accepts it: `SIGTERM`, `TERM` or `15`, and returns its name.
 */
export function parseSignal(text: string): NodeJS.Signals {
  const upper = text.toUpperCase();
  const signals = constants.signals as Record<string, number>;
  if (/^[0-9]+$/.test(text)) {
    const name = Object.keys(signals).find((key) => signals[key] === Number(text));
    if (name !== undefined) return name as NodeJS.Signals;
  } else {
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (signals[name] !== undefined) return name as NodeJS.Signals;
  }
  throw new ContainerError(`invalid signal: ${text}`);
}

/**
 * Finds the processes whose command line has `flag` followed by `value`, such as every
 * translator started with `--root DIR`: the processes a guest forks keep their parent's
 * command line. Processes whose command line cannot be read (another user's) are skipped.
 */
export function processesWithArgument(flag: string, value: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // ended meanwhile
    }
    const index = argv.indexOf(flag);
    if (index >= 0 && argv[index + 1] === value) pids.push(Number(name));
  }
  return pids;
}
