/**
 * Resource limits (config.json's process.rlimits, `noah run --ulimit`): applied to the
 * translator by starting it through util-linux's prlimit(1), which sets the limits on itself
 * and execs the translator under the same pid. Node has no setrlimit. A hard limit above the
 * host's own, which only CAP_SYS_RESOURCE may raise, is lowered to it with a warning instead of
 * failing the start.
 */
import * as fs from 'node:fs';

/** One limit as config.json gives it: type RLIMIT_NOFILE and the like. */
export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

/** The rows of /proc/self/limits, by the name config.json uses. */
const procLimitNames: Record<string, string> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

/** RLIM_INFINITY (2^64-1) does not survive JSON as a number; anything from 2^63 means it. */
const unlimitedFrom = 2 ** 63;

/** Reads this process's hard limits; Infinity stands for unlimited. */
function hostHardLimits(): Map<string, number> {
  const limits = new Map<string, number>();
  const lines = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const match = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const name = match === null ? undefined : procLimitNames[match[1]];
    if (match === null || name === undefined) continue;
    limits.set(name, match[3] === 'unlimited' ? Infinity : Number(match[3]));
  }
  return limits;
}

/** Returns whether this process has CAP_SYS_RESOURCE (bit 24) in its effective set. */
function canRaiseHardLimits(): boolean {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const match = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return match !== null && (BigInt(`0x${match[1]}`) & (1n << 24n)) !== 0n;
}

function prlimitValue(value: number): string {
  return value >= unlimitedFrom || value === Infinity ? 'unlimited' : String(value);
}

/**
 * Returns the prlimit(1) arguments that set `rlimits`, such as `--nofile=1024:1024`, clamping
 * each hard limit to the host's when this process cannot raise it.
 */
export function prlimitArgs(rlimits: Rlimit[], warn: (message: string) => void): string[] {
  if (rlimits.length === 0) return [];
  const hostHard = hostHardLimits();
  const mayRaise = canRaiseHardLimits();
  const args: string[] = [];
  for (const limit of rlimits) {
    let { soft, hard } = limit;
    const ceiling = hostHard.get(limit.type) ?? Infinity;
    if (!mayRaise && hard > ceiling) {
      warn(
        `${limit.type} hard limit ${prlimitValue(hard)} is above the host's ${ceiling} ` +
          `and needs CAP_SYS_RESOURCE: using ${ceiling}`,
      );
      hard = ceiling;
      soft = Math.min(soft, ceiling);
    }
    const option = limit.type.slice('RLIMIT_'.length).toLowerCase();
    args.push(`--${option}=${prlimitValue(soft)}:${prlimitValue(hard)}`);
  }
  return args;
}
