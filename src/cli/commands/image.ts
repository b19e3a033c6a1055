import { resolveImage } from '../../image/images';
import { inspectImage, pruneImages } from '../../image/manage';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command, CommandIo } from '../command';
import { confirmOnTerminal } from '../confirm';
import { CliError, ExitStatus, UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';
import { humanSize, imagesCommand } from './images';
import { importCommand } from './import';
import { InspectPrinter, inspectFormatOption } from './inspect';
import { loadCommand } from './load';
import { rmiCommand } from './rmi';
import { tagCommand } from './tag';

const inspectCommand: Command = {
  name: 'inspect',
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  summary: 'Show details of images as JSON',
  options: [inspectFormatOption],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length === 0) throw new UsageError('noah image inspect needs an image');
    const printer = new InspectPrinter(optionValue(parsed, 'format'));
    return withImageErrors(async () => {
      const store = await openHomeStore();
      let status = 0;
      for (const name of parsed.positionals) {
        let document: object;
        try {
          document = await inspectImage(store, await resolveImage(store, name));
        } catch (error) {
          io.stderr.write(`noah: ${(error as Error).message}\n`);
          status = 1;
          continue;
        }
        printer.add(document, io);
      }
      return Math.max(status, printer.finish(io));
    });
  },
};

const pruneCommand: Command = {
  name: 'prune',
  usage: '[--all] [--force]',
  summary:
    'Remove images that no tag names and their unused layers; with --all, every unused image',
  options: [
    { name: 'all', short: 'a', help: 'remove every image no container uses, tagged or not' },
    { name: 'force', short: 'f', help: 'do not ask for confirmation of --all' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 0) throw new UsageError('noah image prune takes no arguments');
    const all = optionFlag(parsed, 'all');
    if (all && !optionFlag(parsed, 'force') && !(await confirmPruneAll(io))) return 0;
    return withImageErrors(async () => {
      const store = await openHomeStore();
      const { deleted, freedBytes } = await pruneImages(store, all);
      if (deleted.length > 0) {
        io.stdout.write('Deleted Images:\n' + deleted.map((id) => `deleted: ${id}\n`).join(''));
      }
      io.stdout.write(`Total reclaimed space: ${humanSize(freedBytes)}\n`);
      return 0;
    });
  },
};

/** Asks whether to remove every unused image, as `docker image prune --all` does. */
function confirmPruneAll(io: CommandIo): Promise<boolean> {
  return confirmOnTerminal(
    io,
    'WARNING! This will remove all images without at least one container associated to them.',
    'noah image prune --all removes every image that no container uses',
  );
}

/** Formats `noah image COMMAND --help`: usage, summary and options. */
function subcommandHelp(command: Command): string {
  const lines = [`Usage: noah image ${command.name} ${command.usage}`, '', command.summary];
  if (command.options.length > 0) {
    lines.push('', 'Options:');
    for (const option of command.options) {
      const flag = (option.short ? `-${option.short}, ` : '    ') + `--${option.name}`;
      lines.push(`  ${(flag + (option.value ? ' VALUE' : '')).padEnd(24)} ${option.help}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Formats `noah image --help`: the subcommands with their summaries. */
function imageHelp(): string {
  const width = Math.max(...subcommands.map((c) => c.name.length));
  return [
    'Usage: noah image COMMAND',
    '',
    'Manage images',
    '',
    'Commands:',
    ...subcommands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "noah image COMMAND --help" for the options of a command.',
    '',
  ].join('\n');
}

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
    if (name === undefined) {
      io.stderr.write(`noah: noah image needs a command\n\n${imageHelp()}`);
      return ExitStatus.usage;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      io.stdout.write(imageHelp());
      return ExitStatus.ok;
    }
    const sub = subcommands.find((c) => c.name === name);
    if (sub === undefined) {
      throw new UsageError(
        `unknown command "image ${name}": use one of ${subcommands.map((c) => c.name).join(', ')}`,
      );
    }
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout.write(subcommandHelp(sub));
      return ExitStatus.ok;
    }
    return sub.run.call(sub, rest, io);
  },
};
