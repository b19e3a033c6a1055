/**
 * The root folders the workloads run in. Each is an overlay mount: the cached fixture root as
 * the read-only lower layer, and an upper folder with the benchmark programs and inputs under
 * /opt/noah-bench, which also takes every write the workloads make. The upper folder is made
 * anew on each bench run and the fixture itself is never written.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { RootRole, benchFolder } from './workloads';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** The mounted roots by role, and a function that unmounts them. */
export interface MountedRoots {
  paths: Record<RootRole, string>;
  /** The cached fixture folders under the overlays, for the report. */
  fixtures: Record<RootRole, string>;
  unmount(): void;
}

function run(command: string, args: string[], step: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.error !== undefined) throw new Error(`${step}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${step}: ${command} exited with status ${result.status}: ${result.stderr}`);
  }
  return result.stdout;
}

/** Builds the fixture roots (cached in rootfs-cache/) through the test fixture builder. */
function buildFixtureRoots(): Record<RootRole, string> {
  const script = path.join(repoRoot, 'test', 'fixtures', 'build-bench.js');
  const result = spawnSync('node', [script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`building the bench roots failed (${script})`);
  const roots = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
    debian?: string;
    build?: string;
  };
  if (roots.debian === undefined || roots.build === undefined) {
    throw new Error(`${script} printed no root paths: ${result.stdout}`);
  }
  return { debian: roots.debian, build: roots.build };
}

/**
 * Writes `bytes` of deterministic text: lines of 12 words made of 2 to 8 letters drawn by a
 * fixed-seed linear congruential generator, so gzip finds repeats as in real text.
 */
function writeText(file: string, bytes: number): void {
  const vocabulary: string[] = [];
  let state = 42n;
  const next = (limit: number): number => {
    state = (state * 6364136223846793005n + 1442695040888963407n) % 2n ** 64n;
    return Number(state >> 33n) % limit;
  };
  for (let w = 0; w < 4096; w++) {
    let word = '';
    const letters = 2 + next(7);
    for (let l = 0; l < letters; l++) word += String.fromCharCode(97 + next(26));
    vocabulary.push(word);
  }
  const descriptor = fs.openSync(file, 'w');
  let written = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let l = 0; l < 1000; l++) {
      const words: string[] = [];
      for (let w = 0; w < 12; w++) words.push(vocabulary[next(vocabulary.length)]);
      lines.push(words.join(' '));
    }
    const chunk = Buffer.from(`${lines.join('\n')}\n`);
    const take = Math.min(chunk.length, bytes - written);
    fs.writeSync(descriptor, chunk, 0, take);
    written += take;
  }
  fs.closeSync(descriptor);
}

/** Fills an upper folder with /opt/noah-bench: static programs, the gzip input, the C project. */
function populateUpper(upper: string, lower: string, textInput: string): void {
  const target = path.join(upper, benchFolder);
  fs.mkdirSync(path.join(target, 'bin'), { recursive: true });
  const programs: [string, string[]][] = [
    ['getppid', []],
    ['mutex', ['-pthread']],
  ];
  for (const [name, flags] of programs) {
    const source = path.join(repoRoot, 'bench', `${name}.c`);
    run(
      'gcc',
      ['-O2', '-static', ...flags, '-o', path.join(target, 'bin', name), source],
      `compiling ${source}`,
    );
  }
  fs.copyFileSync(textInput, path.join(target, 'input.txt'));
  fs.cpSync(path.join(repoRoot, 'bench', 'cproject'), path.join(target, 'cproject'), {
    recursive: true,
  });
  // Mount points for the native chroot's /dev and /proc, which the fixtures may lack.
  for (const mountPoint of ['dev', 'proc', 'tmp']) {
    if (!fs.existsSync(path.join(lower, mountPoint))) {
      fs.mkdirSync(path.join(upper, mountPoint), { recursive: true });
    }
  }
}

function isMounted(folder: string): boolean {
  const mountInfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return mountInfo.split('\n').some((line) => line.split(' ')[4] === folder);
}

function unmountIfMounted(folder: string): void {
  if (isMounted(folder)) spawnSync('umount', ['--lazy', folder], { stdio: 'inherit' });
}

/**
 * Builds the fixture roots, then mounts one overlay per role under `workFolder`. A mount left
 * by an interrupted bench run is unmounted first.
 */
export function mountRoots(workFolder: string): MountedRoots {
  const fixtures = buildFixtureRoots();
  const textInput = path.join(workFolder, 'input-20MiB.txt');
  if (!fs.existsSync(textInput) || fs.statSync(textInput).size !== 20 * 1024 * 1024) {
    writeText(textInput, 20 * 1024 * 1024);
  }
  const mounted: string[] = [];
  const unmount = () => {
    for (const folder of mounted.splice(0)) unmountIfMounted(folder);
  };
  const paths = {} as Record<RootRole, string>;
  try {
    for (const role of Object.keys(fixtures) as RootRole[]) {
      const base = path.join(workFolder, role);
      const merged = path.join(base, 'merged');
      unmountIfMounted(merged);
      fs.rmSync(base, { recursive: true, force: true });
      const upper = path.join(base, 'upper');
      const work = path.join(base, 'work');
      for (const folder of [upper, work, merged]) fs.mkdirSync(folder, { recursive: true });
      populateUpper(upper, fixtures[role], textInput);
      const options = `lowerdir=${fixtures[role]},upperdir=${upper},workdir=${work}`;
      run('mount', ['-t', 'overlay', 'overlay', '-o', options, merged], `mounting ${merged}`);
      mounted.push(merged);
      paths[role] = merged;
    }
  } catch (error) {
    unmount();
    throw error;
  }
  return { paths, fixtures, unmount };
}
