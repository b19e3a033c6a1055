import * as fs from 'node:fs';
import { runTranslator } from '../../runtime/translator';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { CliError, UsageError } from '../errors';

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `noah run`: start a program in a KVM guest. */
export const runCommand: Command = {
  name: 'run',
  usage: '--rootfs DIR [OPTIONS] COMMAND [ARG...]',
  summary: 'Run a command in a new container',
  stopAtPositional: true,
  options: [
    {
      name: 'rootfs',
      value: true,
      help: 'run from this root filesystem folder instead of an image',
    },
    { name: 'env', short: 'e', value: true, repeat: true, help: 'set an environment variable' },
    { name: 'workdir', short: 'w', value: true, help: 'working directory inside the container' },
    { name: 'trace', help: 'print each system call to stderr, as strace does' },
  ],
  async run(argv) {
    const parsed = parseArgs(argv, this.options, true);
    const rootfs = optionValue(parsed, 'rootfs');
    if (rootfs === undefined) {
      // TODO: run images from the store once containers exist; only --rootfs works now.
      throw new UsageError('noah run needs --rootfs DIR: running images is not supported yet');
    }
    if (!fs.existsSync(rootfs) || !fs.statSync(rootfs).isDirectory()) {
      throw new CliError(`--rootfs ${rootfs}: not a directory`);
    }
    if (parsed.positionals.length === 0) {
      throw new UsageError('noah run --rootfs DIR needs a command to run');
    }
    const env = parseEnv(parsed.options.get('env') ?? []);
    return runTranslator({
      rootfs,
      argv: parsed.positionals,
      env,
      cwd: optionValue(parsed, 'workdir') ?? '/',
      trace: optionFlag(parsed, 'trace') || process.env.NOAH_TRACE === '1',
    });
  },
};

/**
 * Builds the container's environment from `-e` values: `NAME=VALUE` sets, a bare `NAME` copies
 * the host's value when there is one. PATH defaults to Docker's.
 */
function parseEnv(values: string[]): string[] {
  const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === 0) throw new UsageError(`invalid environment variable: ${value}`);
    if (eq > 0) {
      env.set(value.slice(0, eq), value.slice(eq + 1));
    } else if (process.env[value] !== undefined) {
      env.set(value, process.env[value]!);
    }
  }
  return [...env].map(([name, value]) => `${name}=${value}`);
}
