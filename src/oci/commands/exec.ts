import * as fs from 'node:fs';

import { FlagSpec, ParsedFlags, expectArgs, flagSet, flagValue, parseFlags } from '../args';
import { ProcessSpec, checkProcess } from '../config';
import { Command } from '../context';
import { OciError } from '../errors';
import { runForeground, startDetached, translatorArgs } from '../launch';
import { openContainer } from '../state';
import { warnUnsupportedFlags, writePidFile } from './create';

const execFlags: FlagSpec[] = [
  { name: 'process', aliases: ['p'], value: true },
  { name: 'detach', aliases: ['d'] },
  { name: 'pid-file', value: true },
  { name: 'tty', aliases: ['t'] },
  { name: 'console-socket', value: true },
  { name: 'pidfd-socket', value: true },
  { name: 'env', aliases: ['e'], value: true, repeat: true },
  { name: 'cwd', value: true },
  { name: 'user', aliases: ['u'], value: true },
  { name: 'additional-gids', aliases: ['g'], value: true, repeat: true },
  { name: 'cap', aliases: ['c'], value: true, repeat: true },
  { name: 'no-new-privs' },
  { name: 'preserve-fds', value: true },
  { name: 'process-label', value: true },
  { name: 'apparmor', value: true },
  { name: 'cgroup', value: true, repeat: true },
  { name: 'ignore-paused' },
];

function readProcessFile(file: string): ProcessSpec {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new OciError(`read --process ${file}: ${(error as Error).message}`);
  }
  return checkProcess(parsed, 'process');
}

function parseId(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new OciError(`invalid ${flag} ${text}: expected a number`);
  return Number(text);
}

/**
 * Returns the process to run: the --process FILE, or the container's own process with the
 * arguments, --env, --cwd and --user of the command line.
 */
function execProcess(parsed: ParsedFlags, base: ProcessSpec): ProcessSpec {
  const file = flagValue(parsed, 'process');
  if (file !== undefined) return readProcessFile(file);
  const args = parsed.positionals.slice(1);
  if (args.length === 0) throw new OciError('exec args cannot be empty');
  const spec: ProcessSpec = {
    ...base,
    args,
    terminal: flagSet(parsed, 'tty'),
    env: [...(base.env ?? []), ...(parsed.flags.get('env') ?? [])],
    cwd: flagValue(parsed, 'cwd') ?? base.cwd,
    user: { ...base.user },
  };
  const user = flagValue(parsed, 'user');
  if (user !== undefined) {
    const [uid, gid] = user.split(':');
    spec.user = {
      uid: parseId(uid, '--user'),
      gid: gid === undefined ? 0 : parseId(gid, '--user'),
    };
  }
  const groups = parsed.flags.get('additional-gids');
  if (groups !== undefined)
    spec.user.additionalGids = groups.map((g) => parseId(g, '--additional-gids'));
  return spec;
}

export const exec: Command = {
  name: 'exec',
  summary: 'run a new process in a container',
  async run(context, argv) {
    const parsed = parseFlags(argv, execFlags);
    expectArgs('exec', parsed, 1, true);
    warnUnsupportedFlags(parsed, context.logger);
    const { dir, record } = openContainer(context.root, parsed.positionals[0]);
    const status = dir.status(record);
    if (status === 'stopped') throw new OciError('cannot exec in a stopped container');
    if (status === 'paused' && !flagSet(parsed, 'ignore-paused')) {
      throw new OciError('cannot exec in a paused container (use --ignore-paused to override)');
    }
    const processSpec = execProcess(parsed, record.process);
    const terminal = processSpec.terminal === true;
    const consoleSocket = terminal ? flagValue(parsed, 'console-socket') : undefined;
    const detach = flagSet(parsed, 'detach');
    if (terminal && consoleSocket === undefined && detach) {
      throw new OciError(
        'cannot allocate tty if noah-oci will detach without setting console socket',
      );
    }
    // In the foreground without a console socket, the translator relays its own terminal.
    const tty = terminal && consoleSocket === undefined;
    const args = translatorArgs(record.launch, processSpec, { consoleSocket, tty });
    const pidFile = flagValue(parsed, 'pid-file');
    if (detach) {
      const child = await startDetached(args, processSpec, context.logger);
      dir.addExec(child.pid!);
      if (pidFile !== undefined) writePidFile(pidFile, child.pid!);
      child.unref();
      return 0;
    }
    return runForeground(args, processSpec, context.logger, (pid) => {
      dir.addExec(pid);
      if (pidFile !== undefined) writePidFile(pidFile, pid);
    });
  },
};
