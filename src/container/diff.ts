import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isErrno } from '../image/store';

/** One line of `noah diff`: A added, C changed, D deleted, and the guest path. */
export interface Change {
  kind: 'A' | 'C' | 'D';
  path: string;
}

/**
 * Lists the changes of a container root against the image tree it was cloned from. The root
 * is a hardlink farm, so a regular file still linked to the image's inode is unchanged and one
 * with another inode was copied up or replaced. Symlinks and special files are made anew by
 * the clone, so they count as changed when their type, target or mode differs. A folder is
 * changed when anything below it is, as `docker diff` prints the parents of changes. Paths in
 * `ignored` (mount points, which the translator creates when missing) are left out.
 */
export async function diffTrees(
  imageRoot: string,
  containerRoot: string,
  ignored: Set<string> = new Set(),
): Promise<Change[]> {
  const changes: Change[] = [];
  await diffFolder(imageRoot, containerRoot, '/', { changes, ignored });
  // Byte order of the paths puts a folder right before its contents: "/opt", "/opt/dir".
  return changes.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** The changes found so far, and guest paths to leave out (mount points). */
interface DiffContext {
  changes: Change[];
  ignored: Set<string>;
}

/** Compares one folder and returns whether anything below it changed. */
async function diffFolder(
  imageDir: string,
  containerDir: string,
  guestDir: string,
  context: DiffContext,
): Promise<boolean> {
  const { changes, ignored } = context;
  const imageNames = new Set(await readNames(imageDir));
  const containerNames = await readNames(containerDir);
  let changed = false;
  for (const name of containerNames) {
    const guestPath = path.posix.join(guestDir, name);
    if (ignored.has(guestPath)) {
      imageNames.delete(name);
      continue;
    }
    const containerPath = path.join(containerDir, name);
    const containerStat = await fsp.lstat(containerPath);
    if (!imageNames.has(name)) {
      changed = true;
      await addAll(containerPath, guestPath, containerStat.isDirectory(), changes);
      continue;
    }
    imageNames.delete(name);
    const imagePath = path.join(imageDir, name);
    const imageStat = await fsp.lstat(imagePath);
    if (containerStat.isDirectory() && imageStat.isDirectory()) {
      const below = await diffFolder(imagePath, containerPath, guestPath, context);
      if (below || containerStat.mode !== imageStat.mode) {
        changes.push({ kind: 'C', path: guestPath });
        changed = true;
      }
      continue;
    }
    if (await entryChanged(imagePath, imageStat, containerPath, containerStat)) {
      changes.push({ kind: 'C', path: guestPath });
      changed = true;
    }
  }
  for (const name of imageNames) {
    if (ignored.has(path.posix.join(guestDir, name))) continue;
    changes.push({ kind: 'D', path: path.posix.join(guestDir, name) });
    changed = true;
  }
  return changed;
}

async function entryChanged(
  imagePath: string,
  imageStat: import('node:fs').Stats,
  containerPath: string,
  containerStat: import('node:fs').Stats,
): Promise<boolean> {
  if (containerStat.ino === imageStat.ino && containerStat.dev === imageStat.dev) return false;
  if (imageStat.isFile() || containerStat.isFile()) return true;
  if ((containerStat.mode & 0o170777) !== (imageStat.mode & 0o170777)) return true;
  if (containerStat.isSymbolicLink()) {
    return (await fsp.readlink(containerPath)) !== (await fsp.readlink(imagePath));
  }
  return containerStat.rdev !== imageStat.rdev;
}

/** Records `guestPath` and, for a folder, everything below it as added. */
async function addAll(hostPath: string, guestPath: string, isDir: boolean, changes: Change[]) {
  changes.push({ kind: 'A', path: guestPath });
  if (!isDir) return;
  for (const entry of await fsp.readdir(hostPath, { withFileTypes: true })) {
    const child = path.join(hostPath, entry.name);
    await addAll(child, path.posix.join(guestPath, entry.name), entry.isDirectory(), changes);
  }
}

async function readNames(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return [];
    throw error;
  }
}
