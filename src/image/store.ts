/**
 * The content store under `$NOAH_HOME` (default `~/.noah`):
 *
 *   blobs/sha256/HEX      verified content: manifests, indexes, configs and compressed layers.
 *                         A blob is written elsewhere first and renamed here only after its
 *                         digest and size match, so every file here is complete and read-only.
 *   ingest/HEX.partial    a blob download in progress; kept when a pull fails or is killed so
 *                         the next pull resumes it with an HTTP Range request.
 *   tree/HEX/rootfs/      an unpacked root filesystem, HEX being the chain ID of the image's
 *   tree/HEX/metadata.json  layers (one tree per layer stack, shared by every image with the
 *                         same stack). A tree is unpacked in tmp/ and renamed here complete,
 *                         and is never written again; containers get a copy-on-write view of
 *                         it. metadata.json stores what the host file system cannot hold for
 *                         an unprivileged user (see metadata.ts).
 *   tree/HEX/spares/      container roots cloned ahead of need (container/spare.ts).
 *   images/HEX.json       an image record, HEX being the config digest (the image ID): the
 *                         manifest digest, platform, layers, chain ID and sizes.
 *   repositories.json     references to image IDs: tags (`docker.io/library/debian:latest`)
 *                         and digests (`docker.io/library/debian@sha256:...`).
 *   tmp/PID-RANDOM...     work in progress of process PID; removed by the next store user
 *                         once that process is gone.
 *   store.lock            held (by PID) while images/ or repositories.json change.
 *
 * Every change is a rename of a complete file or folder, so a killed process leaves either the
 * old state or the new one, plus leftovers in tmp/ and ingest/ that nothing reads.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { lowerPriority } from '../background';
import { Digest, digestHex, isDigest } from './digest';
import { ImageError, NotFoundError, StoreError } from './errors';
import { Platform } from './manifest';

/** One layer of a stored image. */
export interface LayerRecord {
  digest: Digest; // of the compressed blob
  diffId: Digest; // of the uncompressed tar
  size: number; // compressed bytes
  mediaType: string;
}

/** What the store keeps about one image, beside its config and manifest blobs. */
export interface ImageRecord {
  id: Digest; // the config digest
  manifestDigest: Digest;
  manifestMediaType: string;
  platform: Platform;
  layers: LayerRecord[];
  chainId: Digest;
  size: number; // bytes of file content in all layers, as `docker images` shows SIZE
  created?: string; // from the image config
  stored: string; // when this record was written, ISO 8601
}

/** References in repositories.json, each to an image ID. */
export interface Repositories {
  tags: Record<string, Digest>; // "docker.io/library/debian:latest"
  digests: Record<string, Digest>; // "docker.io/library/debian@sha256:..."
}

const LOCK_TIMEOUT_MS = 30_000;

export class Store {
  readonly blobsDir: string;
  readonly ingestDir: string;
  readonly treeDir: string;
  readonly imagesDir: string;
  readonly tmpDir: string;
  readonly containersDir: string;

  constructor(readonly root: string) {
    this.blobsDir = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
    this.treeDir = path.join(root, 'tree');
    this.imagesDir = path.join(root, 'images');
    this.tmpDir = path.join(root, 'tmp');
    this.containersDir = path.join(root, 'containers');
  }

  /** Creates the folders and removes work left in tmp/ by processes that are gone. */
  async open(): Promise<this> {
    try {
      await createStoreRoot(this.root);
      for (const dir of [
        this.blobsDir,
        this.ingestDir,
        this.treeDir,
        this.imagesDir,
        this.tmpDir,
      ]) {
        await createFolders(dir);
      }
      await this.removeStaleTemporaries();
    } catch (error) {
      if (error instanceof ImageError) throw error;
      throw new StoreError(`image store ${this.root}: ${systemErrorText(error)}`);
    }
    return this;
  }

