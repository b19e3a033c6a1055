import * as fs from 'node:fs';

export type LogFormat = 'text' | 'json';
export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

/**
 * The runtime's log, in runc's two formats: logrus text (`time="..." level=error msg="..."`)
 * or one JSON object per line (`{"level":"error","msg":"...","time":"..."}`), which the
 * containerd shim parses to report why a call failed. Without a log file the entries go to
 * stderr; debug entries are written only with --debug.
 */
export class Logger {
  constructor(
    readonly file: string | undefined,
    readonly format: LogFormat,
    readonly debugEnabled: boolean,
  ) {}

  debug(message: string): void {
    if (this.debugEnabled) this.write('debug', message);
  }

  warn(message: string): void {
    this.write('warning', message);
  }

  /**
   * Logs a failure of the whole command. With a log file the plain message also goes to
   * stderr, as runc prints it for the caller.
   */
  error(message: string): void {
    this.write('error', message);
    if (this.file !== undefined) process.stderr.write(`${message}\n`);
  }

  private write(level: LogLevel, message: string): void {
    const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const line =
      this.format === 'json'
        ? JSON.stringify({ level, msg: message, time })
        : `time="${time}" level=${level} msg=${JSON.stringify(message)}`;
    if (this.file === undefined) {
      process.stderr.write(`${line}\n`);
      return;
    }
    try {
      fs.appendFileSync(this.file, `${line}\n`);
    } catch (error) {
      process.stderr.write(`${line}\n(cannot write to --log ${this.file}: ${String(error)})\n`);
    }
  }
}
