import { spawn, StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnTranslator, waitForTranslator } from '../runtime/translator';
import { AttachedOutput } from './attach';
import { ContainerError } from './errors';
import { containerLaunch } from './launch';
import { LogTimeRecorder } from './log-times';
import { resetTmpfsFolders } from './mounts';
import { parseSignal, processesWithArgument, processStartTime, sendSignal, sleep } from './process';
import { Container, ContainerStore, isSameProcess } from './store';

const POLL_MS = 50;

/**
 * Starts the container's command under the store lock, so two starts of one container cannot
 * both run it, and records it as running with `supervisorPid` as the process that will record
 * its exit.
 */
async function launchRecorded(
  store: ContainerStore,
  id: string,
  stdio: StdioOptions,
  ownProcessGroup: boolean,
): Promise<{ exited: Promise<number>; container: Container }> {
  return store.images.withLock(async () => {
    const container = await store.read(id);
    if (container === undefined) throw new ContainerError(`No such container: ${id}`, 1);
    if (container.state.status === 'running') {
      throw new ContainerError(`container ${container.config.name} is already running`, 1);
    }
    resetTmpfsFolders(container.config.mounts);
    const child = spawnTranslator(containerLaunch(store, container.config), stdio, ownProcessGroup);
    // Listen for the exit now: a command as short as `true` can end while the state is
    // written, and Node does not repeat an 'exit' event for a listener added later.
    const exited = waitForTranslator(child);
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
    return { exited, container: { ...container, state } };
  });
}

/**
 * Records the exit status of the container's command, and removes it when --rm asked. The
 * container's other processes (from `noah exec`, or left in the background) are killed first,
 * as the end of a container's first process ends all of them in Docker.
 */
async function recordExit(
  store: ContainerStore,
  container: Container,
  status: number,
  output?: AttachedOutput,
) {
  for (const pid of containerProcesses(store, container)) sendSignal(pid, 'SIGKILL');
  // The last output must be in the log before the exit is, for a `noah logs` that follows.
  await output?.finish();
  await store.updateState(container.config.id, (state) => {
    state.status = 'exited';
    state.exitCode = status;
    state.finishedAt = new Date().toISOString();
    state.exitRecorded = true;
  });
  if (container.config.autoRemove) await store.remove(container.config.id);
}

/**
 * Runs the container's command attached to this process's stdin (with -i or -t, or
 * `interactive`), stdout and stderr, and resolves to its exit status. The output also goes to
 * the container's logs (AttachedOutput); with -t the translator relays the pseudo-terminal's
 * output into the same pipes. This process is the supervisor: it records the exit. The
 * translator stays in this process group, so the terminal's job control and window-size
 * signals reach it.
 */
export async function startAttached(
  store: ContainerStore,
  id: string,
  interactive = false,
): Promise<number> {
  const container = await store.get(id);
  const attachStdin = interactive || container.config.interactive || container.config.tty;
  const copied = new AttachedOutput(store.dir(id), new LogTimeRecorder(store.dir(id)));
  const stdio: StdioOptions = [attachStdin ? 'inherit' : 'ignore', ...copied.childEnds];
  let launched;
  try {
    launched = await launchRecorded(store, container.config.id, stdio, false);
  } catch (error) {
    copied.start(false);
    throw error;
  }
  copied.start(true);
  let status: number;
  try {
    status = await launched.exited;
  } catch (error) {
    await recordExit(store, launched.container, 125, copied);
    throw error;
  }
  await recordExit(store, launched.container, status, copied);
  return status;
}

/**
 * Runs the container's command in the calling supervisor process with stdout and stderr
 * appended to the container's logs, in a process group of its own, and records its exit.
 */
export async function superviseDetached(store: ContainerStore, id: string): Promise<void> {
  const dir = store.dir(id);
  const stdout = fs.openSync(path.join(dir, 'stdout.log'), 'a');
  const stderr = fs.openSync(path.join(dir, 'stderr.log'), 'a');
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
  let status: number;
  try {
    status = await launched.exited;
  } catch (error) {
    logTimes.stop();
    await recordExit(store, launched.container, 125);
    throw error;
  }
  logTimes.stop();
  await recordExit(store, launched.container, status);
}

/**
 * Starts a detached supervisor for the container and waits until it has recorded the start
 * (or an early exit). The supervisor is noah's own supervisor.js, run by this Node binary in a
 * new session so that it outlives this process and the terminal.
 */
export async function startDetached(store: ContainerStore, id: string): Promise<void> {
  const container = await store.get(id);
  if (container.state.status === 'running') return;
  const script = path.join(__dirname, 'supervisor.js');
  const supervisor = spawn(process.execPath, [script, container.config.id], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, NOAH_HOME: path.dirname(store.root) },
  });
  const supervisorPid = supervisor.pid ?? 0;
  supervisor.unref();
  const before = container.state.startedAt;
  for (;;) {
    const now = await store.read(container.config.id);
    if (now === undefined) return; // an --rm container that has ended and been removed
    if (now.state.startedAt !== before) return;
    if (!isSameProcess(supervisorPid, 0)) {
      throw new ContainerError(
        `the supervisor of container ${container.config.name} ended before starting it: ` +
          `see ${path.join(store.dir(container.config.id), 'stderr.log')}`,
      );
    }
    await sleep(POLL_MS);
  }
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
