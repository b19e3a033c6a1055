import * as fs from 'node:fs';
import { isatty } from 'node:tty';
import { resolveImage } from '../../image/images';
import { NotFoundError } from '../../image/errors';
import { ImageRecord, Store } from '../../image/store';
import { checkCreateOptions, createContainer, CreateOptions } from '../../container/create';
import { buildEnv } from '../../container/env';
import { ProgramNotLoadedError, startAttached, startDetached } from '../../container/lifecycle';
import { ContainerConfig, ContainerStore } from '../../container/store';
import { prlimitArgs } from '../../runtime/limits';
import { runTranslator } from '../../runtime/translator';
import { OptionSpec, ParsedArgs, optionFlag, optionValue, parseArgs } from '../args';
import { Command, CommandIo } from '../command';
import { CliError, ExitStatus, UsageError } from '../errors';
import { openContainerStore } from './container-store';
import { withImageErrors } from './image-errors';

/** Options of a process in a container, which `noah exec` takes too. */
export const processOptions: OptionSpec[] = [
  { name: 'env', short: 'e', value: true, repeat: true, help: 'set an environment variable' },
  {
    name: 'env-file',
    value: true,
    repeat: true,
    help: 'read environment variables from a file, one NAME=VALUE a line',
  },
  { name: 'workdir', short: 'w', value: true, help: 'working directory inside the container' },
  {
    name: 'user',
    short: 'u',
    value: true,
    help: 'user to run as: NAME, UID, NAME:GROUP or UID:GID',
  },
];

/** Options of `noah run` and `noah create` that set up the container. */
export const containerOptions: OptionSpec[] = [
  ...processOptions,
  { name: 'name', value: true, help: 'name of the container (default: a random name)' },
  { name: 'hostname', value: true, help: 'hostname (default: the first 12 digits of the ID)' },
  { name: 'entrypoint', value: true, help: 'replace the image\'s entrypoint ("" clears it)' },
  { name: 'pull', value: true, help: 'pull the image: "missing" (default), "always" or "never"' },
  { name: 'interactive', short: 'i', help: 'keep stdin connected to the container' },
  { name: 'tty', short: 't', help: 'give the container a pseudo-terminal' },
  {
    name: 'volume',
    short: 'v',
    value: true,
    repeat: true,
    help:
      'bind-mount a host folder: HOST:CONTAINER[:ro]; the options z, Z, cached, delegated, ' +
      'consistent and rprivate (or another propagation mode) are accepted and have no effect',
  },
  {
    name: 'mount',
    value: true,
    repeat: true,
    help:
      'mount: type=bind,source=HOST,target=PATH[,readonly][,bind-propagation=MODE] or ' +
      'type=tmpfs,target=PATH[,tmpfs-mode=OCTAL][,tmpfs-size=BYTES]; bind-propagation and ' +
      'tmpfs-size are accepted and have no effect',
  },
  { name: 'tmpfs', value: true, repeat: true, help: 'mount an empty temporary folder at PATH' },
  { name: 'read-only', help: 'make the root filesystem read-only' },
  { name: 'stop-signal', value: true, help: 'signal that stops the container (default SIGTERM)' },
  {
    name: 'network',
    value: true,
    help: 'network mode: only "host", which is what every container uses',
  },
  { name: 'net', value: true, help: 'old name of --network, which Docker still accepts' },
  {
    name: 'ulimit',
    value: true,
    repeat: true,
    help: 'set a resource limit, NAME=SOFT[:HARD] (nofile=1024:2048; -1 is unlimited)',
  },
  {
    name: 'publish',
    short: 'p',
    value: true,
    repeat: true,
    help: "accepted with a warning: the container's ports are the host's (--network host)",
  },
  {
    name: 'publish-all',
    short: 'P',
    help: "accepted with a warning: the container's ports are the host's (--network host)",
  },
  {
    name: 'label',
    short: 'l',
    value: true,
    repeat: true,
    help: 'set a label, KEY=VALUE, which inspect shows in Config.Labels',
  },
  {
    name: 'label-file',
    value: true,
    repeat: true,
    help: 'read labels from a file, one KEY=VALUE a line',
  },
  {
    name: 'add-host',
    value: true,
    repeat: true,
    help: 'add a line to /etc/hosts, NAME:IP; the IP host-gateway is 127.0.0.1, the host',
  },
  {
    name: 'restart',
    value: true,
    help: 'restart policy: only "no", because noah has no daemon to restart containers',
  },
  {
    name: 'init',
    help:
      'accepted and ignored: noah adds no init process, because containers share the ' +
      "host's PID space and the command is never PID 1",
  },
];

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
    ...containerOptions,
    { name: 'detach', short: 'd', help: 'run in the background and print the container ID' },
    { name: 'rm', help: 'remove the container when it exits' },
    {
      name: 'trace',
      help: 'print each system call to stderr, as strace does (with -d, to the logs)',
    },
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
    const env = buildEnv({
      home: '/root',
      imageEnv: [],
      envFiles: parsed.options.get('env-file') ?? [],
      values: parsed.options.get('env') ?? [],
    });
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

