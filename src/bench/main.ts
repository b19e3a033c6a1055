/**
 * `npm run bench`: system call costs of the translator against native runs of the same
 * programs in the same root filesystem, taken interleaved in one run so that drift of a shared
 * machine affects both sides alike. Prints a table and writes bench-results.json.
 *
 * Needs root (chroot) and the debian test fixture, which it builds when missing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { translatorPath } from '../native';

interface Side {
  name: string;
  run(argv: string[]): { ms: number; stdout: string; status: number | null };
}

interface Workload {
  name: string;
  argv: string[];
  /** The figure to compare: the program's own report, or the wall time. */
  measure: 'stdout-ns' | 'wall-ms';
}

const repoRoot = path.resolve(__dirname, '..', '..');
const env = ['PATH=/usr/bin:/bin', 'LC_ALL=C'];

function timed(
  command: string,
  args: string[],
): { ms: number; stdout: string; status: number | null } {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return { ms, stdout: result.stdout, status: result.status };
}

function sides(root: string): Side[] {
  return [
    {
      name: 'native',
      // The host's /dev, bound in a private mount namespace, as a container runtime gives it.
      run: (argv) =>
        timed('unshare', [
          '--mount',
          'sh',
          '-c',
          'mount --rbind /dev "$0/dev" && exec chroot "$0" env -i "$@"',
          root,
          ...env,
          ...argv,
        ]),
    },
    {
      name: 'noah',
      run: (argv) =>
        timed(translatorPath(), [
          '--root',
          root,
          ...env.flatMap((e) => ['--env', e]),
          '--',
          ...argv,
        ]),
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Builds the fixtures if needed and returns the debian root with the benchmark programs in it. */
function prepareRoot(): string {
  const built = spawnSync('node', [path.join(repoRoot, 'test', 'fixtures', 'build.js')], {
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('building the test fixtures failed');
  const cache = path.join(repoRoot, 'rootfs-cache', 'rootfs');
  const name = fs
    .readdirSync(cache)
    .find((entry) => entry.startsWith('debian-') && !entry.endsWith('.json'));
  if (name === undefined) throw new Error(`no debian root under ${cache}`);
  const root = path.join(cache, name);
  // The mount point for the native side's /dev; the fixture has no device nodes of its own.
  fs.mkdirSync(path.join(root, 'dev'), { recursive: true });
  const program = path.join(root, 'usr', 'local', 'bin', 'noah-bench-getppid');
  const compiled = spawnSync('gcc', [
    '-O2',
    '-static',
    '-o',
    program,
    path.join(repoRoot, 'bench', 'getppid.c'),
  ]);
  if (compiled.status !== 0) throw new Error(`gcc bench/getppid.c: ${compiled.stderr}`);
  return root;
}

function main(): void {
  const quick = process.argv.includes('--quick');
  const runs = quick ? 3 : 7;
  const root = prepareRoot();
  const workloads: Workload[] = [
    {
      name: 'getppid round trip (ns)',
      argv: ['/usr/local/bin/noah-bench-getppid', quick ? '20000' : '100000'],
      measure: 'stdout-ns',
    },
    {
      name: 'dd bs=1 count=200000 (ms)',
      argv: [
        'dd',
        'if=/dev/zero',
        'of=/dev/null',
        'bs=1',
        `count=${quick ? 20000 : 200000}`,
        'status=none',
      ],
      measure: 'wall-ms',
    },
  ];
  const rows: {
    workload: string;
    side: string;
    median: number;
    min: number;
    max: number;
    ratio: number;
  }[] = [];
  for (const workload of workloads) {
    const samples = new Map<string, number[]>();
    // One warm-up each, then interleave the sides run by run.
    for (const side of sides(root)) side.run(workload.argv);
    for (let i = 0; i < runs; i++) {
      for (const side of sides(root)) {
        const result = side.run(workload.argv);
        if (result.status !== 0)
          throw new Error(`${side.name} ${workload.argv.join(' ')} exited ${result.status}`);
        const value = workload.measure === 'stdout-ns' ? Number(result.stdout.trim()) : result.ms;
        samples.set(side.name, [...(samples.get(side.name) ?? []), value]);
      }
    }
    const nativeMedian = median(samples.get('native')!);
    for (const [side, values] of samples) {
      rows.push({
        workload: workload.name,
        side,
        median: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        ratio: median(values) / nativeMedian,
      });
    }
  }
  console.log(
    `${'workload'.padEnd(28)} ${'side'.padEnd(8)} ${'median'.padStart(10)} ${'min'.padStart(10)} ${'max'.padStart(10)} ${'ratio'.padStart(8)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.workload.padEnd(28)} ${row.side.padEnd(8)} ${row.median.toFixed(1).padStart(10)} ${row.min.toFixed(1).padStart(10)} ${row.max.toFixed(1).padStart(10)} ${row.ratio.toFixed(1).padStart(8)}`,
    );
  }
  const output = path.join(repoRoot, 'bench-results.json');
  fs.writeFileSync(
    output,
    JSON.stringify({ date: new Date().toISOString(), runs, rows }, null, 2) + '\n',
  );
  console.log(`\nwrote ${output}; only ratios compare across machines`);
}

main();
