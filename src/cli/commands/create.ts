import { parseArgs } from '../args';
import { Command } from '../command';
import { ExitStatus } from '../errors';
import { containerOptions, createFromArgs } from './run';

/** `noah create`: create a container without starting it, and print its ID. */
export const createCommand: Command = {
  name: 'create',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  summary: 'Create a new container without starting it',
  stopAtPositional: true,
  options: [...containerOptions, { name: 'rm', help: 'remove the container when it exits' }],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options, true);
    const { config } = await createFromArgs(parsed, io);
    io.stdout.write(`${config.id}\n`);
    return ExitStatus.ok;
  },
};
