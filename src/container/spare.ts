/**
 * Spare container roots. Cloning an image tree into a container root (a new folder for each
 * folder of the image, a hard link for each file) took about 200 ms of the 840 ms of
 * `noah run --rm debian true` on the development machine. So after each container is created, a
 * detached process clones one spare root of the same image, and the next container of that
 * image takes it with one rename:
 *
 *   tree/CHAIN/spares/RANDOM/rootfs          a clone of tree/CHAIN/rootfs, never run
 *   tree/CHAIN/spares/RANDOM/shared-inodes   its inode list for the translator
 *   tmp/PID-RANDOM-spare-CHAIN/              a spare being built by process PID
 *
 * Spares live inside their tree's folder, so removing the tree (`noah rmi`, `image prune`)
 * removes them and counts their space. NOAH_SPARE_ROOTS=0 turns them off.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { lowerPriority } from '../background';
import { Digest, digestHex } from '../image/digest';
import { isErrno, removeTree, Store } from '../image/store';
import { processAlive } from './process';
import { cloneRootfs } from './rootfs';

/** Returns how many spare roots to keep for each image that containers were made from. */
function spareCount(): number {
  const value = Number(process.env.NOAH_SPARE_ROOTS ?? '1');
  return Number.isInteger(value) && value >= 0 ? Math.min(value, 8) : 1;
}

function sparesDir(store: Store, chainId: Digest): string {
  return path.join(store.treePath(chainId), 'spares');
}

function listSpares(store: Store, chainId: Digest): string[] {
  try {
    return fs.readdirSync(sparesDir(store, chainId));
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}

/**
 * Moves a spare root of `chainId` to `folder` (which must not exist), leaving `folder/rootfs`
 * and `folder/shared-inodes` as cloneRootfs would. Returns false when there is none to take.
 */
export async function takeSpare(store: Store, chainId: Digest, folder: string): Promise<boolean> {
  if (spareCount() === 0) return false;
  for (const name of listSpares(store, chainId)) {
    try {
      // Two commands may race for one spare: the rename lets only one of them have it.
      await fsp.rename(path.join(sparesDir(store, chainId), name), folder);
      return true;
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
  }
  return false;
}

/**
 * Starts a detached process that builds spare roots of `chainId` when fewer than requested are
 * stored and no builder for that image is running. Errors are ignored, because a missing spare
 * costs only time.
 */
export function requestSpare(store: Store, chainId: Digest): void {
  if (spareCount() === 0 || listSpares(store, chainId).length >= spareCount()) return;
  if (builderRunning(store, chainId)) return;
  try {
    const builder = spawn(
      process.execPath,
      [path.join(__dirname, 'spare-builder.js'), store.root, chainId],
      { detached: true, stdio: 'ignore' },
    );
    builder.on('error', () => undefined);
    lowerPriority(builder.pid);
    builder.unref();
  } catch {
    // No spare this time; the next container clones its root itself.
  }
}

function builderRunning(store: Store, chainId: Digest): boolean {
  const suffix = `-spare-${digestHex(chainId)}`;
  return fs
    .readdirSync(store.tmpDir)
    .some((name) => name.endsWith(suffix) && processAlive(Number(name.split('-')[0])));
}

/** Builds spare roots of `chainId` in this process until the requested number are stored. */
export async function buildSpares(store: Store, chainId: Digest): Promise<void> {
  while (store.hasTree(chainId) && listSpares(store, chainId).length < spareCount()) {
    const work = store.temporaryPath(`spare-${digestHex(chainId)}`);
    await fsp.mkdir(work);
    try {
      cloneRootfs(
        store.rootfsPath(chainId),
        path.join(work, 'rootfs'),
        path.join(work, 'shared-inodes'),
      );
      // Under the lock the tree cannot be removed between the check and the rename.
      const stored = await store.withLock(async () => {
        if (!store.hasTree(chainId) || listSpares(store, chainId).length >= spareCount()) {
          return false;
        }
        await fsp.mkdir(sparesDir(store, chainId), { recursive: true });
        await fsp.rename(
          work,
          path.join(sparesDir(store, chainId), randomBytes(6).toString('hex')),
        );
        return true;
      });
      if (!stored) return;
    } finally {
      await removeTree(work);
    }
  }
}
