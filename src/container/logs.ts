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
 * Copies a detached container's stdout.log and stderr.log to `stdout` and `stderr`, from the
 * last `tailLines` lines of each when given. With `follow`, keeps copying new output until
 * the container is no longer running.
 * NOTE: the two streams are kept in separate files, so their relative order is lost and
 * `tailLines` applies to each stream, where Docker counts the lines of both together. The
 * files keep no times, so there is nothing for --timestamps, --since or --until to use. A run
 * attached to the terminal (no -d) writes to the terminal only and has no logs.
 */
export async function copyLogs(
  store: ContainerStore,
  id: string,
  follow: boolean,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
  tailLines?: number,
): Promise<void> {
  const dir = store.dir(id);
  const cursors: LogCursor[] = [
    { file: path.join(dir, 'stdout.log'), offset: 0, output: stdout },
    { file: path.join(dir, 'stderr.log'), offset: 0, output: stderr },
  ];
  if (tailLines !== undefined) {
    for (const cursor of cursors) cursor.offset = await startOfLastLines(cursor.file, tailLines);
  }
  for (;;) {
    // Read the state before the files, so output written just before the exit is copied.
    const container = await store.read(id);
    for (const cursor of cursors) await copyNew(cursor);
    if (!follow || container === undefined || container.state.status !== 'running') return;
    await sleep(FOLLOW_POLL_MS);
  }
}

/**
 * Finds the offset where the last `count` lines of `file` begin. A last line without its
 * newline counts as a line. A missing file gives 0.
 */
async function startOfLastLines(file: string, count: number): Promise<number> {
  let handle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 0;
    throw error;
  }
  try {
    const size = (await handle.stat()).size;
    if (count === 0) return size;
    const buffer = Buffer.alloc(64 * 1024);
    let end = size;
    let found = 0;
    let lastByte = true; // the file's final newline ends the last line and is not counted
    while (end > 0) {
      const start = Math.max(0, end - buffer.length);
      const { bytesRead } = await handle.read(buffer, 0, end - start, start);
      for (let i = bytesRead - 1; i >= 0; i--) {
        const isNewline = buffer[i] === 0x0a;
        if (isNewline && !lastByte && ++found === count) return start + i + 1;
        lastByte = false;
      }
      end = start;
    }
    return 0;
  } finally {
    await handle.close();
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
