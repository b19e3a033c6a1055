import * as fs from 'node:fs';

import { expectArgs, parseFlags } from '../args';
import { Command, Context } from '../context';
import { OciError } from '../errors';
import { runHooks } from '../hooks';
import { isAlive } from '../procfs';
import { signalAll } from './delete';
import { ContainerDir, ContainerRecord, ociState, openContainer } from '../state';

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

/**
 * Lets the held translator run its program: opening the exec FIFO for reading unblocks the
 * translator's open for writing, and its one byte confirms it went on. The open does not block
 * (O_NONBLOCK), so a translator that died is noticed instead of waited for forever.
 */
async function releaseFifo(dir: ContainerDir, record: ContainerRecord): Promise<void> {
  const fd = fs.openSync(dir.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const byte = Buffer.alloc(1);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if (fs.readSync(fd, byte, 0, 1, null) === 1) return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      }
      // No byte yet: the translator has not opened the FIFO or not written to it.
      if (!isAlive(record.pid, record.pidStartTime)) {
        throw new OciError('container process exited before start');
      }
      if (Date.now() > deadline) throw new OciError('container process did not start in 10 s');
      await sleep(1);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Starts a created container and runs its startContainer and poststart hooks. */
export async function startContainer(context: Context, id: string): Promise<void> {
  const { dir, record } = openContainer(context.root, id);
  const status = dir.status(record);
  if (status === 'stopped') throw new OciError('cannot start a container that has stopped');
  if (status !== 'created') throw new OciError('cannot start an already running container');
  try {
    await runHooks(record.hooks, 'startContainer', ociState(dir, record, 'created'));
  } catch (error) {
    // The specification stops the container when a startContainer hook fails.
    signalAll([record.pid], 'SIGKILL');
    throw error;
  }
  await releaseFifo(dir, record);
  fs.rmSync(dir.fifo, { force: true });
  const warn = (message: string) => context.logger.warn(message);
  await runHooks(record.hooks, 'poststart', ociState(dir, record, 'running'), warn);
}

export const start: Command = {
  name: 'start',
  summary: 'run the program of a created container',
  async run(context, argv) {
    const parsed = parseFlags(argv, []);
    expectArgs('start', parsed, 1);
    await startContainer(context, parsed.positionals[0]);
    return 0;
  },
};
