import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isErrno } from '../image/store';
import { formatLogTime, LogStream, LogTime, readLogTimes, timeAt } from './log-times';
import { sleep } from './process';
import { ContainerStore } from './store';

const FOLLOW_POLL_MS = 100;

/** The selection and format of `noah logs` output, from its options. */
export interface LogOptions {
  follow: boolean;
  tailLines?: number; // only the last lines of each stream
  timestamps: boolean; // each line starts with the time it was written
  since?: number; // milliseconds since the epoch: lines written at or after it
  until?: number; // lines written at or before it
}

/** A log file and how much of it has been copied out. */
interface LogCursor {
  stream: LogStream;
  file: string;
  offset: number;
  output: NodeJS.WritableStream;
  partial: Buffer; // the start of a line not yet ended, in line mode
}

/**
 * Copies a container's stdout.log and stderr.log to `stdout` and `stderr`. With
 * `follow`, keeps copying new output until the container is no longer running. With
 * timestamps, since or until, copies whole lines and looks up their times in the log-times
 * record that the supervisor keeps.
 * NOTE: the two streams are kept in separate files, so their relative order is lost and
 * `tailLines` applies to each stream, where Docker counts the lines of both together.
 */
export async function copyLogs(
  store: ContainerStore,
  id: string,
  options: LogOptions,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): Promise<void> {
  const dir = store.dir(id);
  const cursor = (stream: LogStream, output: NodeJS.WritableStream): LogCursor => ({
    stream,
    file: path.join(dir, `${stream}.log`),
    offset: 0,
    output,
    partial: Buffer.alloc(0),
  });
  const cursors = [cursor('stdout', stdout), cursor('stderr', stderr)];
  if (options.tailLines !== undefined) {
    for (const cursor of cursors) {
      cursor.offset = await startOfLastLines(cursor.file, options.tailLines);
    }
  }
  const lineMode = options.timestamps || options.since !== undefined || options.until !== undefined;
  for (;;) {
    // Read the state before the files, so output written just before the exit is copied.
    const container = await store.read(id);
    const running = container !== undefined && container.state.status === 'running';
    const pastUntil = options.until !== undefined && Date.now() > options.until;
    const last = !options.follow || !running || pastUntil;
    if (lineMode) {
      const times = readLogTimes(dir);
      for (const cursor of cursors) await copyLines(cursor, times[cursor.stream], options, last);
    } else {
      for (const cursor of cursors) await copyNew(cursor);
    }
    if (last) return;
    await sleep(FOLLOW_POLL_MS);
  }
}

/**
 * Copies the whole lines added to `cursor`'s file, each with its time when `options.timestamps` is set,
 * and with `last` the line that has no newline yet. A line written before the supervisor
 * recorded its time, or after its supervisor was killed, gets the file's modification time.
 */
async function copyLines(
  cursor: LogCursor,
  times: LogTime[],
  options: LogOptions,
  last: boolean,
): Promise<void> {
  const chunks: Buffer[] = [cursor.partial];
  cursor.offset = await readFrom(cursor.file, cursor.offset, async (data) => {
    chunks.push(Buffer.from(data));
  });
  const added = Buffer.concat(chunks);
  const start = cursor.offset - added.length;
  let modified: number;
  try {
    modified = fs.statSync(cursor.file).mtimeMs;
  } catch {
    modified = Date.now();
  }
  let lineStart = 0;
  while (lineStart < added.length) {
    const newline = added.indexOf(0x0a, lineStart);
    if (newline < 0 && !last) break;
    const lineEnd = newline < 0 ? added.length : newline + 1;
    const time = Math.floor(timeAt(times, start + lineEnd) ?? modified);
    const line = added.subarray(lineStart, lineEnd);
    lineStart = lineEnd;
    if (options.since !== undefined && time < options.since) continue;
    if (options.until !== undefined && time > options.until) continue;
    const prefix = options.timestamps ? formatLogTime(time) + ' ' : '';
    await writeAll(cursor.output, Buffer.concat([Buffer.from(prefix), line]));
  }
  cursor.partial = Buffer.from(added.subarray(lineStart));
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
  cursor.offset = await readFrom(cursor.file, cursor.offset, (data) =>
    writeAll(cursor.output, data),
  );
}

/**
 * Reads `file` from `offset` to its end, passing each chunk to `consume`, and returns the
 * offset reached. The chunk's buffer is reused, so `consume` must copy what it keeps.
 */
async function readFrom(
  file: string,
  offset: number,
  consume: (data: Buffer) => Promise<void>,
): Promise<number> {
  let handle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return offset; // removed with its container
    throw error;
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return offset;
      offset += bytesRead;
      await consume(buffer.subarray(0, bytesRead));
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
