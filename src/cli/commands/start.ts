import { startAttached, startDetached } from '../../container/lifecycle';
import { optionFlag, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer, openContainerStore } from './container-store';
import { withImageErrors } from './image-errors';
import { checkInputTerminal } from './run';

/** `noah start`: run a created or exited container's command again, in the same root. */
export const startCommand: Command = {
  name: 'start',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Start one or more stopped containers',
  options: [
    {
      name: 'attach',
      short: 'a',
      help: "attach stdout and stderr and return the command's status",
    },
    { name: 'interactive', short: 'i', help: 'attach stdin too' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    const names = parsed.positionals;
    if (names.length === 0) throw new UsageError('noah start needs at least one container');
    if (!optionFlag(parsed, 'attach') && !optionFlag(parsed, 'interactive')) {
      return forEachContainer(names, io, (store, name) => startDetached(store, name));
    }
    if (names.length > 1) throw new UsageError('noah start -a attaches to one container only');
    return withImageErrors(async () => {
      const store = await openContainerStore();
      const container = await store.get(names[0]);
      // As Docker's start, only -i attaches stdin (noah also does for a container made with -i).
      checkInputTerminal(optionFlag(parsed, 'interactive'), container.config.tty);
      // -i attaches stdin for this start even when the container was created without it.
      if (optionFlag(parsed, 'interactive') && !container.config.interactive) {
        return startAttached(store, container.config.id, true);
      }
      return startAttached(store, container.config.id);
    });
  },
};
