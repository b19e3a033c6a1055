import { spawn } from 'node:child_process';

/** A command line to start, and what to do after it ends or is killed. */
export interface Invocation {
  command: string;
  args: string[];
  /** Variables added to this process's environment for the command (not for the guest). */
  env?: Record<string, string>;
  /** Runs after a timeout, to remove what the kill left behind (a container's state). */
  cleanup?: () => void;
  /** Runs untimed after the command ends: waits for work it left running in the background. */
  settle?: () => Promise<void>;
}

/** The outcome of one timed run. */
export interface RunResult {
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
  status: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

/** Runs under way, so that an interrupted bench can kill them. */
const activeRuns = new Map<number, Invocation>();

/**
 * Kills the process group of every run under way and runs its cleanup. gVisor's sandbox
 * process has a process group of its own, which only the cleanup (runsc delete) reaches.
 */
export function killActiveRuns(): void {
  for (const [pid, invocation] of activeRuns) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // The group has already exited.
    }
    invocation.cleanup?.();
  }
  activeRuns.clear();
}

/** Output beyond this many bytes per stream is dropped: workloads pipe bulk output into wc. */
const maxCapturedBytes = 1024 * 1024;

function collect(stream: NodeJS.ReadableStream, chunks: Buffer[]): void {
  let size = 0;
  stream.on('data', (chunk: Buffer) => {
    if (size < maxCapturedBytes) chunks.push(chunk);
    size += chunk.length;
  });
}

/**
 * Runs an invocation in its own process group with stdin closed, and kills the whole group
 * with SIGKILL once `timeoutSeconds` have passed.
 */
export function runTimed(invocation: Invocation, timeoutSeconds: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const start = process.hrtime.bigint();
    let ms = 0;
    let timedOut = false;
    const child = spawn(invocation.command, invocation.args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...invocation.env },
    });
    if (child.pid !== undefined) activeRuns.set(child.pid, invocation);
    collect(child.stdout, stdout);
    collect(child.stderr, stderr);
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group has already exited.
        }
      }
    }, timeoutSeconds * 1000);
    child.on('exit', () => {
      ms = Number(process.hrtime.bigint() - start) / 1e6;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      if (child.pid !== undefined) activeRuns.delete(child.pid);
      reject(new Error(`failed to start ${invocation.command}: ${error.message}`));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (child.pid !== undefined) activeRuns.delete(child.pid);
      if (timedOut) invocation.cleanup?.();
      const result = {
        ms,
        status,
        signal,
        timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
      Promise.resolve(invocation.settle?.()).then(() => resolve(result), reject);
    });
  });
}

/** Describes a failed run in one line: the exit status or signal and the end of stderr. */
export function describeFailure(result: RunResult, timeoutSeconds: number): string {
  const lines = result.stderr
    .split('\n')
    // Drop the glog prefix (severity, date, time, thread, file:line) that runsc puts on its lines.
    .map((line) => line.replace(/^[IWEF]\d{4} [\d:.]+\s+\d+ \S+\] /, '').trim())
    .filter((line) => line !== '' && !line.startsWith('noah: stats'));
  const tail = lines.slice(-3).join(' | ');
  let outcome: string;
  if (result.timedOut) outcome = `timed out after ${timeoutSeconds} s`;
  else if (result.signal !== null) outcome = `killed by ${result.signal}`;
  else outcome = `exit status ${result.status}`;
  return tail === '' ? outcome : `${outcome}: ${tail}`;
}