/**
 * Raises Docker's error (status 1) when -i and -t attach a stdin that is not a terminal, as in
 * `echo hi | docker run -it`. With -t alone, stdin is not attached, so any stdin works.
 */
export function checkInputTerminal(interactive: boolean, tty: boolean): void {
  if (interactive && tty && !isatty(0)) {
    throw new CliError('the input device is not a TTY', ExitStatus.failure);
  }
}

/** Runs `action`, turning its CLI errors into exit status 125, as docker run reports them. */
async function asNoahFailure<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    // The status of a program the translator could not load is its own: 126 or 127.
    if (error instanceof ProgramNotLoadedError) throw error;
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
  // Loaded here, with the registry client, so that a run of a stored image starts faster.
  const { pullCommand } = await import('./pull');
  const status = await pullCommand.run([name], { stdout: io.stderr, stderr: io.stderr });
  if (status !== ExitStatus.ok) throw new CliError(`pull ${name} failed`);
  return resolveImage(store, name);
}

/**
 * Returns whether -p or -P was given, after checking each -p value has Docker's form
 * [[IP:][HOST-PORT]:]CONTAINER-PORT[/PROTOCOL], where ports may be ranges.
 */
function publishesPorts(parsed: ParsedArgs): boolean {
  const specs = parsed.options.get('publish') ?? [];
  const port = '[0-9]+(-[0-9]+)?';
  const address = '([0-9.]+|\\[[0-9a-fA-F:.]+\\])';
  const form = new RegExp(`^((${address}:)?(${port})?:)?${port}(/(tcp|udp|sctp))?$`);
  for (const spec of specs) {
    if (!form.test(spec)) {
      throw new UsageError(
        `invalid publish spec "${spec}": use [[IP:][HOST-PORT]:]CONTAINER-PORT[/PROTOCOL]`,
      );
    }
  }
  return specs.length > 0 || optionFlag(parsed, 'publish-all');
}

/**
 * Rejects every --restart policy but "no" (Docker's default), with exit status 125, because
 * restarting a container after it exits or after a reboot needs a daemon, which noah lacks.
 */
function checkRestartPolicy(policy: string | undefined): void {
  if (policy === undefined || policy === 'no') return;
  if (!/^(always|unless-stopped|on-failure(:[0-9]+)?)$/.test(policy)) {
    throw new UsageError(
      `invalid --restart "${policy}": use no, always, unless-stopped or on-failure[:N]`,
    );
  }
  throw new CliError(
    `--restart ${policy} is not supported: noah has no daemon to restart containers, ` +
      'so only --restart no is accepted',
    ExitStatus.noahFailed,
  );
}

