import { copyLogs } from '../../container/logs';
import { optionFlag, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah logs`: the output of a detached container. */
export const logsCommand: Command = {
  name: 'logs',
  usage: '[OPTIONS] CONTAINER',
  summary: 'Print the output of a container started with -d',
  options: [{ name: 'follow', short: 'f', help: 'keep printing new output until it exits' }],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length !== 1) throw new UsageError('noah logs needs one container');
    const follow = optionFlag(parsed, 'follow');
    return forEachContainer(
      parsed.positionals,
      io,
      async (store, name) => {
        const { config } = await store.get(name);
        await copyLogs(store, config.id, follow, io.stdout, io.stderr);
      },
      false,
    );
  },
};
