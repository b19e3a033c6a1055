import { ContainerStore } from '../../container/store';
import { openHomeStore, withImageErrors } from './image-errors';

/** Opens the containers of the store under NOAH_HOME. */
export async function openContainerStore(): Promise<ContainerStore> {
  return new ContainerStore(await openHomeStore());
}

/**
 * Runs `action` on each of `names` as `docker stop` and its kin do: prints each name that
 * succeeded, reports each failure on stderr, and returns 1 when any failed.
 */
export async function forEachContainer(
  names: string[],
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  action: (store: ContainerStore, name: string) => Promise<void>,
  printNames = true,
): Promise<number> {
  const store = await withImageErrors(openContainerStore);
  let status = 0;
  for (const name of names) {
    try {
      await withImageErrors(() => action(store, name));
      if (printNames) io.stdout.write(`${name}\n`);
    } catch (error) {
      // A reader that went away (`noah logs web | head -1`) ends the output, not in an error.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return status;
      io.stderr.write(`noah: ${(error as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}