/** The create options that `parsed` sets, for image `imageName` and command `args`. */
export function createOptionsOf(
  parsed: ParsedArgs,
  imageName: string,
  args: string[],
): CreateOptions {
  checkRestartPolicy(optionValue(parsed, 'restart'));
  for (const flag of ['network', 'net']) {
    const network = optionValue(parsed, flag);
    if (network !== undefined && network !== 'host') {
      throw new UsageError(
        `--${flag} ${network} is not supported: containers share the host's network ` +
          '(--network host)',
      );
    }
  }
  return {
    imageName,
    args,
    entrypoint: optionValue(parsed, 'entrypoint'),
    env: parsed.options.get('env') ?? [],
    envFiles: parsed.options.get('env-file') ?? [],
    workdir: workdirOption(parsed),
    user: optionValue(parsed, 'user'),
    name: optionValue(parsed, 'name'),
    hostname: optionValue(parsed, 'hostname'),
    autoRemove: optionFlag(parsed, 'rm'),
    tty: optionFlag(parsed, 'tty'),
    interactive: optionFlag(parsed, 'interactive'),
    volumes: parsed.options.get('volume') ?? [],
    mounts: parsed.options.get('mount') ?? [],
    tmpfs: parsed.options.get('tmpfs') ?? [],
    readOnly: optionFlag(parsed, 'read-only'),
    stopSignal: optionValue(parsed, 'stop-signal'),
    ulimits: parsed.options.get('ulimit') ?? [],
    labels: parsed.options.get('label') ?? [],
    labelFiles: parsed.options.get('label-file') ?? [],
    extraHosts: parsed.options.get('add-host') ?? [],
  };
}

/**
 * Creates a container from the image that `parsed` names, pulling it when --pull asks, and
 * returns the store and the container's configuration. Every failure is status 125.
 */
export async function createFromArgs(
  parsed: ParsedArgs,
  io: CommandIo,
): Promise<{ store: ContainerStore; config: ContainerConfig }> {
  const [name, ...args] = parsed.positionals;
  if (name === undefined) throw new UsageError('noah run needs an image or --rootfs DIR');
  const options = createOptionsOf(parsed, name, args);
  if (publishesPorts(parsed)) {
    // Docker's own warning for --network host, the only network noah has.
    io.stderr.write('WARNING: Published ports are discarded when using host network mode\n');
  }
  return asNoahFailure(() =>
    withImageErrors(async () => {
      const store = await openContainerStore();
      const containerName = await checkCreateOptions(store, options);
      const image = await findImage(
        store.images,
        name,
        optionValue(parsed, 'pull') ?? 'missing',
        io,
      );
      const config = await createContainer(store, image, containerName, options);
      prlimitArgs(config.ulimits ?? [], (message) => io.stderr.write(`WARNING: ${message}\n`));
      return { store, config };
    }),
  );
}

/**
 * `noah run IMAGE`: creates a container and runs its command attached to this terminal, or
 * with -d in the background under a supervisor, printing the container ID.
 */
async function runImage(parsed: ParsedArgs, io: CommandIo): Promise<number> {
  if (!optionFlag(parsed, 'detach')) {
    checkInputTerminal(optionFlag(parsed, 'interactive'), optionFlag(parsed, 'tty'));
  }
  const { store, config } = await createFromArgs(parsed, io);
  const trace = optionFlag(parsed, 'trace');
  if (optionFlag(parsed, 'detach')) {
    try {
      await asNoahFailure(() => withImageErrors(() => startDetached(store, config.id, trace)));
    } catch (error) {
      // Docker prints the ID of the container it created even when its command is not found.
      if (error instanceof ProgramNotLoadedError) io.stdout.write(`${config.id}\n`);
      throw error;
    }
    io.stdout.write(`${config.id}\n`);
    return ExitStatus.ok;
  }
  return asNoahFailure(() => withImageErrors(() => startAttached(store, config.id, false, trace)));
}
