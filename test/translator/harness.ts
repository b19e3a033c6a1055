/**
 * Runs programs under the translator and natively under chroot in the same root directory, so
 * tests can compare stdout, stderr and exit status.
 *
 * Each suite gets its own overlay mount over a fixture root: writes land in a temporary upper
 * directory, the shared fixture is never changed, and both sides see the same files. Needs root
 * (mount, chroot, unshare), as CI has.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { asanTranslator } from '../helpers/cli';

/** What one program run produced. */
export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes, for binary output. */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: string[];
  cwd?: string;
  input?: string | Buffer;
  timeoutMs?: number;
  /** Translator flags before the program, such as --shared-inodes. */
  flags?: string[];
}

/** The environment both sides get unless a test passes its own. */
export const defaultEnv = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  'LC_ALL=C',
];

function result(spawned: ReturnType<typeof spawnSync>): RunResult {
  return {
    status: spawned.status,
    signal: spawned.signal,
    stdout: spawned.stdout?.toString() ?? '',
    stderr: spawned.stderr?.toString() ?? '',
    stdoutBytes: Buffer.isBuffer(spawned.stdout) ? spawned.stdout : Buffer.alloc(0),
  };
}

/** Runs `argv` under the translator with `root` as "/". */
export function runTranslated(root: string, argv: string[], options: RunOptions = {}): RunResult {
  const args = ['--root', root, '--cwd', options.cwd ?? '/', ...(options.flags ?? [])];
  for (const entry of options.env ?? defaultEnv) args.push('--env', entry);
  args.push('--', ...argv);
  return result(
    spawnSync(asanTranslator(), args, {
      input: options.input ?? '',
      timeout: options.timeoutMs ?? 60000,
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' },
    }),
  );
}

/** Runs `argv` natively under chroot into `root`, with the host's /dev bound in a private mount namespace. */
export function runNative(root: string, argv: string[], options: RunOptions = {}): RunResult {
  const script =
    'mount --rbind /dev "$0/dev" && cd "$0" && exec chroot "$0" sh -c \'cd "$0" && exec env -i "$@"\' "$@"';
  return result(
    spawnSync(
      'unshare',
      [
        '--mount',
        'sh',
        '-c',
        script,
        root,
        options.cwd ?? '/',
        ...(options.env ?? defaultEnv),
        ...argv,
      ],
      {
        input: options.input ?? '',
        timeout: options.timeoutMs ?? 60000,
        maxBuffer: 256 * 1024 * 1024,
      },
    ),
  );
}

/** An overlay mount of a fixture root with a writable upper layer of its own. */
export class OverlayRoot {
  readonly merged: string;
  private readonly base: string;

  constructor(lower: string) {
    this.base = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-root-'));
    for (const name of ['upper', 'work', 'merged']) fs.mkdirSync(path.join(this.base, name));
    this.merged = path.join(this.base, 'merged');
    const options = `lowerdir=${lower},upperdir=${this.base}/upper,workdir=${this.base}/work`;
    const mounted = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', options, this.merged]);
    if (mounted.status !== 0) {
      throw new Error(`mount overlay over ${lower} failed: ${mounted.stderr.toString()}`);
    }
    fs.mkdirSync(path.join(this.merged, 'dev'), { recursive: true });
  }

  /** Unmounts the overlay and deletes its layers. */
  remove(): void {
    spawnSync('umount', ['-l', this.merged]);
    fs.rmSync(this.base, { recursive: true, force: true });
  }
}

/** Whether this process may mount and chroot, which the comparison suites need. */
export function canCompareNatively(): boolean {
  return process.getuid?.() === 0;
}