  private async removeStaleTemporaries(): Promise<void> {
    for (const name of await fsp.readdir(this.tmpDir)) {
      const pid = Number(name.split('-')[0]);
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) continue;
      await removeTree(path.join(this.tmpDir, name));
    }
  }

  /**
   * Moves `target` into tmp/ under the store lock and deletes it there in a detached `rm -rf`,
   * so that the caller can exit before a large tree is gone. The folder in tmp/ carries the
   * remover's pid, so no other store user touches it while the remover runs. If the remover
   * dies, the next store user removes what is left. Resolves to false when `target` does not
   * exist.
   */
  async discard(target: string, label: string): Promise<boolean> {
    // The remover waits for a line on stdin, sent once the rename is done, and then becomes rm
    // with the same pid, which names its folder.
    const remover = spawn(
      '/bin/sh',
      ['-c', 'read ready; exec rm -rf -- "$0/$$-$1"', this.tmpDir, label],
      { detached: true, stdio: ['pipe', 'ignore', 'ignore'] },
    );
    remover.stdin?.on('error', () => undefined); // a remover that died leaves work for the next
    const started = await new Promise<boolean>((resolve) => {
      remover.once('spawn', () => {
        lowerPriority(remover.pid);
        resolve(true);
      });
      remover.once('error', () => resolve(false));
    });
    const doomed = started
      ? path.join(this.tmpDir, `${remover.pid}-${label}`)
      : this.temporaryPath(label);
    try {
      const moved = await this.withLock(async () => {
        try {
          await fsp.rename(target, doomed);
          return true;
        } catch (error) {
          if (isErrno(error, 'ENOENT')) return false;
          throw error;
        }
      });
      if (moved && !started) await removeTree(doomed);
      return moved;
    } finally {
      if (started) {
        remover.stdin?.end('\n');
        remover.unref();
      }
    }
  }

  /** A new path under tmp/ owned by this process; the caller creates it. */
  temporaryPath(label: string): string {
    return path.join(this.tmpDir, `${process.pid}-${randomBytes(6).toString('hex')}-${label}`);
  }

  // Blobs

  blobPath(digest: Digest): string {
    return path.join(this.blobsDir, digestHex(digest));
  }

  partialPath(digest: Digest): string {
    return path.join(this.ingestDir, `${digestHex(digest)}.partial`);
  }

  hasBlob(digest: Digest): boolean {
    return fs.existsSync(this.blobPath(digest));
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    try {
      return await fsp.readFile(this.blobPath(digest));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw new NotFoundError(`blob ${digest} is not in the store`);
      throw error;
    }
  }

  /** Stores `data`, which the caller has verified has digest `digest`. */
  async writeBlob(digest: Digest, data: Uint8Array): Promise<void> {
    if (this.hasBlob(digest)) return;
    await writeFileAtomic(this.blobPath(digest), data, this.temporaryPath('blob'), 0o444);
  }

  /** Moves a verified file into the store as blob `digest`. */
  async commitBlobFile(digest: Digest, file: string): Promise<void> {
    await fsp.chmod(file, 0o444);
    await fsp.rename(file, this.blobPath(digest));
  }

  // Trees

  treePath(chainId: Digest): string {
    return path.join(this.treeDir, digestHex(chainId));
  }

  rootfsPath(chainId: Digest): string {
    return path.join(this.treePath(chainId), 'rootfs');
  }

  hasTree(chainId: Digest): boolean {
    return fs.existsSync(path.join(this.treePath(chainId), 'metadata.json'));
  }

  /**
   * Moves a complete tree folder (with rootfs/ and metadata.json) into place. When another
   * process stored the same chain first, keeps that one and removes `folder`.
   */
  async commitTree(chainId: Digest, folder: string): Promise<void> {
    try {
      await fsp.rename(folder, this.treePath(chainId));
    } catch (error) {
      if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST')) throw error;
      await removeTree(folder);
    }
  }

  // Image records and references

  async readImage(id: Digest): Promise<ImageRecord | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.imagePath(id), 'utf8')) as ImageRecord;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw new ImageError(`image record ${this.imagePath(id)}: ${(error as Error).message}`);
    }
  }

  async listImages(): Promise<ImageRecord[]> {
    const records: ImageRecord[] = [];
    for (const name of await fsp.readdir(this.imagesDir)) {
      const id = `sha256:${name.replace(/\.json$/, '')}`;
      if (!name.endsWith('.json') || !isDigest(id)) continue;
      const record = await this.readImage(id);
      if (record !== undefined) records.push(record);
    }
    return records;
  }

  /** Writes an image record; its blobs and tree must already be stored. */
  async writeImage(record: ImageRecord): Promise<void> {
    const missing = [record.id, record.manifestDigest, ...record.layers.map((l) => l.digest)].find(
      (d) => !this.hasBlob(d),
    );
    if (missing !== undefined) {
      throw new ImageError(`blob ${missing} was removed while the image was stored: try again`);
    }
    if (!this.hasTree(record.chainId)) {
      throw new ImageError(
        `tree ${record.chainId} was removed while the image was stored: try again`,
      );
    }
    const text = JSON.stringify(record, null, 2) + '\n';
    await writeFileAtomic(this.imagePath(record.id), text, this.temporaryPath('image'), 0o644);
  }

  async deleteImageRecord(id: Digest): Promise<void> {
    await fsp.rm(this.imagePath(id), { force: true });
  }

  private imagePath(id: Digest): string {
    return path.join(this.imagesDir, `${digestHex(id)}.json`);
  }

  async readRepositories(): Promise<Repositories> {
    try {
      const text = await fsp.readFile(path.join(this.root, 'repositories.json'), 'utf8');
      const parsed = JSON.parse(text) as Partial<Repositories>;
      return { tags: parsed.tags ?? {}, digests: parsed.digests ?? {} };
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { tags: {}, digests: {} };
      throw new ImageError(
        `${path.join(this.root, 'repositories.json')}: ${(error as Error).message}: ` +
          'remove the file to forget all tags',
      );
    }
  }

  /** Reads repositories.json, applies `change` and writes the result, under the store lock. */
  async updateRepositories<T>(change: (repositories: Repositories) => T | Promise<T>): Promise<T> {
    return this.withLock(() => this.updateRepositoriesLocked(change));
  }

  /** As `updateRepositories`, for a caller that holds the store lock already. */
  async updateRepositoriesLocked<T>(
    change: (repositories: Repositories) => T | Promise<T>,
  ): Promise<T> {
    const repositories = await this.readRepositories();
    const result = await change(repositories);
    const text = JSON.stringify(repositories, null, 2) + '\n';
    const file = path.join(this.root, 'repositories.json');
    await writeFileAtomic(file, text, this.temporaryPath('repositories'), 0o644);
    return result;
  }

  /**
   * Runs `action` while holding store.lock. A lock left by a process that no longer runs is
   * taken over; a live holder is waited for up to 30 seconds.
   */
  async withLock<T>(action: () => Promise<T>): Promise<T> {
    const lock = path.join(this.root, 'store.lock');
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        await fsp.writeFile(lock, String(process.pid), { flag: 'wx' });
        break;
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      const holder = Number(await fsp.readFile(lock, 'utf8').catch(() => ''));
      if (holder > 0 && holder !== process.pid && !processAlive(holder)) {
        await fsp.rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new ImageError(`store is locked by process ${holder} (${lock}): try again later`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    try {
      return await action();
    } finally {
      await fsp.rm(lock, { force: true });
    }
  }

  /** IDs of containers whose record names image `id`. */
  async containersUsing(id: Digest): Promise<string[]> {
    const users: string[] = [];
    let names: string[];
    try {
      names = await fsp.readdir(this.containersDir);
    } catch {
      return users;
    }
    for (const name of names) {
      try {
        const text = await fsp.readFile(
          path.join(this.containersDir, name, 'container.json'),
          'utf8',
        );
        if ((JSON.parse(text) as { image?: unknown }).image === id) users.push(name);
      } catch {
        // A container folder without a readable record does not use any image.
      }
    }
    return users;
  }

  /**
   * Removes blobs and trees that no image record references, and returns the bytes freed:
   * the sizes of the removed blobs and of the files in the removed trees. Call with the store
   * lock held.
   */
  async collectGarbage(): Promise<number> {
    const images = await this.listImages();
    const blobs = new Set<string>();
    const trees = new Set<string>();
    for (const image of images) {
      blobs.add(digestHex(image.id));
      blobs.add(digestHex(image.manifestDigest));
      for (const layer of image.layers) blobs.add(digestHex(layer.digest));
      trees.add(digestHex(image.chainId));
    }
    const repositories = await this.readRepositories();
    // Index blobs are referenced only through digest references.
    for (const ref of Object.keys(repositories.digests))
      blobs.add(ref.slice(ref.indexOf('@sha256:') + 8));
    let freed = 0;
    for (const name of await fsp.readdir(this.blobsDir)) {
      if (blobs.has(name)) continue;
      const file = path.join(this.blobsDir, name);
      freed += (await fsp.lstat(file)).size;
      await fsp.rm(file, { force: true });
    }
    for (const name of await fsp.readdir(this.treeDir)) {
      if (trees.has(name)) continue;
      // Rename first so a half-removed tree is never seen under tree/.
      const doomed = this.temporaryPath('removed-tree');
      await fsp.rename(path.join(this.treeDir, name), doomed);
      freed += await bytesFreedByRemoving(doomed);
      await removeTree(doomed);
    }
    return freed;
  }
}

/**
 * Returns the bytes that removing the tree at `root` frees: the sizes of its files, counting a
 * hardlinked file once and only when all of its links are inside `root`.
 */
async function bytesFreedByRemoving(root: string): Promise<number> {
  const inodes = new Map<number, { size: number; links: number; seen: number }>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      const stat = await fsp.lstat(file);
      if (entry.isDirectory()) await walk(file);
      const known = inodes.get(stat.ino);
      if (known !== undefined) known.seen++;
      else inodes.set(stat.ino, { size: stat.size, links: stat.nlink, seen: 1 });
    }
  };
  await walk(root);
  let bytes = 0;
  for (const inode of inodes.values()) {
    if (inode.seen >= inode.links) bytes += inode.size;
  }
  return bytes;
}

