import { removeContainer } from '../../container/lifecycle';
import { optionFlag, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah rm`: remove containers, their roots and their records. */
export const rmCommand: Command = {
  name: 'rm',
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  summary: 'Remove one or more containers',
  options: [{ name: 'force', short: 'f', help: 'kill and remove a running container' }],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah rm needs a container');
    const force = optionFlag(parsed, 'force');
    return forEachContainer(parsed.positionals, io, async (store, name) =>
      removeContainer(store, await store.get(name), force),
    );
  },
};
