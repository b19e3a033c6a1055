/**
 * Container records under the store, one folder per container:
 *
 *   containers/ID/container.json   the configuration, fixed at create time (ContainerConfig);
 *                                  its "image" field is what `noah rmi` checks.
 *   containers/ID/state.json       created, running or exited, pids, exit code and times.
 *   containers/ID/rootfs/          the container's root: a hardlink farm of the image tree
 *                                  when the translator copies shared files up, else absent and
 *                                  the image tree is used read-only.
 *   containers/ID/shared-inodes    inode numbers rootfs/ shares with the image tree.
 *   containers/ID/hosts, hostname, resolv.conf   bind-mounted over the guest's /etc files.
 *   containers/ID/stdout.log, stderr.log          output of a detached container.
 *   containers/ID/log-times        when the logs grew, for `noah logs -t` (see log-times.ts).
 *   containers/ID/tmpfs/N/         the host folder behind the Nth tmpfs mount.
 *   containers/ID/processes/       the translator's --container-dir.
 *   tmp/PID-RANDOM-wait-ID         a `noah wait` on container ID, filled with its exit status.
 *
 * A container is assembled under tmp/ and renamed into containers/ complete, and removed by a
 * rename back into tmp/ before its files are deleted, so a crash never leaves half of one.
 * Changes to the set of containers and to state.json happen under the store lock.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Digest } from '../image/digest';
import { isErrno, Store, writeFileAtomic } from '../image/store';
import { Rlimit } from '../runtime/limits';
import { TranslatorUser } from '../runtime/translator';
import { ContainerError } from './errors';
import { ContainerMount } from './mounts';
import { processAlive, processStartTime } from './process';

/** A container's configuration: what it runs and how, fixed when it is created. */
export interface ContainerConfig {
  id: string; // 64 hex digits
  name: string;
  created: string; // ISO 8601
  image: Digest; // the image ID, which `noah rmi` looks for
  imageName: string; // the reference as the user typed it
  chainId: Digest; // the image tree the root was cloned from
  entrypoint: string[];
  cmd: string[];
  argv: string[]; // the merged command line the container runs
  env: string[];
  workingDir: string;
  user: string; // as given to -u or by the image, "" for root
  resolvedUser: TranslatorUser;
  hostname: string;
  mounts: ContainerMount[];
  readOnly: boolean;
  tty: boolean;
  interactive: boolean;
  stopSignal: string;
  autoRemove: boolean;
  ulimits?: Rlimit[]; // from --ulimit; absent in records made before it existed
  labels?: Record<string, string>; // the image's and -l's; absent in records made before them
  extraHosts?: string[]; // --add-host values as given; absent in records made before them
}

export type ContainerStatus = 'created' | 'running' | 'exited';

/** A container's run state, as state.json stores it. */
export interface ContainerState {
  status: ContainerStatus;
  pid: number; // the translator of the container's first process, 0 when none
  pidStartTime: number; // its start time in clock ticks after boot, to detect pid reuse
  supervisorPid: number; // the noah process that waits for the translator and records its exit
  supervisorStartTime: number;
  ownProcessGroup: boolean; // the translator leads a process group of its own
  exitCode: number;
  startedAt: string; // ISO 8601, "" before the first start
  finishedAt: string;
  exitRecorded: boolean; // false when the exit code was inferred after the processes vanished
}

/** One container: its configuration, state and folder. */
export interface Container {
  config: ContainerConfig;
  state: ContainerState;
  dir: string;
}

/**
 * The exit code shown for a container whose processes are all gone without one being
 * recorded: both noah's supervisor and the translator were killed, which takes SIGKILL (kill
 * -9, the OOM killer) or a host crash, so it is shown as a SIGKILL death, 128+9.
 */
export const UNRECORDED_EXIT_CODE = 137;

export function newState(): ContainerState {
  return {
    status: 'created',
    pid: 0,
    pidStartTime: 0,
    supervisorPid: 0,
    supervisorStartTime: 0,
    ownProcessGroup: false,
    exitCode: 0,
    startedAt: '',
    finishedAt: '',
    exitRecorded: true,
  };
}

