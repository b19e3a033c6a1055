import { ContainerError } from '../../container/errors';
import { overrideEnv, readEnvFile } from '../../container/env';
import { containerLaunch } from '../../container/launch';
import { ContainerStore } from '../../container/store';
import { resolveUser } from '../../container/user';
import { spawnTranslator, TranslatorLaunch, waitForTranslator } from '../../runtime/translator';
import { optionFlag, optionValue, ParsedArgs, parseArgs } from '../args';
import { Command, CommandIo } from '../command';
import { UsageError } from '../errors';
import { openContainerStore } from './container-store';
import { withImageErrors } from './image-errors';
import { resolveImage } from '../../image/images';
import { processOptions, runCommand } from './run';

/**
 * `noah exec`: a new process in a running container's root, with its mounts, hostname and
 * environment. When no container has the name, it is taken as an image and the command runs
 * in a new container that is removed afterwards (`noah run --rm -i`).
 */
export const execCommand: Command = {
  name: 'exec',
  usage: '[OPTIONS] CONTAINER|IMAGE COMMAND [ARG...]',
  summary: 'Run a command in a running container, or in a throwaway one of an image',
  stopAtPositional: true,
  options: [
    { name: 'interactive', short: 'i', help: 'keep stdin connected' },
    { name: 'tty', short: 't', help: 'give the command a pseudo-terminal' },
    { name: 'detach', short: 'd', help: 'start the command in the background and exit at once' },
    ...processOptions,
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options, true);
    const [target, ...command] = parsed.positionals;
    if (target === undefined || command.length === 0) {
      throw new UsageError('noah exec needs a container and a command');
    }
    const workdir = optionValue(parsed, 'workdir');
    if (workdir !== undefined && !workdir.startsWith('/')) {
      throw new UsageError(
        `the working directory "${workdir}" is invalid: it must be an absolute path`,
      );
    }
    const store = await withImageErrors(openContainerStore);
    const container = await withImageErrors(() => store.find(target));
    if (container === undefined) {
      // Only an image already in the store stands in for a container: a typo in a container
      // name must not start a pull.
      const image = await resolveImage(store.images, target).catch(() => undefined);
      if (image === undefined) throw new ContainerError(`No such container: ${target}`, 1);
      return runInImage(parsed, target, command, io);
    }
    return withImageErrors(() => execIn(store, container.config.id, parsed, command));
  },
};

async function execIn(
  store: ContainerStore,
  id: string,
  parsed: ParsedArgs,
  command: string[],
): Promise<number> {
  const container = await store.get(id);
  const { config } = container;
  if (container.state.status !== 'running') {
    throw new ContainerError(`container ${config.name} is not running`, 1);
  }
  const userSpec = optionValue(parsed, 'user');
  const user =
    userSpec === undefined ? undefined : await resolveUser(store.rootfs(config), userSpec);
  // As in `docker exec`, --env-file lines come first and -e values override them.
  const values = [...execEnvFiles(parsed), ...(parsed.options.get('env') ?? [])];
  let env = overrideEnv(config.env, values);
  if (user !== undefined && !values.some((e) => e.startsWith('HOME='))) {
    env = overrideEnv(env, [`HOME=${user.home}`]);
  }
  const tty = optionFlag(parsed, 'tty');
  const launch = containerLaunch(store, config, {
    argv: command,
    env,
    cwd: optionValue(parsed, 'workdir'),
    user,
    tty,
  });
  if (optionFlag(parsed, 'detach')) return startInBackground(launch);
  const stdin = optionFlag(parsed, 'interactive') || tty ? 'inherit' : 'ignore';
  return waitForTranslator(spawnTranslator(launch, [stdin, 'inherit', 'inherit']));
}

/**
 * Reads exec's --env-file values. An unreadable file fails with status 1, as `docker exec`
 * reports errors that are not about its command line.
 */
function execEnvFiles(parsed: ParsedArgs): string[] {
  try {
    return (parsed.options.get('env-file') ?? []).flatMap(readEnvFile);
  } catch (error) {
    if (error instanceof ContainerError) throw new ContainerError(error.message, 1);
    throw error;
  }
}

/**
 * Starts `launch` in a session of its own with no stdin, stdout or stderr, as `docker exec -d`
 * does, and returns 0 once the translator has started. The container's end kills it with the
 * container's other processes, since it has the container's --container-dir argument.
 */
function startInBackground(launch: TranslatorLaunch): Promise<number> {
  const child = spawnTranslator(launch, 'ignore', true);
  return new Promise((resolve, reject) => {
    child.once('error', (error) =>
      reject(new ContainerError(`start the translator: ${error.message}`)),
    );
    child.once('spawn', () => {
      child.unref();
      resolve(0);
    });
  });
}

/** Runs `noah run --rm -i IMAGE COMMAND` (with -d, `run --rm -d`) with exec's options. */
function runInImage(parsed: ParsedArgs, image: string, command: string[], io: CommandIo) {
  // With -d, stdin stays closed: a pipe that is never written would keep a shell waiting.
  const args = optionFlag(parsed, 'detach') ? ['--rm', '-d'] : ['--rm', '-i'];
  if (optionFlag(parsed, 'tty')) args.push('-t');
  for (const file of parsed.options.get('env-file') ?? []) args.push('--env-file', file);
  for (const value of parsed.options.get('env') ?? []) args.push('-e', value);
  const workdir = optionValue(parsed, 'workdir');
  if (workdir !== undefined) args.push('-w', workdir);
  const user = optionValue(parsed, 'user');
  if (user !== undefined) args.push('-u', user);
  return runCommand.run([...args, '--', image, ...command], io);
}
