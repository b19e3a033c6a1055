import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { spawnTranslator, waitForTranslator } from '../runtime/translator';
import { AttachedOutput } from './attach';
import { ContainerError } from './errors';
import { containerLaunch } from './launch';
import { LogTimeRecorder } from './log-times';
import { resetTmpfsFolders } from './mounts';
import { parseSignal, processesWithArgument, processStartTime, sendSignal, sleep } from './process';
import { Container, ContainerStore, isSameProcess } from './store';

const POLL_MS = 50;

/** One entry of a child's stdio, as spawn takes it: a descriptor number or how to set it up. */
type StdioEntry = 'inherit' | 'ignore' | 'pipe' | number;

/**
 * The report of a detached supervisor to `startDetached`: the program was loaded, or the
 * translator ended before that with `status` and printed `message`.
 */
export type StartReport = { loaded: true } | { loaded: false; status: number; message: string };

/**
 * Starts the container's command under the store lock, so two starts of one container cannot
 * both run it, and records it as running with this process as the one that will record its
 * exit. `loaded` resolves to true once the translator has loaded the program (--ready-fd on
 * the descriptor after `stdio`), and to false when it ends before that.
 */
async function launchRecorded(
  store: ContainerStore,
  id: string,
  stdio: StdioEntry[],
  ownProcessGroup: boolean,
  trace = false,
): Promise<{ exited: Promise<number>; loaded: Promise<boolean>; container: Container }> {
  return store.images.withLock(async () => {
    const container = await store.read(id);
    if (container === undefined) throw new ContainerError(`No such container: ${id}`, 1);
    if (container.state.status === 'running') {
      throw new ContainerError(`container ${container.config.name} is already running`, 1);
    }
    resetTmpfsFolders(container.config.mounts);
    const launch = { ...containerLaunch(store, container.config), readyFd: stdio.length };
    if (trace) launch.trace = true;
    const child = spawnTranslator(launch, [...stdio, 'pipe'], ownProcessGroup);
    // Listen for the exit now: a command as short as `true` can end while the state is
    // written, and Node does not repeat an 'exit' event for a listener added later.
    const exited = waitForTranslator(child);
    const loaded = waitForReadyByte(child.stdio[stdio.length] as Readable | null);
    const pid = child.pid ?? 0;
    const state = {
      ...container.state,
      status: 'running' as const,
      pid,
      pidStartTime: processStartTime(pid) ?? 0,
      supervisorPid: process.pid,
      supervisorStartTime: processStartTime(process.pid) ?? 0,
      ownProcessGroup,
      exitCode: 0,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      exitRecorded: true,
    };
    try {
      await store.writeState(id, state);
    } catch (error) {
      // A command with no record of it running could never be stopped or waited for.
      child.kill('SIGKILL');
      await exited.catch(() => undefined);
      throw error;
    }
    return { exited, loaded, container: { ...container, state } };
  });
}

/** Resolves to true when the translator writes its ready byte, false at end of file. */
function waitForReadyByte(pipe: Readable | null): Promise<boolean> {
  if (pipe === null) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ready: boolean) => {
      if (settled) return;
      settled = true;
      pipe.destroy();
      resolve(ready);
    };
    pipe.on('data', () => settle(true));
    pipe.on('end', () => settle(false));
    pipe.on('error', () => settle(false));
    pipe.on('close', () => settle(false));
  });
}

/**
 * Records the exit status of the container's command, and removes it when --rm asked. The
 * container's other processes (from `noah exec`, or left in the background) are killed first,
 * as the end of a container's first process ends all of them in Docker. A command that was
 * never loaded (`loaded` false: not found, not executable) leaves the container created with
 * that exit code, as Docker shows a container whose start failed.
 */
async function recordExit(
  store: ContainerStore,
  container: Container,
  status: number,
  loaded: boolean,
  output?: AttachedOutput,
) {
  for (const pid of containerProcesses(store, container)) sendSignal(pid, 'SIGKILL');
  // The last output must be in the log before the exit is, for a `noah logs` that follows.
  await output?.finish();
  await store.updateState(
    container.config.id,
    (state) => {
      state.status = loaded ? 'exited' : 'created';
      state.exitCode = status;
      state.finishedAt = new Date().toISOString();
      state.exitRecorded = true;
    },
    status,
  );
  if (container.config.autoRemove) await store.remove(container.config.id);
}

