import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { isErrno } from '../image/store';
import { loadAddon } from '../native';
import { LogStream, LogTimeRecorder } from './log-times';

/** Milliseconds to wait for the output pipes to close once every container process is gone. */
const DRAIN_TIMEOUT_MS = 5000;

/**
 * The output of an attached container. The translator writes into pipes, and this process
 * copies each chunk to its own stdout or stderr and appends it to the container's log, as
 * Docker's daemon does, so `noah logs` shows attached runs too. Without -t the program's stdout
 * and stderr are these pipes, as under `docker run` without -t. With -t the translator relays
 * the pseudo-terminal's output into the stdout pipe.
 */
export class AttachedOutput {
  /** The pipes' write ends, for the translator's stdout and stderr. */
  readonly childEnds: [number, number];
  private readonly readEnds: [number, number];
  private copies: Promise<void>[] = [];
  private readonly sources: Readable[] = [];

  /** `logTimes` watches the logs from before the launch, and stops when the copies end. */
  constructor(
    private readonly dir: string,
    private readonly logTimes: LogTimeRecorder,
  ) {
    const [stdoutRead, stdoutWrite] = loadAddon().pipe();
    const [stderrRead, stderrWrite] = loadAddon().pipe();
    this.readEnds = [stdoutRead, stderrRead];
    this.childEnds = [stdoutWrite, stderrWrite];
  }

  /**
   * Closes this process's copies of the write ends, which the translator now has, and starts
   * copying; or, when `launched` is false, closes every end.
   */
  start(launched: boolean): void {
    for (const fd of this.childEnds) fs.closeSync(fd);
    if (!launched) {
      for (const fd of this.readEnds) fs.closeSync(fd);
      this.logTimes.stop();
      return;
    }
    this.copies = (['stdout', 'stderr'] as const).map((stream, index) => {
      const source = new net.Socket({ fd: this.readEnds[index], readable: true, writable: false });
      this.sources.push(source);
      return copyStream(source, process[stream], path.join(this.dir, `${stream}.log`), stream);
    });
  }

  /**
   * Resolves once both pipes are closed: call it after the container's processes have ended.
   * A pipe that an escaped process keeps open is closed after DRAIN_TIMEOUT_MS.
   */
  async finish(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const source of this.sources) source.destroy();
        resolve();
      }, DRAIN_TIMEOUT_MS);
    });
    await Promise.race([Promise.all(this.copies), timeout]);
    clearTimeout(timer);
    this.logTimes.stop();
  }
}

/**
 * Copies `source` to `target` and appends it to the log file `logPath`. When `target` is closed
 * (`noah run ... | head -1`), the pipe is closed too, so the program gets SIGPIPE on its next
 * write, as it would writing to `head` itself.
 */
function copyStream(
  source: Readable,
  target: NodeJS.WriteStream,
  logPath: string,
  stream: LogStream,
): Promise<void> {
  let log: number | undefined = fs.openSync(logPath, 'a');
  let targetOpen = true;
  const onTargetError = (error: Error) => {
    targetOpen = false;
    source.destroy();
    if (!isErrno(error, 'EPIPE')) {
      process.stderr.write(`noah: writing the container's ${stream}: ${error.message}\n`);
    }
  };
  target.on('error', onTargetError);
  source.on('data', (chunk: Buffer) => {
    if (log !== undefined) {
      try {
        fs.writeSync(log, chunk);
      } catch (error) {
        // A full disk loses the log, not the output on the terminal.
        process.stderr.write(`noah: ${logPath}: ${(error as Error).message}\n`);
        fs.closeSync(log);
        log = undefined;
      }
    }
    if (targetOpen && !target.write(chunk)) {
      source.pause();
      target.once('drain', () => source.resume());
    }
  });
  return new Promise((resolve) => {
    source.once('close', () => {
      target.off('error', onTargetError);
      if (log !== undefined) fs.closeSync(log);
      resolve();
    });
  });
}
