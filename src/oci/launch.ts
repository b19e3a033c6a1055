/**
 * Starting the translator for a container's process: its command line from the container's
 * shared flags and the process object, and the two ways it runs, detached (create, exec
 * --detach) or in the foreground (run, exec).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { Readable } from 'node:stream';

import { translatorPath } from '../native';
import { ProcessSpec } from './config';
import { OciError } from './errors';
import { prlimitArgs } from '../runtime/limits';
import { sendEnvironment } from '../runtime/translator';
import { Logger } from './log';
import { ContainerLaunch } from './state';

/** The descriptor on which the translator reports that set-up succeeded (--ready-fd). */
const readyFd = 3;
/** The descriptor of the process's environment (--env-fd), kept out of the command line. */
const envFd = 4;

/** The options of one launch beyond the process object. */
export interface LaunchOptions {
  waitFifo?: string; // hold the program until `start` opens this FIFO
  consoleSocket?: string; // send the terminal's master there (process.terminal)
  tty?: boolean; // relay the terminal to this process's stdin and stdout instead
}

/** Builds the translator's flags and program for `processSpec` in `container`. */
export function translatorArgs(
  container: ContainerLaunch,
  processSpec: ProcessSpec,
  options: LaunchOptions,
): string[] {
  const args = ['--root', container.rootfs, '--cwd', processSpec.cwd];
  if (container.readOnly) args.push('--read-only');
  if (container.hostname !== undefined && container.hostname !== '') {
    args.push('--hostname', container.hostname);
  }
  for (const mount of container.mounts) args.push('--mount', mount);
  const { uid, gid, additionalGids = [] } = processSpec.user;
  if (uid !== 0 || gid !== 0 || additionalGids.length > 0) {
    const groups = additionalGids.length > 0 ? `:${additionalGids.join(',')}` : '';
    args.push('--user', `${uid}:${gid}${groups}`);
  }
  args.push('--env-fd', String(envFd));
  if (options.tty === true) args.push('--tty');
  if (options.consoleSocket !== undefined) {
    args.push('--console-socket', options.consoleSocket);
    const size = processSpec.consoleSize;
    if (size !== undefined && size.height > 0 && size.width > 0) {
      args.push('--console-size', `${size.height}x${size.width}`);
    }
  }
  if (options.waitFifo !== undefined) args.push('--wait-fifo', options.waitFifo);
  args.push('--', ...processSpec.args);
  return args;
}

/** Returns the executable and arguments that run the translator with the process's rlimits. */
function command(args: string[], processSpec: ProcessSpec, logger: Logger): [string, string[]] {
  const translator = translatorPath();
  if (!fs.existsSync(translator)) {
    throw new OciError(`translator not found at ${translator}: run "npm install" to build it`);
  }
  const limits = prlimitArgs(processSpec.rlimits ?? [], (message) => logger.warn(message));
  if (limits.length === 0) return [translator, args];
  return ['prlimit', [...limits, translator, ...args]];
}

/**
 * Starts the translator in its own session and process group, with this process's stdin,
 * stdout and stderr, and resolves once it reports that set-up succeeded. A caller that exits
 * without waiting (create, exec --detach) calls `unref()`: the translator lives on as the
 * container's process.
 */
export async function startDetached(
  args: string[],
  processSpec: ProcessSpec,
  logger: Logger,
): Promise<ChildProcess> {
  const [executable, argv] = command([`--ready-fd`, String(readyFd), ...args], processSpec, logger);
  logger.debug(`start ${executable} ${argv.join(' ')}`);
  const child = spawn(executable, argv, {
    detached: true,
    stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
  });
  sendEnvironment(child, envFd, processSpec.env ?? []);
  const ready = await waitForReady(child);
  if (!ready.ok) throw new OciError(`container process failed to start: ${ready.reason}`);
  return child;
}

/** Resolves to the exit status of `child` as a shell reports it: 128+N for signal N. */
export function exitStatus(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) {
    return Promise.resolve(128 + (constants.signals[child.signalCode] ?? 0));
  }
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      if (signal !== null) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 255);
    });
  });
}

/** Passes the signals this process receives on to `pid` until the returned function runs. */
export function forwardSignals(pid: number): () => void {
  const signals: NodeJS.Signals[] = [
    'SIGINT',
    'SIGTERM',
    'SIGHUP',
    'SIGQUIT',
    'SIGUSR1',
    'SIGUSR2',
  ];
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // The process has exited; its exit status is on the way.
    }
  };
  for (const signal of signals) process.on(signal, forward);
  return () => {
    for (const signal of signals) process.removeListener(signal, forward);
  };
}

/** Explains a translator's exit status during set-up; its own message is on stderr. */
function translatorFailure(code: number): string {
  const meanings: Record<number, string> = {
    125: 'the translator failed',
    126: 'the program cannot be executed',
    127: 'executable file not found',
  };
  const meaning = meanings[code];
  return `translator exit status ${code}${meaning === undefined ? '' : ` (${meaning})`}`;
}

/**
 * Resolves once the translator wrote its ready byte, or failed: its end of the pipe closed
 * without a byte. The pipe decides, not the exit event, because a short program (exec --detach
 * true) may exit right after a successful set-up, and Node may report the exit first.
 */
function waitForReady(child: ChildProcess): Promise<{ ok: boolean; reason: string }> {
  const pipe = child.stdio[readyFd] as Readable;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean, reason: string) => {
      if (settled) return;
      settled = true;
      pipe.destroy();
      resolve({ ok, reason });
    };
    pipe.on('data', () => settle(true, ''));
    pipe.on('error', (error) => settle(false, error.message));
    pipe.on('end', () => {
      void exitStatus(child).then((status) => {
        const reason =
          status > 128 ? `killed by signal ${status - 128}` : translatorFailure(status);
        settle(false, reason);
      });
    });
    child.on('error', (error) => settle(false, error.message));
  });
}

/**
 * Runs the translator in the foreground with this process's stdio, passing on the signals
 * this process receives, and resolves to the program's exit status (128+N for signal N).
 * `onStart` gets the pid once the process exists.
 */
export async function runForeground(
  args: string[],
  processSpec: ProcessSpec,
  logger: Logger,
  onStart: (pid: number) => void,
): Promise<number> {
  const [executable, argv] = command(args, processSpec, logger);
  logger.debug(`run ${executable} ${argv.join(' ')}`);
  const child = spawn(executable, argv, {
    stdio: ['inherit', 'inherit', 'inherit', 'ignore', 'pipe'],
  });
  sendEnvironment(child, envFd, processSpec.env ?? []);
  await new Promise<void>((resolve, reject) => {
    child.on('spawn', resolve);
    child.on('error', (error) => reject(new OciError(`start ${executable}: ${error.message}`)));
  });
  onStart(child.pid!);
  const stopForwarding = forwardSignals(child.pid!);
  const status = await exitStatus(child);
  stopForwarding();
  return status;
}
