import { packageVersion } from '../native';
import { parseArgs } from './args';
import { Command, CommandIo } from './command';
import { CliError, ExitStatus } from './errors';
import { commandHelp } from './help';

/**
 * Every `noah` verb, in the order `noah --help` lists them. A verb's module is loaded only when
 * it runs (or for --help), because loading all of them took as long as starting Node.js.
 */
const verbs: { name: string; load: () => Promise<Command> }[] = [
  { name: 'run', load: () => import('./commands/run').then((m) => m.runCommand) },
  { name: 'exec', load: () => import('./commands/exec').then((m) => m.execCommand) },
  { name: 'ps', load: () => import('./commands/ps').then((m) => m.psCommand) },
  { name: 'logs', load: () => import('./commands/logs').then((m) => m.logsCommand) },
  { name: 'stop', load: () => import('./commands/stop').then((m) => m.stopCommand) },
  { name: 'kill', load: () => import('./commands/stop').then((m) => m.killCommand) },
  { name: 'start', load: () => import('./commands/start').then((m) => m.startCommand) },
  { name: 'wait', load: () => import('./commands/wait').then((m) => m.waitCommand) },
  { name: 'rm', load: () => import('./commands/rm').then((m) => m.rmCommand) },
  { name: 'create', load: () => import('./commands/create').then((m) => m.createCommand) },
  { name: 'diff', load: () => import('./commands/diff').then((m) => m.diffCommand) },
  { name: 'inspect', load: () => import('./commands/inspect').then((m) => m.inspectCommand) },
  { name: 'container', load: () => import('./commands/container').then((m) => m.containerCommand) },
  { name: 'pull', load: () => import('./commands/pull').then((m) => m.pullCommand) },
  { name: 'images', load: () => import('./commands/images').then((m) => m.imagesCommand) },
  { name: 'image', load: () => import('./commands/image').then((m) => m.imageCommand) },
  { name: 'rmi', load: () => import('./commands/rmi').then((m) => m.rmiCommand) },
  { name: 'tag', load: () => import('./commands/tag').then((m) => m.tagCommand) },
  { name: 'load', load: () => import('./commands/load').then((m) => m.loadCommand) },
  { name: 'import', load: () => import('./commands/import').then((m) => m.importCommand) },
  { name: 'login', load: () => import('./commands/login').then((m) => m.loginCommand) },
  { name: 'logout', load: () => import('./commands/logout').then((m) => m.logoutCommand) },
  { name: 'info', load: () => import('./commands/info').then((m) => m.infoCommand) },
];

async function usage(): Promise<string> {
  const commands = await Promise.all(verbs.map((verb) => verb.load()));
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
  // `noah ps | head -1`: once the reader is gone, the rest of the output is dropped quietly
  // instead of ending noah with a stack trace.
  for (const stream of [io.stdout, io.stderr]) stream.on('error', ignoreClosedReader);
  try {
    const first = argv[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write((await usage()) + '\n');
      return first === undefined ? ExitStatus.usage : ExitStatus.ok;
    }
    if (first === '--version' || first === '-v' || first === 'version') {
      io.stdout.write(`noah version ${packageVersion()}\n`);
      return ExitStatus.ok;
    }
    const verb = verbs.find((v) => v.name === first);
    if (verb === undefined) {
      throw new CliError(`unknown command "${first}": run "noah --help" for the list`);
    }
    const command = await verb.load();
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
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return ExitStatus.ok;
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

function ignoreClosedReader(error: Error): void {
  if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
}
