import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isErrno } from '../image/store';

const MAX_SYMLINKS = 40; // as Linux's path walk allows

/**
 * Reads the guest file `guestPath` of the root at `root`, following symlinks as the guest
 * would see them, so that a link such as /etc/passwd -> /host/file stays inside the root.
 * Returns undefined when the file does not exist.
 */
export async function readFileInRoot(root: string, guestPath: string): Promise<string | undefined> {
  const hostPath = await resolveInRoot(root, guestPath);
  if (hostPath === undefined) return undefined;
  try {
    return await fsp.readFile(hostPath, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'EISDIR')) return undefined;
    throw error;
  }
}

/**
 * The host path of `guestPath` inside `root` with every symlink resolved against the root,
 * or undefined when a component is missing or the links loop. With `makeDirectories`, a
 * missing component is made as a directory instead, as Docker makes a missing working directory.
 */
export async function resolveInRoot(
  root: string,
  guestPath: string,
  makeDirectories = false,
): Promise<string | undefined> {
  const pending = guestPath.split('/').filter((part) => part !== '' && part !== '.');
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    let stat;
    try {
      stat = await fsp.lstat(host);
    } catch (error) {
      if (makeDirectories && isErrno(error, 'ENOENT')) {
        await fsp.mkdir(host, { mode: 0o755 });
        resolved.push(part);
        continue;
      }
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return undefined;
      throw error;
    }
    if (!stat.isSymbolicLink()) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) return undefined;
    const target = await fsp.readlink(host);
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
  }
  return path.join(root, ...resolved);
}
