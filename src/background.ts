import * as os from 'node:os';

/**
 * Gives a detached background process (a spare root's builder, a container's remover) the
 * lowest CPU priority, so that it does not slow the container starting at the same moment.
 */
export function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    os.setPriority(pid, 19);
  } catch {
    // The process has already ended.
  }
}
