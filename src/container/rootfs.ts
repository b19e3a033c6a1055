import { loadAddon } from '../native';
import { translatorSupports } from '../runtime/translator';
import { ContainerError } from './errors';

type CloneTree = (imageTree: string, containerRoot: string, sharedInodesFile: string) => unknown;

/** The addon's cloneTree, when this build has it. */
function cloneTreeFunction(): CloneTree | undefined {
  const addon = loadAddon() as object as { cloneTree?: CloneTree };
  return typeof addon.cloneTree === 'function' ? addon.cloneTree : undefined;
}

/**
 * Whether containers get a root of their own: the addon can clone the image tree as a
 * hardlink farm and the translator copies a shared file up before changing it. Without both,
 * a container runs on the image tree itself, read-only, so the image cannot change.
 */
export function copyOnWriteAvailable(): boolean {
  return cloneTreeFunction() !== undefined && translatorSupports('--shared-inodes');
}

/**
 * Fills `containerRoot` from `imageTree` (folders copied, files hardlinked) and writes the
 * shared inode numbers to `sharedInodesFile`.
 */
export function cloneRootfs(imageTree: string, containerRoot: string, sharedInodesFile: string) {
  const cloneTree = cloneTreeFunction();
  if (cloneTree === undefined) throw new ContainerError('this build of noah has no cloneTree');
  try {
    cloneTree(imageTree, containerRoot, sharedInodesFile);
  } catch (error) {
    throw new ContainerError(`cannot create the container root: ${(error as Error).message}`);
  }
}
