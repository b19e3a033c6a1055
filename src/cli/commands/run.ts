import * as fs from 'node:fs';
import { resolveImage } from '../../image/images';
import { NotFoundError } from '../../image/errors';
import { ImageRecord, Store } from '../../image/store';
import { mergeCommand, readRunConfig } from '../../runtime/image-config';
import { runTranslator } from '../../runtime/translator';
import { ParsedArgs, optionFlag, optionValue, parseArgs } from '../args';
import { Command, CommandIo } from '../command';
import { CliError, ExitStatus, UsageError } from '../errors';
import { openHomeStore, withImageErrors } from './image-errors';
import { pullCommand } from './pull';

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** `noah run`: start a program in a KVM guest. */
export const runCommand: Command = {
  name: 'run',
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]  or  --rootfs DIR [OPTIONS] COMMAND [ARG...]',
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
    { name: 'entrypoint', value: true, help: 'replace the image\'s entrypoint ("" clears it)' },
    { name: 'pull', value: true, help: 'pull the image: "missing" (default), "always" or "never"' },
    { name: 'read-only', help: 'make the root filesystem read-only' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options, true);
    const rootfs = optionValue(parsed, 'rootfs');
    if (rootfs === undefined) return runImage(parsed, io);
    if (!fs.existsSync(rootfs)) throw new CliError(`--rootfs ${rootfs}: no such file or directory`);
    if (!fs.statSync(rootfs).isDirectory())
      throw new CliError(`--rootfs ${rootfs}: not a directory`);
    if (parsed.positionals.length === 0) {
      throw new UsageError('noah run --rootfs DIR needs a command to run');
    }
    const env = parseEnv(parsed.options.get('env') ?? []);
    return runTranslator({
      rootfs,
      argv: parsed.positionals,
      env,
      cwd: workdirOption(parsed) ?? '/',
      trace: optionFlag(parsed, 'trace') || process.env.NOAH_TRACE === '1',
      readOnly: optionFlag(parsed, 'read-only'),
    });
  },
};

/** Returns the -w value after checking that it is absolute, as Docker requires. */
function workdirOption(parsed: ParsedArgs): string | undefined {
  const workdir = optionValue(parsed, 'workdir');
  if (workdir !== undefined && !workdir.startsWith('/')) {
    throw new UsageError(
      `the working directory "${workdir}" is invalid: it must be an absolute path`,
    );
  }
  return workdir;
}

/** Runs `action`, turning its CLI errors into exit status 125, as docker run reports them. */
async function asNoahFailure<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof CliError) throw new CliError(error.message, ExitStatus.noahFailed);
    throw error;
  }
}

/** Finds the image in the store, pulling it first when --pull requests that. */
async function findImage(store: Store, name: string, pull: string, io: CommandIo) {
  if (pull !== 'missing' && pull !== 'always' && pull !== 'never') {
    throw new UsageError(`invalid --pull "${pull}": use "missing", "always" or "never"`);
  }
  if (pull === 'always') return pullThenResolve(store, name, io);
  try {
    return await resolveImage(store, name);
  } catch (error) {
    if (!(error instanceof NotFoundError) || pull === 'never') throw error;
    io.stderr.write(`Unable to find image '${name}' locally\n`);
    return pullThenResolve(store, name, io);
  }
}

async function pullThenResolve(store: Store, name: string, io: CommandIo): Promise<ImageRecord> {
  // Docker shows the pull's progress on stderr, so the container's stdout stays its own, and
  // exits 125 when the pull fails.
  const status = await pullCommand.run([name], { stdout: io.stderr, stderr: io.stderr });
  if (status !== ExitStatus.ok) throw new CliError(`pull ${name} failed`);
  return resolveImage(store, name);
}

/**
 * `noah run IMAGE`: the image's process in a container whose root is the image's unpacked
 * tree. TODO: a copy-on-write container layer; until it exists the root is read-only, so the
 * image is never changed.
 */
async function runImage(parsed: ParsedArgs, io: CommandIo): Promise<number> {
  const [name, ...args] = parsed.positionals;
  if (name === undefined) throw new UsageError('noah run needs an image or --rootfs DIR');
  const { config, rootfs } = await asNoahFailure(() =>
    withImageErrors(async () => {
      const store = await openHomeStore();
      const found = await findImage(store, name, optionValue(parsed, 'pull') ?? 'missing', io);
      return {
        config: await readRunConfig(store, found),
        rootfs: store.rootfsPath(found.chainId),
      };
    }),
  );
  const argv = mergeCommand(config, args, optionValue(parsed, 'entrypoint'));
  if (argv.length === 0) {
    throw new CliError(`no command specified: image ${name} has no Cmd or Entrypoint`);
  }
  const env = parseEnv(parsed.options.get('env') ?? [], config.env);
  return runTranslator({
    rootfs,
    argv,
    env,
    cwd: workdirOption(parsed) ?? config.workingDir,
    trace: optionFlag(parsed, 'trace') || process.env.NOAH_TRACE === '1',
    readOnly: true,
  });
}

/**
 * Builds the container's environment: the image's Env, then `-e` values, where `NAME=VALUE`
 * sets and a bare `NAME` copies the host's value when there is one. PATH and HOME default to
 * Docker's.
 */
function parseEnv(values: string[], imageEnv: string[] = []): string[] {
  // Docker's defaults for a root user: HOME from the user's passwd entry, here root's.
  const env = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['HOME', '/root'],
  ]);
  for (const entry of imageEnv) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
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
