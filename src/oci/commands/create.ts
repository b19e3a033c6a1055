import { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FlagSpec, ParsedFlags, expectArgs, flagValue, parseFlags } from '../args';
import { Spec, loadBundle } from '../config';
import { Command, Context } from '../context';
import { OciError } from '../errors';
import { runHooks } from '../hooks';
import { startDetached, translatorArgs } from '../launch';
import { Logger } from '../log';
import { translatorMounts } from '../mounts';
import { readStat } from '../procfs';
import { ContainerDir, ContainerLaunch, ContainerRecord, ociState } from '../state';

export const createFlags: FlagSpec[] = [
  { name: 'bundle', aliases: ['b'], value: true },
  { name: 'pid-file', value: true },
  { name: 'console-socket', value: true },
  { name: 'pidfd-socket', value: true },
  { name: 'preserve-fds', value: true },
  { name: 'no-pivot' },
  { name: 'no-new-keyring' },
];

/** A created container, with the translator still attached to this process. */
export interface Created {
  dir: ContainerDir;
  record: ContainerRecord;
  child: ChildProcess;
}

/**
 * Warns about the flags that are accepted for runc's callers but not carried out.
 * TODO: --preserve-fds needs the translator to install host descriptors 3 and up in the guest.
 */
export function warnUnsupportedFlags(parsed: ParsedFlags, logger: Logger): void {
  const preserved = flagValue(parsed, 'preserve-fds');
  if (preserved !== undefined && preserved !== '0') {
    logger.warn(`--preserve-fds ${preserved} is not supported: the process gets only 0, 1 and 2`);
  }
  if (flagValue(parsed, 'pidfd-socket') !== undefined) {
    logger.warn('--pidfd-socket is not supported: no pidfd is sent');
  }
}

/** Writes a file atomically (temporary name, then rename), as runc writes --pid-file. */
export function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}`);
  fs.writeFileSync(temporary, String(pid));
  fs.renameSync(temporary, target);
}

/** Logs, at debug level, each part of config.json that a translator cannot apply. */
function logNotApplied(spec: Spec, logger: Logger): void {
  const linux = spec.linux ?? {};
  const parts = [
    'namespaces',
    'resources',
    'cgroupsPath',
    'seccomp',
    'devices',
    'maskedPaths',
    'readonlyPaths',
    'mountLabel',
    'sysctl',
    'uidMappings',
    'gidMappings',
    'intelRdt',
    'personality',
  ].filter((name) => linux[name] !== undefined);
  if (spec.process?.capabilities !== undefined) parts.push('process.capabilities');
  if (spec.process?.apparmorProfile !== undefined) parts.push('process.apparmorProfile');
  if (spec.process?.selinuxLabel !== undefined) parts.push('process.selinuxLabel');
  if (spec.process?.oomScoreAdj !== undefined) parts.push('process.oomScoreAdj');
  if (spec.process?.user.umask !== undefined) parts.push('process.user.umask');
  if (parts.length > 0) {
    logger.debug(`accepted but not applied by the translator: ${parts.join(', ')}`);
  }
}

/**
 * Creates container `id` from `bundle`: starts its translator held before the program's first
 * instruction, records the state and runs the createRuntime and createContainer hooks.
 */
export async function createContainer(
  context: Context,
  id: string,
  bundle: string,
  options: { pidFile?: string; consoleSocket?: string; relayTerminal?: boolean },
): Promise<Created> {
  const loaded = loadBundle(bundle);
  const spec = loaded.spec;
  if (spec.process === undefined) throw new OciError('invalid config.json: process is missing');
  const processSpec = spec.process;
  // A foreground run relays the terminal itself, as runc does; otherwise the terminal's master
  // must go to a console socket.
  const relayTerminal =
    processSpec.terminal === true &&
    options.consoleSocket === undefined &&
    options.relayTerminal === true;
  if (processSpec.terminal === true && options.consoleSocket === undefined && !relayTerminal) {
    throw new OciError(
      'cannot allocate tty if noah-oci will detach without setting console socket',
    );
  }
  const dir = new ContainerDir(context.root, id);
  dir.claim();
  let child: ChildProcess | undefined;
  try {
    logNotApplied(spec, context.logger);
    const launch: ContainerLaunch = {
      rootfs: loaded.rootfs,
      readOnly: spec.root.readonly === true,
      hostname: spec.hostname,
      mounts: translatorMounts(
        spec.mounts ?? [],
        loaded.bundle,
        path.join(dir.directory, 'tmpfs'),
        context.logger,
      ),
    };
    const args = translatorArgs(launch, processSpec, {
      waitFifo: dir.fifo,
      consoleSocket: processSpec.terminal === true ? options.consoleSocket : undefined,
      tty: relayTerminal,
    });
    child = await startDetached(args, processSpec, context.logger);
    const pid = child.pid!;
    const record: ContainerRecord = {
      id,
      pid,
      pidStartTime: readStat(pid)?.startTime ?? 0,
      bundle: loaded.bundle,
      rootfs: loaded.rootfs,
      created: new Date().toISOString(),
      owner: '',
      annotations: spec.annotations ?? {},
      hooks: spec.hooks ?? {},
      launch,
      process: processSpec,
    };
    dir.write(record);
    // The environment exists once the translator is held, which the specification's state
    // calls "created" (after step 2 of its lifecycle) for these hooks.
    const created = ociState(dir, record, 'created');
    await runHooks(record.hooks, 'prestart', created);
    await runHooks(record.hooks, 'createRuntime', created);
    await runHooks(record.hooks, 'createContainer', created);
    if (options.pidFile !== undefined) writePidFile(options.pidFile, pid);
    return { dir, record, child };
  } catch (error) {
    if (child?.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
    dir.remove();
    throw error;
  }
}

export const create: Command = {
  name: 'create',
  summary: 'create a container, its process held until "start"',
  async run(context, argv) {
    const parsed = parseFlags(argv, createFlags);
    expectArgs('create', parsed, 1);
    warnUnsupportedFlags(parsed, context.logger);
    const created = await createContainer(
      context,
      parsed.positionals[0],
      flagValue(parsed, 'bundle') ?? '.',
      {
        pidFile: flagValue(parsed, 'pid-file'),
        consoleSocket: flagValue(parsed, 'console-socket'),
      },
    );
    created.child.unref();
    return 0;
  },
};
