import { waitUntilStopped } from '../../container/lifecycle';
import { sleep } from '../../container/process';
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
        // A created container has not run yet: wait for a start, then for its exit.
        for (;;) {
          await waitUntilStopped(store, config.id);
          const now = await store.read(config.id);
          if (now === undefined) throw new Error(`container ${name} was removed`);
          // A created container with a finish time was started, but its command could not
          // be loaded: it has the status of that failure, as in Docker.
          const failedStart = now.state.status === 'created' && now.state.finishedAt !== '';
          if (now.state.status === 'exited' || failedStart) {
            io.stdout.write(`${now.state.exitCode}\n`);
            return;
          }
          await sleep(100);
        }
      },
      false,
    );
  },
};
