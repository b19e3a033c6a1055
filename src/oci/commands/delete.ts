import * as fs from 'node:fs';

import { expectArgs, flagSet, parseFlags } from '../args';
import { Command, Context } from '../context';
import { OciError } from '../errors';
import { runHooks } from '../hooks';
import { ContainerDir, ContainerRecord, ociState } from '../state';

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Sends `signal` to each pid, ignoring the ones that have exited meanwhile. */
export function signalAll(pids: number[], signal: number | NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

/** Kills every process of the container with SIGKILL and waits up to 10 s for them to end. */
async function killAll(dir: ContainerDir, record: ContainerRecord): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = dir.processes(record);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      throw new OciError(`processes ${pids.join(', ')} did not end after SIGKILL`);
    }
    signalAll(pids, 'SIGKILL');
    await sleep(5);
  }
}

/** Removes a container's state after its poststop hooks, whose failures are warnings. */
export async function removeContainer(
  context: Context,
  dir: ContainerDir,
  record: ContainerRecord,
): Promise<void> {
  const warn = (message: string) => context.logger.warn(message);
  await runHooks(record.hooks, 'poststop', ociState(dir, record, 'stopped'), warn);
  dir.remove();
}

export const remove: Command = {
  name: 'delete',
  summary: 'delete a stopped container (--force: a running one too)',
  async run(context, argv) {
    const parsed = parseFlags(argv, [{ name: 'force', aliases: ['f'] }]);
    expectArgs('delete', parsed, 1);
    const dir = new ContainerDir(context.root, parsed.positionals[0]);
    if (!dir.exists()) throw new OciError('container does not exist');
    if (!fs.existsSync(dir.stateFile)) {
      // A create that failed before writing its state: nothing runs, only the folder is left.
      dir.remove();
      return 0;
    }
    const record = dir.read();
    const status = dir.status(record);
    if ((status === 'running' || status === 'paused') && !flagSet(parsed, 'force')) {
      throw new OciError(`cannot delete container ${record.id} that is not stopped: ${status}`);
    }
    await killAll(dir, record);
    await removeContainer(context, dir, record);
    return 0;
  },
};
