/**
 * noah-oci: an OCI runtime with runc's command line, so that podman (`--runtime`) and
 * containerd (`--runc-binary`) start containers through the translator. Each container's
 * process is a translator started detached; its state lives under --root.
 */
import * as path from 'node:path';

import { packageVersion } from '../native';
import { FlagSpec, flagSet, flagValue, parseFlags } from './args';
import { create } from './commands/create';
import { remove } from './commands/delete';
import { exec } from './commands/exec';
import { featuresCommand } from './commands/features';
import { kill } from './commands/kill';
import { list } from './commands/list';
import { pause, resume } from './commands/pause';
import { ps } from './commands/ps';
import { run } from './commands/run';
import { spec } from './commands/spec';
import { start } from './commands/start';
import { state } from './commands/state';
import { Command, Context } from './context';
import { OciError, errorMessage } from './errors';
import { LogFormat, Logger } from './log';
import { defaultRoot, ociVersion } from './state';

const commands: Command[] = [
  create,
  start,
  run,
  state,
  kill,
  remove,
  exec,
  list,
  ps,
  pause,
  resume,
  featuresCommand,
  spec,
];

const globalFlags: FlagSpec[] = [
  { name: 'root', value: true },
  { name: 'log', value: true },
  { name: 'log-format', value: true },
  { name: 'debug' },
  { name: 'systemd-cgroup' },
  { name: 'criu', value: true },
  { name: 'rootless', value: true },
  { name: 'version', aliases: ['v'] },
  { name: 'help', aliases: ['h'] },
];

function usage(): string {
  const width = Math.max(...commands.map((command) => command.name.length)) + 3;
  return [
    'Usage: noah-oci [GLOBAL FLAGS] COMMAND [FLAGS] [ARG...]',
    '',
    'The runc-compatible OCI runtime of noah: each container process runs in the translator.',
    '',
    'Commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}${command.summary}`),
    '',
    'Global flags:',
    '  --root DIR          container states (default /run/noah-oci, for other users',
    '                      $XDG_RUNTIME_DIR/noah-oci)',
    '  --log FILE          write log entries to FILE instead of stderr',
    '  --log-format FORMAT text or json',
    '  --debug             log debug entries too',
    '  --systemd-cgroup    accepted; a translator container has no cgroup',
    '  --version           print the version',
  ].join('\n');
}

/** Runs `noah-oci ARGV...` and resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  let logger = new Logger(undefined, 'text', false);
  try {
    const parsed = parseFlags(argv, globalFlags);
    const format = flagValue(parsed, 'log-format') ?? 'text';
    if (format !== 'text' && format !== 'json') {
      throw new OciError(`invalid log-format: ${format} (expected text or json)`);
    }
    logger = new Logger(flagValue(parsed, 'log'), format as LogFormat, flagSet(parsed, 'debug'));
    if (flagSet(parsed, 'version')) {
      process.stdout.write(`noah-oci version ${packageVersion()}\nspec: ${ociVersion}\n`);
      return 0;
    }
    const [name, ...rest] = parsed.positionals;
    if (name === undefined || name === 'help' || flagSet(parsed, 'help')) {
      process.stdout.write(`${usage()}\n`);
      return name === undefined && !flagSet(parsed, 'help') ? 1 : 0;
    }
    const command = commands.find((entry) => entry.name === name);
    if (command === undefined) {
      throw new OciError(`No help topic for '${name}': run "noah-oci --help"`);
    }
    const context: Context = {
      // Absolute, because state.json keeps paths under it (tmpfs folders) for later calls.
      root: path.resolve(flagValue(parsed, 'root') ?? defaultRoot()),
      logger,
      systemdCgroup: flagSet(parsed, 'systemd-cgroup'),
    };
    logger.debug(`noah-oci ${argv.join(' ')}`);
    return await command.run(context, rest);
  } catch (error) {
    logger.error(errorMessage(error));
    return error instanceof OciError ? error.exitStatus : 1;
  }
}