/**
 * Runs the container's command attached to this process's stdin (with -i or -t, or
 * `interactive`), stdout and stderr, and resolves to its exit status. The output also goes to
 * the container's logs (AttachedOutput); with -t the translator relays the pseudo-terminal's
 * output into the same pipes. This process is the supervisor: it records the exit. The
 * translator stays in this process group, so the terminal's job control and window-size
 * signals reach it. `trace` prints each system call to stderr (--trace).
 */
export async function startAttached(
  store: ContainerStore,
  id: string,
  interactive = false,
  trace = false,
): Promise<number> {
  const container = await store.get(id);
  const attachStdin = interactive || container.config.interactive || container.config.tty;
  const copied = new AttachedOutput(store.dir(id), new LogTimeRecorder(store.dir(id)));
  const stdio: StdioEntry[] = [attachStdin ? 'inherit' : 'ignore', ...copied.childEnds];
  let launched;
  try {
    launched = await launchRecorded(store, container.config.id, stdio, false, trace);
  } catch (error) {
    copied.start(false);
    throw error;
  }
  copied.start(true);
  let status: number;
  try {
    status = await launched.exited;
  } catch (error) {
    await recordExit(store, launched.container, 125, await launched.loaded, copied);
    throw error;
  }
  await recordExit(store, launched.container, status, await launched.loaded, copied);
  return status;
}

/**
 * Runs the container's command in the calling supervisor process with stdout and stderr
 * appended to the container's logs, in a process group of its own, and records its exit.
 * `report` gets whether the translator loaded the program, with its status and error message
 * when it did not.
 */
export async function superviseDetached(
  store: ContainerStore,
  id: string,
  report: (outcome: StartReport) => void,
): Promise<void> {
  const dir = store.dir(id);
  const stdoutLog = path.join(dir, 'stdout.log');
  const stderrLog = path.join(dir, 'stderr.log');
  const stdout = fs.openSync(stdoutLog, 'a');
  const stderr = fs.openSync(stderrLog, 'a');
  // The translator's message about a program it could not load is what it appends to
  // stderr.log, or to stdout.log with -t, where the pseudo-terminal carries both streams.
  const stdoutStart = fs.fstatSync(stdout).size;
  const stderrStart = fs.fstatSync(stderr).size;
  const container = await store.get(id);
  // With -i or -t, stdin is a pipe this process keeps open and never writes, so a shell waits
  // for input as under `docker run -dit` instead of reading end-of-file at once.
  const keepStdin = container.config.interactive || container.config.tty;
  // Watch before the launch, so the first output gets its time too.
  const logTimes = new LogTimeRecorder(dir);
  let launched;
  try {
    launched = await launchRecorded(
      store,
      id,
      [keepStdin ? 'pipe' : 'ignore', stdout, stderr],
      true,
    );
  } catch (error) {
    logTimes.stop();
    throw error;
  } finally {
    fs.closeSync(stdout);
    fs.closeSync(stderr);
  }
  const loaded = await launched.loaded;
  if (loaded) report({ loaded: true });
  let status: number;
  try {
    status = await launched.exited;
  } catch (error) {
    logTimes.stop();
    await recordExit(store, launched.container, 125, loaded);
    throw error;
  }
  logTimes.stop();
  if (!loaded) {
    const output = readFrom(stderrLog, stderrStart) + readFrom(stdoutLog, stdoutStart);
    const message = output.trim() || `the translator exited with status ${status}`;
    await recordExit(store, launched.container, status, loaded);
    report({ loaded: false, status, message });
    return;
  }
  await recordExit(store, launched.container, status, loaded);
}

