import * as fs from 'node:fs/promises';
import { waitUntilStopped } from '../../container/lifecycle';
import { sleep } from '../../container/process';
import { ContainerStore } from '../../container/store';
import { parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah wait`: block until containers exit and print their exit codes. */
export const waitCommand: Command = {
  name: 'wait',
  usage: 'CONTAINER [CONTAINER...]',
  summary: 'Wait for containers to stop and print their exit codes',
  options: [],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah wait needs a container');
    return forEachContainer(
      parsed.positionals,
      io,
      async (store, name) => {
        const { config } = await store.get(name);
        // The waiter file receives the exit status even when --rm removes the container.
        const waiter = await store.addWaiter(config.id);
        if (waiter === undefined) throw new Error(`container ${name} was removed`);
        try {
          io.stdout.write(`${await waitForExit(store, config.id, name, waiter)}\n`);
        } finally {
          await fs.rm(waiter, { force: true });
        }
      },
      false,
    );
  },
};

/** Resolves to the exit status of the container's next exit, or of its last when stopped. */
async function waitForExit(
  store: ContainerStore,
  id: string,
  name: string,
  waiter: string,
): Promise<number> {
  // A created container has not run yet: wait for a start, then for its exit.
  for (;;) {
    await waitUntilStopped(store, id);
    const now = await store.read(id);
    if (now === undefined) {
      const status = await store.readWaiter(waiter);
      if (status === undefined) throw new Error(`container ${name} was removed`);
      return status;
    }
    // A created container with a finish time was started, but its command could not be
    // loaded: it has the status of that failure, as in Docker.
    const failedStart = now.state.status === 'created' && now.state.finishedAt !== '';
    if (now.state.status === 'exited' || failedStart) return now.state.exitCode;
    await sleep(100);
  }
}
