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
  let fd: number;
  try {
    fd = fs.openSync(dir.fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (error) {
    // The translator removes the FIFO once a start has opened it.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw alreadyStarted();
    throw error;
  }
  try {
    const byte = Buffer.alloc(1);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const count = readByte(fd, byte);
      if (count === 1) return;
      // End of file means no writer: the translator has not opened the FIFO yet, or it has
      // opened, removed and closed it after another start read the byte.
      if (count === 0 && !fs.existsSync(dir.fifo)) throw alreadyStarted();
      if (!isAlive(record.pid, record.pidStartTime)) {
        // A short program may write the byte, run and exit between the read and this check.
        if (readByte(fd, byte) === 1) return;
        throw new OciError('container process exited before start');
      }
      if (Date.now() > deadline) throw new OciError('container process did not start in 10 s');
      await sleep(1);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads one byte without blocking: 1, 0 at end of file, or -1 when no byte is there yet. */
function readByte(fd: number, byte: Buffer): number {
  try {
    return fs.readSync(fd, byte, 0, 1, null);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return -1;
    throw error;
  }
}

function alreadyStarted(): OciError {
  return new OciError('cannot start an already running container');
}

/** Starts a created container and runs its startContainer and poststart hooks. */
export async function startContainer(context: Context, id: string): Promise<void> {
  const { dir, record } = openContainer(context.root, id);
  const status = dir.status(record);
  if (status === 'stopped') throw new OciError('cannot start a container that has stopped');
  if (status !== 'created') throw alreadyStarted();
  try {
    await runHooks(record.hooks, 'startContainer', ociState(dir, record, 'created'));
  } catch (error) {
    // The specification stops the container when a startContainer hook fails.
    signalAll([record.pid], 'SIGKILL');
    throw error;
  }
  await releaseFifo(dir, record);
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