/** Access to the containers/ folder of a store. */
export class ContainerStore {
  constructor(readonly images: Store) {}

  get root(): string {
    return this.images.containersDir;
  }

  dir(id: string): string {
    return path.join(this.root, id);
  }

  /** Creates containers/ when missing; the store's own folders exist already. */
  async ensureRoot(): Promise<void> {
    try {
      await fsp.mkdir(this.root);
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
  }

  /** A new random container ID of 64 hex digits, as Docker's. */
  static newId(): string {
    return randomBytes(32).toString('hex');
  }

  async ids(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.root)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
  }

  /** Reads a container, or undefined when it does not exist (or was removed meanwhile). */
  async read(id: string): Promise<Container | undefined> {
    const dir = this.dir(id);
    try {
      const config = JSON.parse(
        await fsp.readFile(path.join(dir, 'container.json'), 'utf8'),
      ) as ContainerConfig;
      const state = JSON.parse(
        await fsp.readFile(path.join(dir, 'state.json'), 'utf8'),
      ) as ContainerState;
      return { config, state: observedState(state), dir };
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw new ContainerError(`container record ${dir}: ${(error as Error).message}`);
    }
  }

  /** Lists every container, newest first, as `docker ps` does. */
  async list(): Promise<Container[]> {
    const containers: Container[] = [];
    for (const id of await this.ids()) {
      // NOTE: a folder whose records do not parse (changed by hand, or a damaged disk) is left
      // out, so it cannot hide the others; `noah rm FULL-ID` still removes it.
      const container = await this.read(id).catch((error: unknown) => {
        if (error instanceof ContainerError) return undefined;
        throw error;
      });
      if (container !== undefined) containers.push(container);
    }
    return containers.sort((a, b) => b.config.created.localeCompare(a.config.created));
  }

  /**
   * Finds a container by full ID, name or unique ID prefix, as Docker does, or returns
   * undefined. An ambiguous prefix is an error.
   */
  async find(text: string): Promise<Container | undefined> {
    const all = await this.list();
    const exact = all.find((c) => c.config.id === text || c.config.name === text);
    if (exact !== undefined) return exact;
    if (!/^[0-9a-f]+$/.test(text)) return undefined;
    const matches = all.filter((c) => c.config.id.startsWith(text));
    if (matches.length > 1) {
      throw new ContainerError(`multiple containers match the ID prefix ${text}: give more digits`);
    }
    return matches[0];
  }

  /** As `find`, raising "No such container" (status 1, as Docker's) when none matches. */
  async get(text: string): Promise<Container> {
    const container = await this.find(text);
    if (container === undefined) throw new ContainerError(`No such container: ${text}`, 1);
    return container;
  }

  /** Writes state.json atomically; call with the store lock held. */
  async writeState(id: string, state: ContainerState): Promise<void> {
    const text = JSON.stringify(state, null, 2) + '\n';
    const file = path.join(this.dir(id), 'state.json');
    await writeFileAtomic(file, text, this.images.temporaryPath('state'), 0o644);
  }

  /**
   * Reads the state under the store lock, applies `change` and writes it back. Resolves to
   * undefined, writing nothing, when the container was removed meanwhile. With `exitCode`, the
   * waiter files of `noah wait` commands get it under the same lock (`addWaiter`).
   */
  async updateState(
    id: string,
    change: (state: ContainerState) => void,
    exitCode?: number,
  ): Promise<ContainerState | undefined> {
    return this.images.withLock(async () => {
      const container = await this.read(id);
      if (container === undefined) return undefined;
      change(container.state);
      await this.writeState(id, container.state);
      if (exitCode !== undefined) await this.fillWaiters(id, exitCode);
      return container.state;
    });
  }

  /**
   * Registers this process as waiting for the exit of container `id`, so that an exit recorded
   * later reaches it even when --rm removes the container first. The waiter file is
   * tmp/PID-RANDOM-wait-ID, which the exit fills with the status. Returns the file, or
   * undefined when the container no longer exists. A waiter that dies leaves its file to the
   * next store user, which removes files of processes that have ended.
   */
  async addWaiter(id: string): Promise<string | undefined> {
    const file = this.images.temporaryPath(`wait-${id}`);
    return this.images.withLock(async () => {
      if ((await this.read(id)) === undefined) return undefined;
      await fsp.writeFile(file, '');
      return file;
    });
  }

