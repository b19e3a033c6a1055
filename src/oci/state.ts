/**
 * Containers on disk: ROOT/ID/state.json and the files beside it. The status is never stored:
 * it is derived each time from the init process (pid and start time), the exec FIFO and the
 * pause marker, so it stays true after the runtime itself crashed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Hook, HookName, ProcessSpec } from './config';
import { OciError } from './errors';
import { isAlive, processTrees, readStat } from './procfs';

export const ociVersion = '1.2.0';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** The translator flags every process of a container shares: root, mounts, identity. */
export interface ContainerLaunch {
  rootfs: string;
  readOnly: boolean;
  hostname?: string;
  mounts: string[]; // values of the translator's --mount
}

/** The record in state.json. */
export interface ContainerRecord {
  id: string;
  pid: number;
  pidStartTime: number;
  bundle: string;
  rootfs: string;
  created: string; // ISO 8601
  owner: string;
  annotations: Record<string, string>;
  hooks: Partial<Record<HookName, Hook[]>>;
  launch: ContainerLaunch;
  process: ProcessSpec; // config.json's, the base of every exec
}

/** The state as the OCI runtime specification defines it, plus runc's extra fields. */
export interface OciState {
  ociVersion: string;
  id: string;
  status: Status;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  owner: string;
}

/**
 * Returns the default --root: /run/noah-oci for root, $XDG_RUNTIME_DIR/noah-oci for other
 * users, or /tmp/noah-oci-UID when that variable is unset.
 */
export function defaultRoot(): string {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  if (process.getuid?.() !== 0 && runtimeDir !== undefined && runtimeDir !== '') {
    return path.join(runtimeDir, 'noah-oci');
  }
  if (process.getuid?.() !== 0) return path.join(os.tmpdir(), `noah-oci-${process.getuid?.()}`);
  return '/run/noah-oci';
}

/** Checks an id as runc does: letters, digits, `_`, `+`, `-` and `.`, not `.` or `..`. */
export function checkId(id: string): void {
  if (!/^[\w+\-.]+$/.test(id) || id === '.' || id === '..') {
    throw new OciError(`invalid container id format: ${id}`);
  }
}

/** A container's folder under --root and the files in it. */
export class ContainerDir {
  readonly directory: string;

  constructor(
    readonly root: string,
    readonly id: string,
  ) {
    checkId(id);
    this.directory = path.join(root, id);
  }

  get stateFile(): string {
    return path.join(this.directory, 'state.json');
  }
  get fifo(): string {
    return path.join(this.directory, 'exec.fifo');
  }
  get pausedMarker(): string {
    return path.join(this.directory, 'paused');
  }
  get execDir(): string {
    return path.join(this.directory, 'execs');
  }

  exists(): boolean {
    return fs.existsSync(this.directory);
  }

  /** Makes the folder, failing as runc does when the id is taken. */
  claim(): void {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      fs.mkdirSync(this.directory, { mode: 0o711 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new OciError('container with given ID already exists');
      }
      throw error;
    }
  }

  /** Writes state.json atomically, so a crash leaves the old or the new file. */
  write(record: ContainerRecord): void {
    const temporary = `${this.stateFile}.${process.pid}`;
    fs.writeFileSync(temporary, JSON.stringify(record));
    fs.renameSync(temporary, this.stateFile);
  }

  /** Reads state.json, or throws runc's error when the container does not exist. */
  read(): ContainerRecord {
    try {
      return JSON.parse(fs.readFileSync(this.stateFile, 'utf8')) as ContainerRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new OciError('container does not exist');
      }
      throw new OciError(`read ${this.stateFile}: ${(error as Error).message}`);
    }
  }

  status(record: ContainerRecord): Status {
    if (!isAlive(record.pid, record.pidStartTime)) return 'stopped';
    if (fs.existsSync(this.fifo)) return 'created';
    if (fs.existsSync(this.pausedMarker)) return 'paused';
    return 'running';
  }

  /** Records a process started by `exec`, so that ps, kill --all and pause find it. */
  addExec(pid: number): void {
    const stat = readStat(pid);
    if (stat === undefined) return;
    fs.mkdirSync(this.execDir, { recursive: true });
    fs.writeFileSync(path.join(this.execDir, String(pid)), String(stat.startTime));
  }

  /** Returns the live processes started by `exec`, and removes the records of ended ones. */
  liveExecs(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.execDir);
    } catch {
      return [];
    }
    const live: number[] = [];
    for (const name of names) {
      const file = path.join(this.execDir, name);
      const startTime = Number(fs.readFileSync(file, 'utf8'));
      if (isAlive(Number(name), startTime)) live.push(Number(name));
      else fs.rmSync(file, { force: true });
    }
    return live;
  }

  /**
   * Returns every host process of the container: the init translator, the processes started by exec,
   * and the processes they forked (each guest process is one host process).
   * TODO: read the translator's per-container process registry (--container-dir) once main has
   * it, which also finds a guest process that left its session and lost its parent.
   */
  processes(record: ContainerRecord): number[] {
    const roots = this.liveExecs();
    if (isAlive(record.pid, record.pidStartTime)) roots.push(record.pid);
    if (roots.length === 0) return [];
    return processTrees(roots);
  }

  remove(): void {
    fs.rmSync(this.directory, { recursive: true, force: true });
  }
}

/** Returns the OCI state of a container record. A given `status` (for hooks) overrides the derived one. */
export function ociState(dir: ContainerDir, record: ContainerRecord, status?: Status): OciState {
  const current = status ?? dir.status(record);
  return {
    ociVersion,
    id: record.id,
    pid: current === 'stopped' ? 0 : record.pid,
    status: current,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    annotations: record.annotations,
    owner: record.owner,
  };
}

/** Reads an existing container or throws "container does not exist". */
export function openContainer(
  root: string,
  id: string,
): { dir: ContainerDir; record: ContainerRecord } {
  const dir = new ContainerDir(root, id);
  return { dir, record: dir.read() };
}
