import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isErrno } from '../image/store';
import { sleep } from './process';
import { ContainerStore } from './store';

const FOLLOW_POLL_MS = 100;

/** A log file and how much of it has been copied out. */
interface LogCursor {
  file: string;
  offset: number;
  output: NodeJS.WritableStream;
}

/**
 * Copies a detached container's stdout.log and stderr.log to `stdout` and `stderr`. With
 * `follow`, keeps copying new output until the container is no longer running.
 * NOTE: the two streams are kept in separate files, so their relative order is lost. A run
 * attached to the terminal (no -d) writes to the terminal only and has no logs.
 */
export async function copyLogs(
  store: ContainerStore,
  id: string,
  follow: boolean,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Promise<void> {
  const dir = store.dir(id);
  const cursors: LogCursor[] = [
    { file: path.join(dir, 'stdout.log'), offset: 0, output: stdout },
    { file: path.join(dir, 'stderr.log'), offset: 0, output: stderr },
  ];
  for (;;) {
    // Read the state before the files, so output written just before the exit is copied.
    const container = await store.read(id);
    for (const cursor of cursors) await copyNew(cursor);
    if (!follow || container === undefined || container.state.status !== 'running') return;
    await sleep(FOLLOW_POLL_MS);
  }
}

async function copyNew(cursor: LogCursor): Promise<void> {
  let handle;
  try {
    handle = await fsp.open(cursor.file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return; // removed with its container
    throw error;
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, cursor.offset);
      if (bytesRead === 0) return;
      cursor.offset += bytesRead;
      await writeAll(cursor.output, buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

function writeAll(output: NodeJS.WritableStream, data: Buffer): Promise<void> {
  const copy = Buffer.from(data);
  return new Promise((resolve, reject) => {
    output.write(copy, (error) => (error ? reject(error) : resolve()));
  });
}
