/**
 * Helpers for the noah-oci tests: bundles unpacked by umoci from the busybox fixture image,
 * and noah-oci run as a child process with its own --root.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runCommand } from '../fixtures/command';
import { fixtureImage } from '../fixtures/images';
import { asanTranslator, repoRoot } from '../helpers/cli';

export const nooci = path.join(repoRoot, 'bin', 'noah-oci');

/** The result of one command run as a child process. */
export interface OciResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A config.json as the tests edit it. */
export interface BundleConfig {
  process: {
    terminal?: boolean;
    args: string[];
    env?: string[];
    cwd: string;
    rlimits?: Array<{ type: string; soft: number; hard: number }>;
    user: { uid: number; gid: number; additionalGids?: number[] };
  };
  hooks?: Record<
    string,
    Array<{ path: string; args?: string[]; env?: string[]; timeout?: number }>
  >;
  mounts?: Array<{ destination: string; type?: string; source?: string; options?: string[] }>;
  [key: string]: unknown;
}

/** Makes a scratch folder under the system's temporary folder; each suite removes its own. */
export function makeScratch(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `noah-oci-${prefix}-`));
}

/** Unpacks the busybox fixture image into BUNDLE (config.json and rootfs/) with umoci. */
export async function busyboxBundle(bundle: string): Promise<void> {
  const image = await fixtureImage('busybox');
  await runCommand('umoci', ['unpack', '--image', `${image.layout}:${image.tag}`, bundle]);
}

/** Rewrites BUNDLE/config.json through `edit`. */
export function editConfig(bundle: string, edit: (config: BundleConfig) => void): void {
  const file = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as BundleConfig;
  edit(config);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
}

/** Sets the bundle's program, without a terminal. */
export function setArgs(bundle: string, args: string[]): void {
  editConfig(bundle, (config) => {
    config.process.args = args;
    config.process.terminal = false;
  });
}

/**
 * Runs a runtime (noah-oci by default) with ARGS and collects its output. `stdio` files take
 * the container's stdout and stderr for commands that leave a container process behind
 * (create, run -d, exec -d), which would otherwise hold the pipes open.
 */
export function runRuntime(
  args: string[],
  options: { runtime?: string; outputFile?: string; input?: string } = {},
): OciResult {
  const runtime = options.runtime ?? nooci;
  const env = { ...process.env, NOAH_TRANSLATOR: asanTranslator() };
  if (options.outputFile !== undefined) {
    const fd = fs.openSync(options.outputFile, 'a');
    try {
      const result = spawnSync(runtime, args, { env, stdio: ['ignore', fd, fd] });
      return { status: result.status, stdout: '', stderr: '' };
    } finally {
      fs.closeSync(fd);
    }
  }
  const result = spawnSync(runtime, args, { env, encoding: 'utf8', input: options.input });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Waits until `check` returns true, polling every 20 ms, or throws after `milliseconds`. */
export async function waitFor(
  description: string,
  check: () => boolean,
  milliseconds = 10_000,
): Promise<void> {
  const deadline = Date.now() + milliseconds;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${milliseconds} ms: ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Returns whether process `pid` exists and is not a zombie. */
export function processExists(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Returns the state letter of /proc/PID/stat (R, S, T, Z...). */
export function processState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}
