import { removeContainer } from '../../container/lifecycle';
import { optionFlag, parseArgs } from '../args';
import { Command } from '../command';
import { ExitStatus, UsageError } from '../errors';
import { commandHelp } from '../help';
import { createCommand } from './create';
import { diffCommand } from './diff';
import { execCommand } from './exec';
import { inspectCommand } from './inspect';
import { logsCommand } from './logs';
import { openContainerStore } from './container-store';
import { psCommand } from './ps';
import { rmCommand } from './rm';
import { runCommand } from './run';
import { startCommand } from './start';
import { killCommand, stopCommand } from './stop';
import { waitCommand } from './wait';
import { withImageErrors } from './image-errors';
import { confirmOnTerminal } from '../confirm';

/** `noah container prune`: remove every container that is not running. */
const pruneCommand: Command = {
  name: 'prune',
  usage: '[--force]',
  summary: 'Remove all stopped containers',
  options: [{ name: 'force', short: 'f', help: 'do not ask for confirmation' }],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 0)
      throw new UsageError('noah container prune takes no arguments');
    const confirmed =
      optionFlag(parsed, 'force') ||
      (await confirmOnTerminal(
        io,
        'WARNING! This will remove all stopped containers.',
        'noah container prune removes every stopped container',
      ));
    if (!confirmed) return 0;
    return withImageErrors(async () => {
      const store = await openContainerStore();
      io.stdout.write('Deleted Containers:\n');
      for (const container of await store.list()) {
        if (container.state.status === 'running') continue;
        await removeContainer(store, container, false);
        io.stdout.write(`${container.config.id}\n`);
      }
      return 0;
    });
  },
};

/** `noah container ls` is `noah ps`, as in Docker. */
const lsCommand: Command = { ...psCommand, name: 'ls' };

const subcommands: Command[] = [
  lsCommand,
  pruneCommand,
  { ...inspectCommand, summary: 'Print details of containers as JSON' },
  createCommand,
  runCommand,
  startCommand,
  stopCommand,
  killCommand,
  waitCommand,
  execCommand,
  logsCommand,
  diffCommand,
  rmCommand,
];

/** `noah container SUBCOMMAND`: the container verbs under one group, as `docker container`. */
export const containerCommand: Command = {
  name: 'container',
  usage: 'SUBCOMMAND [ARG...]',
  summary: 'Manage containers: ls, prune, inspect, start, stop, rm, ...',
  stopAtPositional: true,
  options: [],
  async run(argv, io) {
    const [name, ...rest] = argv;
    const subcommand = subcommands.find((c) => c.name === name);
    if (subcommand === undefined) {
      const names = subcommands.map((c) => c.name).join(', ');
      throw new UsageError(`noah container needs a subcommand: ${names}`);
    }
    if (rest[0] === '--help' || rest[0] === '-h') {
      io.stdout.write(commandHelp(subcommand, 'noah container') + '\n');
      return ExitStatus.ok;
    }
    return subcommand.run(rest, io);
  },
};
