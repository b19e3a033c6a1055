import { loadAddon } from '../native';
import { ContainerError } from './errors';

/**
 * Fills `containerRoot` from `imageTree` (folders copied, files hardlinked) and writes the
 * shared inode numbers to `sharedInodesFile`.
 */
export function cloneRootfs(imageTree: string, containerRoot: string, sharedInodesFile: string) {
  try {
    loadAddon().cloneTree(imageTree, containerRoot, sharedInodesFile);
  } catch (error) {
    throw new ContainerError(`cannot create the container root: ${(error as Error).message}`);
  }
}
