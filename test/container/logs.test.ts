/**
 * Container logs through the CLI: the output of detached containers and of attached runs
 * without a terminal, with --tail, -f, -t, --since and --until, and what an attached run's
 * reader closing early does to the program.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { noahEnv, repoRoot } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome, waitFor } from './noah';

let home: NoahHome;
let debian: string;

beforeAll(() => {
  home = new NoahHome('logs');
  debian = testRegistryImage('debian').reference;
  expect(home.run(['pull', debian]).status).toBe(0);
});

afterAll(() => {
  home.run(['rm', '-f', ...home.containerIds()]);
  home.remove();
});

/** Starts `script` under sh in a detached container and returns its ID. */
const detached = (name: string, script: string, ...options: string[]) =>
  home.runDetached(debian, name, script, options);

describeKvm('logs of detached containers', () => {
  test('-d then logs, logs -f and wait', () => {
    const id = detached('logger', 'echo out; echo err >&2; sleep 1; echo late; exit 3');
    const waited = home.run(['wait', 'logger']);
    expect(waited.stdout).toBe('3\n');
    const logs = home.run(['logs', id.slice(0, 12)]);
    expect(logs.stdout).toBe('out\nlate\n');
    expect(logs.stderr).toBe('err\n');
    const [inspected] = JSON.parse(home.run(['inspect', 'logger']).stdout) as {
      State: { Status: string; ExitCode: number };
    }[];
    expect(inspected.State).toMatchObject({ Status: 'exited', ExitCode: 3 });
    expect(home.run(['rm', 'logger']).status).toBe(0);
  });

  test('logs -f follows output until the container exits', () => {
    detached('follower', 'for i in 1 2 3; do echo line $i; sleep 0.3; done');
    const result = home.run(['logs', '-f', 'follower']);
    expect(result.stdout).toBe('line 1\nline 2\nline 3\n');
    expect(home.run(['rm', 'follower']).status).toBe(0);
  });

  test('logs --tail N, 0 and all', () => {
    detached('tailed', 'printf "1\\n2\\n3\\nlast"; echo e1 >&2; echo e2 >&2');
    expect(home.run(['wait', 'tailed']).stdout).toBe('0\n');
    const two = home.run(['logs', '--tail', '2', 'tailed']);
    expect(two.stdout).toBe('3\nlast');
    expect(two.stderr).toBe('e1\ne2\n');
    const one = home.run(['logs', '-n', '1', 'tailed']);
    expect(one.stdout).toBe('last');
    expect(one.stderr).toBe('e2\n');
    expect(home.run(['logs', '--tail', '0', 'tailed']).stdout).toBe('');
    expect(home.run(['logs', '--tail', '10', 'tailed']).stdout).toBe('1\n2\n3\nlast');
    expect(home.run(['logs', '--tail', 'all', 'tailed']).stdout).toBe('1\n2\n3\nlast');
    expect(home.run(['logs', '--tail=-1', 'tailed']).stdout).toBe('1\n2\n3\nlast');
    expect(home.run(['rm', 'tailed']).status).toBe(0);
  });

  test('logs -f --tail 1 starts at the last line', async () => {
    detached('tail-follow', 'echo a; echo b; sleep 2; echo c');
    await waitFor(() => home.run(['logs', 'tail-follow']).stdout === 'a\nb\n');
    expect(home.run(['logs', '-f', '--tail', '1', 'tail-follow']).stdout).toBe('b\nc\n');
    expect(home.run(['rm', 'tail-follow']).status).toBe(0);
  });

  test('logs -t, --since and --until', () => {
    const before = Date.now();
    detached('timed', 'echo early; sleep 2; echo late');
    expect(home.run(['wait', 'timed']).stdout).toBe('0\n');
    const after = Date.now();
    const stamped = home.run(['logs', '-t', 'timed']).stdout.split('\n');
    expect(stamped).toHaveLength(3);
    expect(stamped[2]).toBe('');
    const [early, late] = stamped.slice(0, 2).map((line) => line.split(' '));
    expect(early[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    expect(early[1]).toBe('early');
    expect(late[1]).toBe('late');
    const earlyTime = Date.parse(early[0]);
    const lateTime = Date.parse(late[0]);
    expect(earlyTime).toBeGreaterThanOrEqual(before);
    expect(lateTime).toBeLessThanOrEqual(after);
    expect(lateTime - earlyTime).toBeGreaterThanOrEqual(1500);

    const middle = earlyTime + 1000;
    const since = (value: string) => home.run(['logs', '--since', value, 'timed']).stdout;
    const until = (value: string) => home.run(['logs', '--until', value, 'timed']).stdout;
    expect(since(new Date(middle).toISOString())).toBe('late\n');
    expect(until(new Date(middle).toISOString())).toBe('early\n');
    expect(since(String(middle / 1000))).toBe('late\n');
    expect(since('1h')).toBe('early\nlate\n');
    expect(until('1h')).toBe('');
    const bad = home.run(['logs', '--since', 'yesterday', 'timed']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^noah: invalid --since "yesterday": give an RFC 3339 time/);
    expect(home.run(['rm', 'timed']).status).toBe(0);
  });

  test('logs -f -t stamps followed lines', () => {
    detached('timed-follow', 'echo one; sleep 1; printf two');
    const lines = home.run(['logs', '-f', '-t', 'timed-follow']).stdout.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\S+Z one$/);
    expect(lines[1]).toMatch(/^\S+Z two$/);
    expect(home.run(['rm', 'timed-follow']).status).toBe(0);
  });
});

describeKvm('logs of attached runs', () => {
  const sh = (name: string, script: string) =>
    home.run(['run', '--name', name, '--entrypoint', 'sh', debian, '-c', script]);

  test('an attached run prints and logs both streams', () => {
    const run = sh('attached', 'echo out; echo err >&2; exit 4');
    expect(run.stdout).toBe('out\n');
    expect(run.stderr).toBe('err\n');
    expect(run.status).toBe(4);
    const logs = home.run(['logs', 'attached']);
    expect(logs.stdout).toBe('out\n');
    expect(logs.stderr).toBe('err\n');
    expect(home.run(['logs', '-t', 'attached']).stdout).toMatch(/^\S+Z out\n$/);
  });

  test('start -a appends to the log', () => {
    expect(sh('restarted-log', 'echo run').stdout).toBe('run\n');
    expect(home.run(['start', '-a', 'restarted-log']).stdout).toBe('run\n');
    expect(home.run(['logs', 'restarted-log']).stdout).toBe('run\nrun\n');
  });

  test('a run with -t is logged too', () => {
    const run = home.run([
      'run',
      '-t',
      '--name',
      'tty-log',
      '--entrypoint',
      'sh',
      debian,
      '-c',
      'echo on-tty',
    ]);
    expect(run.status).toBe(0);
    // The terminal turns each newline into CR LF, in the log as on the screen.
    expect(run.stdout).toBe('on-tty\r\n');
    expect(home.run(['logs', 'tty-log']).stdout).toBe('on-tty\r\n');
  });

  test('the program writes to a pipe, not the terminal', () => {
    expect(sh('not-a-tty', 'test -t 1 || echo pipe').stdout).toBe('pipe\n');
  });

  test('a large output arrives whole and in order', () => {
    const run = sh('large', 'seq 1 200000');
    const lines = run.stdout.split('\n');
    expect(lines).toHaveLength(200001);
    expect(lines[199999]).toBe('200000');
    expect(home.run(['logs', '--tail', '1', 'large']).stdout).toBe('200000\n');
  });

  test('logs into a closed pipe end quietly', () => {
    const noah = path.join(repoRoot, 'bin', 'noah');
    const script = `${noah} logs large | head -1; echo "status \${PIPESTATUS[0]}"`;
    const result = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: { ...noahEnv(), NOAH_HOME: home.dir },
    });
    expect(result.stdout).toBe('1\nstatus 0\n');
    expect(result.stderr).toBe('');
  });

  test('a reader that closes early ends the program with SIGPIPE', () => {
    const noah = path.join(repoRoot, 'bin', 'noah');
    const script = `${noah} run --rm --entrypoint yes ${debian} | head -2; echo "status \${PIPESTATUS[0]}"`;
    const result = spawnSync('bash', ['-c', script], {
      encoding: 'utf8',
      env: { ...noahEnv(), NOAH_HOME: home.dir },
      timeout: 60_000,
    });
    expect(result.stdout).toBe('y\ny\nstatus 141\n');
  });
});
