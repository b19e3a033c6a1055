import { resolveImage } from '../../image/images';
import { inspectImage, pruneImages } from '../../image/manage';
import { optionFlag, parseArgs } from '../args';
import { Command, CommandIo } from '../command';
import { CliError, UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';
import { humanSize, imagesCommand } from './images';
import { importCommand } from './import';
import { loadCommand } from './load';
import { rmiCommand } from './rmi';
import { tagCommand } from './tag';

const inspectCommand: Command = {
  name: 'inspect',
  usage: 'IMAGE [IMAGE...]',
  summary: 'Show details of images as JSON',
  options: [],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah image inspect needs an image');
    return withImageErrors(async () => {
      const store = await openHomeStore();
      const results: object[] = [];
      let status = 0;
      for (const name of parsed.positionals) {
        try {
          results.push(await inspectImage(store, await resolveImage(store, name)));
        } catch (error) {
          io.stderr.write(`Error: ${(error as Error).message}\n`);
          status = 1;
        }
      }
      io.stdout.write(JSON.stringify(results, null, 4) + '\n');
      return status;
    });
  },
};

const pruneCommand: Command = {
  name: 'prune',
  usage: '[--all] [--force]',
  summary: 'Remove images that no tag names, and their unused layers',
  options: [
    { name: 'all', short: 'a', help: 'remove every image no container uses, tagged or not' },
    { name: 'force', short: 'f', help: 'accepted for Docker compatibility; noah never asks' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    return withImageErrors(async () => {
      const store = await openHomeStore();
      const { deleted, freedBytes } = await pruneImages(store, optionFlag(parsed, 'all'));
      if (deleted.length > 0) {
        io.stdout.write('Deleted Images:\n' + deleted.map((id) => `deleted: ${id}\n`).join(''));
      }
      io.stdout.write(`Total reclaimed space: ${humanSize(freedBytes)}\n`);
      return 0;
    });
  },
};

const subcommands: Command[] = [
  inspectCommand,
  { ...imagesCommand, name: 'ls' },
  { ...rmiCommand, name: 'rm' },
  pruneCommand,
  tagCommand,
  loadCommand,
  importCommand,
];

/** Registers a late subcommand, so `noah image pull` works without an import cycle. */
export function addImageSubcommand(command: Command): void {
  subcommands.push(command);
}

/** `noah image SUBCOMMAND`: the image management verbs under one name, as `docker image`. */
export const imageCommand: Command = {
  name: 'image',
  usage: 'COMMAND',
  summary: 'Manage images: inspect, ls, rm, prune, tag, pull, load, import',
  options: [],
  stopAtPositional: true,
  async run(argv, io: CommandIo) {
    const [name, ...rest] = argv;
    const sub = subcommands.find((c) => c.name === name);
    if (sub === undefined) {
      throw new CliError(
        name === undefined
          ? `noah image needs a command: ${subcommands.map((c) => c.name).join(', ')}`
          : `unknown command "image ${name}": use one of ${subcommands.map((c) => c.name).join(', ')}`,
        125,
      );
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(`Usage: noah image ${sub.name} ${sub.usage}\n\n${sub.summary}\n`);
      return 0;
    }
    return sub.run.call(sub, rest, io);
  },
};