/** Reads a file from byte `offset` to its end. */
function readFrom(file: string, offset: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    fs.readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** A container's program that the translator could not load; the status is its exit status. */
export class ProgramNotLoadedError extends ContainerError {
  constructor(message: string, exitStatus: number) {
    super(message, exitStatus);
    this.name = 'ProgramNotLoadedError';
  }
}

/**
 * Starts a detached supervisor for the container and waits until the translator has loaded
 * the container's program. The supervisor is noah's own supervisor.js, run by this Node binary
 * in a new session so that it outlives this process and the terminal. It reports through a
 * pipe on its descriptor 3 (`StartReport`, one JSON line).
 *
 * Raises ProgramNotLoadedError, with the translator's exit status (127 not found, 126 not
 * executable) and message, when the program could not be loaded. The container is then left
 * created, as Docker leaves it, or removed with --rm. `trace` traces system calls into
 * stderr.log.
 */
export async function startDetached(
  store: ContainerStore,
  id: string,
  trace = false,
): Promise<void> {
  const container = await store.get(id);
  if (container.state.status === 'running') return;
  const script = path.join(__dirname, 'supervisor.js');
  const env: NodeJS.ProcessEnv = { ...process.env, NOAH_HOME: path.dirname(store.root) };
  // The supervisor's translator reads NOAH_TRACE (containerLaunch), and traces to stderr.log.
  if (trace) env.NOAH_TRACE = '1';
  const supervisor = spawn(process.execPath, [script, container.config.id], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env,
  });
  const text = await readLine(supervisor.stdio[3] as Readable);
  supervisor.unref();
  let report: StartReport | undefined;
  try {
    report = JSON.parse(text) as StartReport;
  } catch {
    report = undefined;
  }
  if (report === undefined) {
    // A supervisor that ends without a report failed, or lost a race to another start of the
    // container. That start ran the command and may have removed an --rm container since.
    const now = await store.read(container.config.id);
    if (now === undefined || now.state.startedAt !== container.state.startedAt) return;
    throw new ContainerError(
      `the supervisor of container ${container.config.name} ended before starting it: ` +
        `see ${path.join(store.dir(container.config.id), 'stderr.log')}`,
    );
  }
  if (!report.loaded) {
    // The CLI adds its own "noah: " before the translator's message.
    throw new ProgramNotLoadedError(report.message.replace(/^noah: /, ''), report.status);
  }
}

/**
 * Reads the first line of `stream`, or what came before its end. The end alone is not enough,
 * because processes that the supervisor starts later (the remover of an --rm container)
 * inherit the write end.
 */
function readLine(stream: Readable): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = () => {
      stream.destroy();
      resolve(text);
    };
    stream.on('data', (data: Buffer) => {
      text += data.toString();
      if (text.includes('\n')) finish();
    });
    stream.on('error', finish);
    stream.on('close', finish);
  });
}

/** Resolves once the container is not running, or to false after `timeoutMs`. */
export async function waitUntilStopped(
  store: ContainerStore,
  id: string,
  timeoutMs = Infinity,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const container = await store.read(id);
    if (container === undefined || container.state.status !== 'running') return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_MS);
  }
}

/**
 * Sends `signal` to the container's first process, as `docker kill` does. SIGKILL goes to
 * every process of the container, `noah exec` ones included, so that all of them end.
 */
export function signalContainer(
  store: ContainerStore,
  container: Container,
  signal: NodeJS.Signals,
): void {
  const { state } = container;
  if (state.status !== 'running') {
    throw new ContainerError(`container ${container.config.name} is not running`, 1);
  }
  sendSignal(state.pid, signal);
  if (signal !== 'SIGKILL') return;
  if (state.ownProcessGroup) sendSignal(state.pid, signal, true);
  for (const pid of containerProcesses(store, container)) sendSignal(pid, signal);
}

/**
 * Finds the translator processes of a container by the --root or --container-dir argument
 * that only its translators have.
 */
function containerProcesses(store: ContainerStore, container: Container): number[] {
  const { config } = container;
  const pids = processesWithArgument('--root', store.rootfs(config));
  const processDir = path.join(store.dir(config.id), 'processes');
  return [...pids, ...processesWithArgument('--container-dir', processDir)];
}

/**
 * Stops a running container as `docker stop` does: its stop signal, then SIGKILL after
 * `timeoutSeconds`. Resolves once the exit is recorded.
 */
export async function stopContainer(
  store: ContainerStore,
  container: Container,
  timeoutSeconds: number,
): Promise<void> {
  if (container.state.status !== 'running') return;
  signalContainer(store, container, parseSignal(container.config.stopSignal));
  if (await waitUntilStopped(store, container.config.id, timeoutSeconds * 1000)) return;
  const now = await store.read(container.config.id);
  if (now !== undefined && now.state.status === 'running') signalContainer(store, now, 'SIGKILL');
  await waitUntilStopped(store, container.config.id);
}

/** Removes a container; a running one only with `force`, which kills it first. */
export async function removeContainer(
  store: ContainerStore,
  container: Container,
  force: boolean,
): Promise<void> {
  if (container.state.status === 'running') {
    if (!force) {
      throw new ContainerError(
        `cannot remove container "/${container.config.name}": container is running: stop the ` +
          'container before removing or force remove',
        1,
      );
    }
    signalContainer(store, container, 'SIGKILL');
    await waitUntilStopped(store, container.config.id);
  }
  await store.remove(container.config.id);
}
