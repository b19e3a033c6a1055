/** The folder inside each bench root that contains the benchmark programs and inputs. */
export const benchFolder = '/opt/noah-bench';

/** The bench root a workload runs in (see roots.ts). */
export type RootRole = 'debian' | 'build';

/** One row of the benchmark table: a command line run inside a root by every tool. */
export interface Workload {
  id: string;
  title: string;
  root: RootRole;
  argv: string[];
  /** `wall`: the time from start to exit, in ms. `stdout-ns`: the number the program prints. */
  measure: 'wall' | 'stdout-ns';
  /** Whether each tool's stdout must equal the native run's, to catch wrong results. */
  compareOutput: boolean;
  /** The limit for one run, after which the run is killed and the tool's row is marked. */
  timeoutSeconds: number;
}

function shell(script: string): string[] {
  return ['/bin/sh', '-c', script];
}

/**
 * Returns the workloads, in table order. `quick` shrinks the loops that take seconds under the
 * slower tools, so a quick run is a first look only: its rows are not comparable with a full run.
 */
export function workloads(quick: boolean): Workload[] {
  const getppidCalls = quick ? 10000 : 30000;
  const forkLoops = quick ? 100 : 300;
  const ddBytes = quick ? 20000 : 200000;
  const arithmeticLoops = quick ? 100000 : 300000;
  return [
    {
      id: 'getppid',
      title: 'getppid round trip (ns per call)',
      root: 'debian',
      argv: [`${benchFolder}/bin/getppid`, String(getppidCalls)],
      measure: 'stdout-ns',
      compareOutput: false,
      timeoutSeconds: 60,
    },
    {
      id: 'true',
      title: 'start-up: /bin/true',
      root: 'debian',
      argv: ['/bin/true'],
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 30,
    },
    {
      id: 'fork-exec',
      title: `fork+exec: /bin/true x${forkLoops}`,
      root: 'debian',
      argv: shell(`i=0; while [ $i -lt ${forkLoops} ]; do /bin/true; i=$((i + 1)); done`),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'find',
      title: 'find /usr -type f | wc -l',
      root: 'debian',
      argv: shell('find /usr -type f | wc -l'),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'ls-lR',
      title: 'ls -lR /usr | wc -c',
      root: 'debian',
      argv: shell('ls -lR /usr | wc -c'),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'tar',
      title: 'tar cf - /usr | wc -c',
      root: 'debian',
      argv: shell('tar cf - /usr 2>/dev/null | wc -c'),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'dd',
      title: `dd bs=1 count=${ddBytes}`,
      root: 'debian',
      argv: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${ddBytes}`, 'status=none'],
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'arithmetic',
      title: `sh arithmetic loop x${arithmeticLoops}`,
      root: 'debian',
      argv: shell(
        `i=0; s=0; while [ $i -lt ${arithmeticLoops} ]; do s=$(((s + i * i) % 1000003)); i=$((i + 1)); done; echo $s`,
      ),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'gzip',
      title: 'gzip -9 of 20 MiB of text',
      root: 'debian',
      argv: shell(`gzip -9 -c ${benchFolder}/input.txt | wc -c`),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 120,
    },
    {
      id: 'build',
      title: 'gcc: make -j2 of 6 C files',
      root: 'build',
      argv: shell(
        `rm -rf /tmp/noah-bench-build && cp -r ${benchFolder}/cproject /tmp/noah-bench-build && ` +
          'make -s -j2 -C /tmp/noah-bench-build && /tmp/noah-bench-build/wordcount 100000',
      ),
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 60,
    },
    {
      id: 'threads',
      title: '8 threads on one mutex',
      root: 'debian',
      argv: [`${benchFolder}/bin/mutex`, '8', '1000000'],
      measure: 'wall',
      compareOutput: true,
      timeoutSeconds: 60,
    },
  ];
}