/** Kernel file systems where a store cannot live; Node's recursive mkdir hangs under /proc. */
const PSEUDO_FILE_SYSTEMS = ['/proc', '/sys'];

/**
 * Creates the store's root folder one level at a time, after checking that the nearest
 * existing ancestor is a folder outside /proc and /sys.
 */
async function createStoreRoot(root: string): Promise<void> {
  const resolved = path.resolve(root);
  const missing: string[] = [];
  let existing = resolved;
  for (;;) {
    const stat = await fsp.stat(existing).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    });
    if (stat !== undefined) {
      if (!stat.isDirectory()) {
        throw new StoreError(
          `image store ${root}: ${existing} is not a directory: set NOAH_HOME to a directory`,
        );
      }
      break;
    }
    missing.unshift(existing);
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const real = await fsp.realpath(existing);
  const pseudo = PSEUDO_FILE_SYSTEMS.find((top) => real === top || real.startsWith(top + '/'));
  if (pseudo !== undefined) {
    throw new StoreError(
      `image store ${root}: ${pseudo} is a kernel file system: set NOAH_HOME to a directory on disk`,
    );
  }
  for (const dir of missing) await createFolder(dir);
}

/** Creates `dir` and its missing parents one level at a time, unlike Node's recursive mkdir. */
async function createFolders(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) await createFolders(parent);
  await createFolder(dir);
}

