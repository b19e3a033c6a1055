import { ChildProcess, spawn, StdioOptions } from 'node:child_process';
import { Writable } from 'node:stream';
import * as fs from 'node:fs';
import { translatorPath } from '../native';
import { CliError } from '../cli/errors';
import { constants } from 'node:os';
import { prlimitArgs, Rlimit } from './limits';

/** One entry of the translator's mount table. */
export interface TranslatorMount {
  type: 'bind' | 'tmpfs';
  source: string; // host path; for tmpfs an empty folder private to the container
  target: string; // guest path
  readonly: boolean;
}

/** The guest's user: real, effective and saved ids, and supplementary groups. */
export interface TranslatorUser {
  uid: number;
  gid: number;
  groups: number[];
}

/** What the translator needs to start one guest program. */
export interface TranslatorLaunch {
  rootfs: string; // host folder that is the guest's "/"
  argv: string[]; // argv[0] is the program, resolved through PATH inside the root
  env: string[]; // NAME=VALUE, the guest's whole environment
  cwd: string; // guest path
  trace?: boolean;
  readOnly?: boolean; // every change to a file under the root fails with EROFS
  sharedInodes?: string; // file of inode numbers the root shares with the image tree
  mounts?: TranslatorMount[];
  hostname?: string;
  user?: TranslatorUser;
  containerDir?: string; // host folder where the container's translator processes register
  tty?: boolean; // give the program a pseudo-terminal
  rlimits?: Rlimit[]; // resource limits, set through prlimit(1)
  readyFd?: number; // descriptor the translator writes one byte to once the program is loaded
}

/**
 * Builds the translator's command line for `launch`. The environment goes on descriptor
 * `envFd` (--env-fd): values such as passwords stay out of the command line, which every host
 * user can read.
 */
export function translatorArgs(launch: TranslatorLaunch, envFd: number): string[] {
  const args = ['--root', launch.rootfs, '--cwd', launch.cwd, '--env-fd', String(envFd)];
  if (launch.trace) args.push('--trace');
  if (launch.readOnly) args.push('--read-only');
  if (launch.sharedInodes !== undefined) args.push('--shared-inodes', launch.sharedInodes);
  for (const mount of launch.mounts ?? []) args.push('--mount', mountArgument(mount));
  if (launch.hostname !== undefined) args.push('--hostname', launch.hostname);
  if (launch.user !== undefined) args.push('--user', userArgument(launch.user));
  if (launch.containerDir !== undefined) args.push('--container-dir', launch.containerDir);
  if (launch.tty) args.push('--tty');
  if (launch.readyFd !== undefined) args.push('--ready-fd', String(launch.readyFd));
  args.push('--', ...launch.argv);
  return args;
}

function mountArgument(mount: TranslatorMount): string {
  for (const value of [mount.source, mount.target]) {
    // The translator splits the value at commas, so a path with one cannot be passed.
    if (value.includes(',')) throw new CliError(`mount path ${value} contains a comma`);
  }
  const fields = [`type=${mount.type}`, `source=${mount.source}`, `target=${mount.target}`];
  if (mount.readonly) fields.push('readonly');
  return fields.join(',');
}

function userArgument(user: TranslatorUser): string {
  const text = `${user.uid}:${user.gid}`;
  return user.groups.length === 0 ? text : `${text}:${user.groups.join(',')}`;
}

function requireTranslator(): string {
  const executable = translatorPath();
  if (!fs.existsSync(executable)) {
    throw new CliError(`translator not found at ${executable}: run "npm install" to build it`);
  }
  return executable;
}

/** Converts a process's end to an exit status as a shell reports it: 128+N when signal N ended it. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 125;
}

/**
 * Starts the translator for `launch`. `detached` puts it in a new session and process group,
 * so that a signal to the group reaches every translator process of the container.
 */
export function spawnTranslator(
  launch: TranslatorLaunch,
  stdio: StdioOptions,
  detached = false,
): ChildProcess {
  const executable = requireTranslator();
  // The environment goes on the descriptor after the caller's.
  const entries = typeof stdio === 'string' ? [stdio, stdio, stdio] : [...stdio];
  const envFd = entries.length;
  const options = { stdio: [...entries, 'pipe'] as StdioOptions, detached };
  const args = translatorArgs(launch, envFd);
  // Limits above the host's were reported when the container was created.
  const limits = prlimitArgs(launch.rlimits ?? [], () => undefined);
  const child =
    limits.length > 0
      ? spawn('prlimit', [...limits, executable, ...args], options)
      : spawn(executable, args, options);
  sendEnvironment(child, envFd, launch.env);
  return child;
}

/** Writes `env` to the child's descriptor `fd` for --env-fd, each entry ending in a NUL byte. */
export function sendEnvironment(child: ChildProcess, fd: number, env: string[]): void {
  const pipe = child.stdio[fd] as Writable | null | undefined;
  if (pipe === null || pipe === undefined) return;
  // A translator that failed before reading gives EPIPE, and its exit status reports why.
  pipe.on('error', () => undefined);
  pipe.end(env.map((entry) => `${entry}\0`).join(''));
}

/**
 * Waits for a translator started by `spawnTranslator` and resolves to the guest's exit status.
 * Signals that end a foreground program are passed on to the guest while it runs.
 */
export function waitForTranslator(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    // Ctrl-C reaches the whole foreground process group, so the guest gets it directly;
    // these handlers keep Node alive to report the guest's status.
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
    const ignore = () => {};
    for (const signal of signals) process.on(signal, signal === 'SIGINT' ? ignore : forward);
    child.on('error', (error) =>
      reject(new CliError(`start ${translatorPath()}: ${error.message}`)),
    );
    child.on('exit', (code, signal) => {
      for (const s of signals) process.removeAllListeners(s);
      resolve(exitStatusOf(code, signal));
    });
  });
}

/**
 * Runs the translator with this process's stdin, stdout and stderr and resolves to the
 * guest's exit status, 128+N when signal N ended it, as a shell reports it.
 */
export function runTranslator(launch: TranslatorLaunch): Promise<number> {
  return waitForTranslator(spawnTranslator(launch, 'inherit'));
}