  /** Returns the exit status that `fillWaiters` wrote to `file`, or undefined before that. */
  async readWaiter(file: string): Promise<number | undefined> {
    const text = await fsp.readFile(file, 'utf8').catch(() => '');
    return /^[0-9]+\n$/.test(text) ? Number(text) : undefined;
  }

  /** Writes `exitCode` to every waiter file of container `id`; call with the store lock held. */
  private async fillWaiters(id: string, exitCode: number): Promise<void> {
    const suffix = `-wait-${id}`;
    for (const name of await fsp.readdir(this.images.tmpDir)) {
      if (!name.endsWith(suffix)) continue;
      // Written whole and renamed, so a waiter never reads half a number.
      const file = path.join(this.images.tmpDir, name);
      await writeFileAtomic(file, `${exitCode}\n`, this.images.temporaryPath('wait-status'), 0o644);
    }
  }

  /**
   * Moves a container folder assembled in tmp/ into place, unless another container has its
   * name, which is an error (status 125) that leaves nothing behind. `rename`, given for a
   * generated name, picks another name instead; the folder's container.json is then rewritten.
   */
  async commit(
    folder: string,
    config: ContainerConfig,
    rename?: (taken: Set<string>) => string,
  ): Promise<void> {
    await this.ensureRoot();
    await this.images.withLock(async () => {
      const containers = await this.list();
      const holder = containers.find((c) => c.config.name === config.name);
      if (holder !== undefined) {
        if (rename === undefined) throw nameConflict(config.name, holder.config.id);
        config.name = rename(new Set(containers.map((c) => c.config.name)));
        const text = JSON.stringify(config, null, 2) + '\n';
        await fsp.writeFile(path.join(folder, 'container.json'), text);
      }
      await fsp.rename(folder, this.dir(config.id));
    });
  }

  /** Checks that no container has `name`, before the slow work of creating one. */
  async checkNameFree(name: string): Promise<void> {
    const holder = (await this.list()).find((c) => c.config.name === name);
    if (holder !== undefined) throw nameConflict(name, holder.config.id);
  }

  /**
   * Removes a container's folder: renamed into tmp/ under the lock, so that it is gone for
   * every other command at once, and deleted there in the background.
   */
  async remove(id: string): Promise<void> {
    await this.images.discard(this.dir(id), 'removed-container');
  }

  /** Returns the container's root folder, its copy-on-write clone of the image tree. */
  rootfs(config: ContainerConfig): string {
    return path.join(this.dir(config.id), 'rootfs');
  }
}

function nameConflict(name: string, id: string): ContainerError {
  return new ContainerError(
    `the container name "/${name}" is already in use by container ${id}: remove that ` +
      'container to reuse the name, or choose another',
  );
}

/**
 * The state as it is now: a container recorded as running whose translator and supervisor
 * are both gone (killed with SIGKILL, or the host crashed) is exited, with the code
 * `UNRECORDED_EXIT_CODE`. The file itself is left for the next writer.
 */
export function observedState(state: ContainerState): ContainerState {
  if (state.status !== 'running') return state;
  if (isSameProcess(state.pid, state.pidStartTime)) return state;
  if (isSameProcess(state.supervisorPid, state.supervisorStartTime)) {
    // The translator has ended and its supervisor is about to record the status.
    return state;
  }
  // NOTE: only the supervisor can collect the translator's status, so a translator that
  // outlived a killed supervisor shows this code even when its program exited normally.
  return {
    ...state,
    status: 'exited',
    exitCode: UNRECORDED_EXIT_CODE,
    finishedAt: state.finishedAt || new Date().toISOString(),
    exitRecorded: false,
  };
}

/** Whether `pid` runs and is the process that started at `startTime`, not a reuse of its pid. */
export function isSameProcess(pid: number, startTime: number): boolean {
  if (pid <= 0 || !processAlive(pid)) return false;
  const now = processStartTime(pid);
  return now === undefined || startTime === 0 || now === startTime;
}