async function createFolder(dir: string): Promise<void> {
  try {
    await fsp.mkdir(dir);
  } catch (error) {
    if (isErrno(error, 'EEXIST') && (await fsp.stat(dir)).isDirectory()) return;
    throw new StoreError(`cannot create directory ${dir}: ${systemErrorText(error)}`);
  }
}

/** "permission denied (EACCES)" for a system error, the message for any other error. */
export function systemErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const syscall = (error as NodeJS.ErrnoException).syscall;
  if (typeof code !== 'string' || typeof syscall !== 'string') return error.message;
  // Node's message is "CODE: description, syscall 'path'", and only the description is kept.
  const description = error.message.replace(/^[A-Z]+: /, '').replace(/, .*$/, '');
  return `${description} (${code})`;
}

/** Opens the store at `root`, creating it when missing. */
export async function openStore(root: string): Promise<Store> {
  return new Store(root).open();
}

/** Writes `data` to `file` through a temporary file and a rename, so readers never see part of it. */
export async function writeFileAtomic(
  file: string,
  data: Uint8Array | string,
  temporary: string,
  mode: number,
): Promise<void> {
  const handle = await fsp.open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temporary, file);
}

/** Removes a folder tree, first making its folders writable so read-only modes do not stop it. */
export async function removeTree(target: string): Promise<void> {
  try {
    await fsp.rm(target, { recursive: true, force: true });
    return;
  } catch (error) {
    if (!isErrno(error, 'EACCES') && !isErrno(error, 'EPERM')) throw error;
  }
  const makeWritable = async (dir: string): Promise<void> => {
    await fsp.chmod(dir, 0o700).catch(() => undefined);
    for (const entry of await fsp.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
    }
  };
  await makeWritable(target);
  await fsp.rm(target, { recursive: true, force: true });
}

/** Whether `error` is a system error with `code`; checked by shape, since jest's realms differ. */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}
