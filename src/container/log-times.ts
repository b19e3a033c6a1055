import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno } from '../image/store';

/**
 * The file in a container's folder that records when its logs grew: one line
 * `STREAM SIZE MILLISECONDS` each time the supervisor saw stdout.log or stderr.log reach SIZE
 * bytes, with the time in milliseconds since the epoch. The translator writes the logs
 * itself, so a time is when the supervisor noticed the write through inotify, a little after
 * it happened. Docker likewise stamps a line when it reads it from the container's pipe.
 */
export const LOG_TIMES_FILE = 'log-times';

export type LogStream = 'stdout' | 'stderr';

/** A point in a log file: it had `size` bytes at `time` (milliseconds since the epoch). */
export interface LogTime {
  size: number;
  time: number;
}

/** Minimum milliseconds between two records, so a chatty program costs few appends. */
const RECORD_INTERVAL_MS = 10;

/**
 * Watches a container's log files while its supervisor runs and appends a LOG_TIMES_FILE
 * line whenever one of them grows, at most once per RECORD_INTERVAL_MS: output written
 * within that interval after a record gets a time up to that much late.
 */
export class LogTimeRecorder {
  private readonly sizes: Record<LogStream, number>;
  private readonly watchers: fs.FSWatcher[] = [];
  private cooldown: NodeJS.Timeout | undefined;
  private changedDuringCooldown = false;

  constructor(private readonly dir: string) {
    this.sizes = { stdout: this.sizeOf('stdout'), stderr: this.sizeOf('stderr') };
    for (const stream of ['stdout', 'stderr'] as const) {
      const watcher = fs.watch(path.join(dir, `${stream}.log`), () => this.onChange());
      // A failed watch loses times, not output: `noah logs -t` then falls back to the mtime.
      watcher.on('error', () => watcher.close());
      this.watchers.push(watcher);
    }
  }

  /** Records the final sizes and stops watching. */
  stop(): void {
    for (const watcher of this.watchers) watcher.close();
    clearTimeout(this.cooldown);
    this.record();
  }

  private onChange(): void {
    if (this.cooldown !== undefined) {
      this.changedDuringCooldown = true;
      return;
    }
    this.record();
    this.cooldown = setTimeout(() => {
      this.cooldown = undefined;
      if (!this.changedDuringCooldown) return;
      this.changedDuringCooldown = false;
      this.onChange();
    }, RECORD_INTERVAL_MS);
  }

  private sizeOf(stream: LogStream): number {
    try {
      return fs.statSync(path.join(this.dir, `${stream}.log`)).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 0;
      throw error;
    }
  }

  private record(): void {
    const now = Date.now();
    let lines = '';
    for (const stream of ['stdout', 'stderr'] as const) {
      const size = this.sizeOf(stream);
      if (size <= this.sizes[stream]) continue;
      this.sizes[stream] = size;
      lines += `${stream} ${size} ${now}\n`;
    }
    if (lines === '') return;
    try {
      fs.appendFileSync(path.join(this.dir, LOG_TIMES_FILE), lines);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error; // the container was removed meanwhile
    }
  }
}

/** Reads LOG_TIMES_FILE of the container folder `dir`, each stream's points by size. */
export function readLogTimes(dir: string): Record<LogStream, LogTime[]> {
  const times: Record<LogStream, LogTime[]> = { stdout: [], stderr: [] };
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, LOG_TIMES_FILE), 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return times;
    throw error;
  }
  for (const line of text.split('\n')) {
    const [stream, size, time] = line.split(' ');
    if (stream !== 'stdout' && stream !== 'stderr') continue;
    times[stream].push({ size: Number(size), time: Number(time) });
  }
  // Sizes only grow within one supervisor, but `noah start` runs a new one on the same files.
  for (const list of Object.values(times)) list.sort((a, b) => a.size - b.size);
  return times;
}

/** Finds when the byte before `end` was first seen: the first point that reached `end`. */
export function timeAt(times: LogTime[], end: number): number | undefined {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (times[middle].size >= end) high = middle;
    else low = middle + 1;
  }
  return low < times.length ? times[low].time : undefined;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a --since or --until value as Docker does, to milliseconds since the epoch: a Go
 * duration before now ("10m", "1h30m"), Unix seconds ("1700000000.5"), or an RFC 3339 date
 * and time, where one without a zone is local time. Returns undefined for any other text.
 */
export function parseLogTime(text: string, now = Date.now()): number | undefined {
  if (/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) {
    let total = 0;
    for (const [, amount, , unit] of text.matchAll(/([0-9]+(\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
      total += Number(amount) * DURATION_UNITS[unit];
    }
    return now - total;
  }
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text) * 1000;
  // JavaScript reads a date alone as UTC, where Docker takes it as local time.
  const local = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text) ? `${text}T00:00:00` : text;
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(local)) return undefined;
  const time = Date.parse(local);
  return Number.isNaN(time) ? undefined : time;
}

/** Formats `time` as Docker's log timestamps, RFC 3339 in UTC with nine fraction digits. */
export function formatLogTime(time: number): string {
  return new Date(time).toISOString().replace(/Z$/, '000000Z');
}
