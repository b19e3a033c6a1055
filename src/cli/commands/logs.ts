import { copyLogs } from '../../container/logs';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { forEachContainer } from './container-store';

/** `noah logs`: the output of a detached container. */
export const logsCommand: Command = {
  name: 'logs',
  usage: '[OPTIONS] CONTAINER',
  summary: 'Print the output of a container started with -d',
  options: [
    { name: 'follow', short: 'f', help: 'keep printing new output until it exits' },
    {
      name: 'tail',
      short: 'n',
      value: true,
      help: 'print only the last N lines of stdout and of stderr, or "all" (default)',
    },
    { name: 'timestamps', short: 't', help: 'not supported: noah keeps no times in its logs' },
    { name: 'since', value: true, help: 'not supported: noah keeps no times in its logs' },
    { name: 'until', value: true, help: 'not supported: noah keeps no times in its logs' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length !== 1) throw new UsageError('noah logs needs one container');
    for (const name of ['timestamps', 'since', 'until']) {
      if (parsed.options.has(name)) {
        throw new UsageError(
          `noah logs --${name} is not supported: the logs store output without times`,
        );
      }
    }
    const follow = optionFlag(parsed, 'follow');
    const tail = tailLines(optionValue(parsed, 'tail'));
    return forEachContainer(
      parsed.positionals,
      io,
      async (store, name) => {
        const { config } = await store.get(name);
        await copyLogs(store, config.id, follow, io.stdout, io.stderr, tail);
      },
      false,
    );
  },
};

/**
 * Reads --tail as the Docker daemon does: a count of lines, where "all", a negative number or
 * text that is not a number means every line.
 */
function tailLines(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?[0-9]+$/.test(value.trim())) return undefined;
  const count = Number(value);
  return count < 0 ? undefined : count;
}
