import { packageVersion } from '../native';
import { parseArgs } from './args';
import { Command, CommandIo } from './command';
import { containerCommand } from './commands/container';
import { createCommand } from './commands/create';
import { diffCommand } from './commands/diff';
import { execCommand } from './commands/exec';
import { imageCommand } from './commands/image';
import { imagesCommand } from './commands/images';
import { importCommand } from './commands/import';
import { infoCommand } from './commands/info';
import { inspectCommand } from './commands/inspect';
import { loadCommand } from './commands/load';
import { logsCommand } from './commands/logs';
import { loginCommand } from './commands/login';
import { logoutCommand } from './commands/logout';
import { psCommand } from './commands/ps';
import { pullCommand } from './commands/pull';
import { rmCommand } from './commands/rm';
import { rmiCommand } from './commands/rmi';
import { runCommand } from './commands/run';
import { startCommand } from './commands/start';
import { killCommand, stopCommand } from './commands/stop';
import { tagCommand } from './commands/tag';
import { waitCommand } from './commands/wait';
import { CliError, ExitStatus } from './errors';
import { commandHelp } from './help';

/** Every `noah` verb, in the order `noah --help` lists them. */
export const commands: Command[] = [
  runCommand,
  execCommand,
  psCommand,
  logsCommand,
  stopCommand,
  killCommand,
  startCommand,
  waitCommand,
  rmCommand,
  createCommand,
  diffCommand,
  inspectCommand,
  containerCommand,
  pullCommand,
  imagesCommand,
  imageCommand,
  rmiCommand,
  tagCommand,
  loadCommand,
  importCommand,
  loginCommand,
  logoutCommand,
  infoCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: noah [--help | --version] COMMAND [ARG...]',
    '',
    'Run Linux container images in a KVM virtual machine with no guest kernel.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "noah COMMAND --help" for the options of a command.',
  ].join('\n');
}

/** Runs `noah ARGV...` and resolves to the exit status. */
export async function main(argv: string[], io: CommandIo = process): Promise<number> {
  try {
    const first = argv[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(usage() + '\n');
      return first === undefined ? ExitStatus.usage : ExitStatus.ok;
    }
    if (first === '--version' || first === '-v' || first === 'version') {
      io.stdout.write(`noah version ${packageVersion()}\n`);
      return ExitStatus.ok;
    }
    const command = commands.find((c) => c.name === first);
    if (command === undefined) {
      throw new CliError(`unknown command "${first}": run "noah --help" for the list`);
    }
    const rest = argv.slice(1);
    const beforeCommand = command.stopAtPositional
      ? rest.slice(0, firstPositional(rest, command))
      : rest;
    if (beforeCommand.includes('--help') || beforeCommand.includes('-h')) {
      io.stdout.write(commandHelp(command) + '\n');
      return ExitStatus.ok;
    }
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`noah: ${error.message}\n`);
      return error.exitStatus;
    }
    // The stack helps only noah's developers, so it is printed with NOAH_DEBUG=1 alone.
    const message = error instanceof Error ? error.message : String(error);
    const stack =
      error instanceof Error && process.env.NOAH_DEBUG === '1' ? error.stack : undefined;
    io.stderr.write(`noah: ${message}\n${stack === undefined ? '' : stack + '\n'}`);
    return ExitStatus.noahFailed;
  }
}

/** The index of the first positional argument, so `--help` after it belongs to the program. */
function firstPositional(argv: string[], command: Command): number {
  try {
    const parsed = parseArgs(
      argv,
      [...command.options, { name: 'help', short: 'h', help: '' }],
      true,
    );
    return parsed.positionals.length === 0 ? argv.length : argv.length - parsed.positionals.length;
  } catch {
    return argv.length;
  }
}
