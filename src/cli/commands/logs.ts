import { parseLogTime } from '../../container/log-times';
import { copyLogs, LogOptions } from '../../container/logs';
import { optionFlag, optionValue, ParsedArgs, parseArgs } from '../args';
import { Command } from '../command';
import { CliError, ExitStatus, UsageError } from '../errors';
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
    { name: 'timestamps', short: 't', help: 'start each line with the time it was written' },
    {
      name: 'since',
      value: true,
      help: 'print lines written since a time: RFC 3339, Unix seconds, or a duration ago ("10m")',
    },
    {
      name: 'until',
      value: true,
      help: 'print lines written up to a time: RFC 3339, Unix seconds, or a duration ago ("10m")',
    },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length !== 1) throw new UsageError('noah logs needs one container');
    const options: LogOptions = {
      follow: optionFlag(parsed, 'follow'),
      tailLines: tailLines(optionValue(parsed, 'tail')),
      timestamps: optionFlag(parsed, 'timestamps'),
      since: timeOption(parsed, 'since'),
      until: timeOption(parsed, 'until'),
    };
    return forEachContainer(
      parsed.positionals,
      io,
      async (store, name) => {
        const { config } = await store.get(name);
        await copyLogs(store, config.id, options, io.stdout, io.stderr);
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

/** Reads --since or --until; an invalid time fails with status 1, as in `docker logs`. */
function timeOption(parsed: ParsedArgs, name: string): number | undefined {
  const text = optionValue(parsed, name);
  if (text === undefined || text === '') return undefined;
  const time = parseLogTime(text);
  if (time === undefined) {
    throw new CliError(
      `invalid --${name} "${text}": give an RFC 3339 time, Unix seconds or a duration such as 10m`,
      ExitStatus.failure,
    );
  }
  return time;
}
