/**
 * Container lifecycle through the CLI: -d with exec, stop, kill, start, wait, rm,
 * inspect, container prune, rmi of an image in use, names taken by two commands at once, and
 * state after the container's processes are killed with SIGKILL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome, waitFor } from './noah';

let home: NoahHome;
let debian: string;

beforeAll(() => {
  home = new NoahHome('lifecycle');
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

interface Inspected {
  Id: string;
  Name: string;
  State: {
    Status: string;
    Running: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
  };
  Config: {
    Image: string;
    Cmd: string[];
    Entrypoint: string[];
    Env: string[];
    WorkingDir: string;
    User: string;
    Hostname: string;
  };
}

/** The names of the running containers, from `ps --format json`. */
function runningNames(): string[] {
  const lines = home.run(['ps', '--format', 'json']).stdout.split('\n');
  return lines.filter((line) => line !== '').map((line) => JSON.parse(line).Names as string);
}

/** The host processes of a container's translators, found by the root they were given. */
function processesOf(name: string): string[] {
  const root = path.join(home.dir, 'containers', inspect(name).Id, 'rootfs');
  return fs.readdirSync('/proc').filter((pid) => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[argv.indexOf('--root') + 1] === root;
    } catch {
      return false;
    }
  });
}

function inspect(name: string): Inspected {
  const result = home.run(['inspect', name]);
  expect(result.status).toBe(0);
  return (JSON.parse(result.stdout) as Inspected[])[0];
}

describeKvm('detached containers', () => {
  test('ps, inspect and exec in a running container', () => {
    const id = detached('sleeper', 'sleep 60', '-e', 'FROM_RUN=yes', '-w', '/tmp');
    const listed = home.run(['ps']);
    expect(listed.stdout).toMatch(
      new RegExp(
        `^${id.slice(0, 12)}\\s+${debian.replace(/[.:/]/g, '.')}\\s+"sh -c 'sleep 60'"\\s+.* ago\\s+Up .*\\s+sleeper\\n`,
        'm',
      ),
    );
    expect(home.run(['ps', '-q']).stdout).toBe(`${id.slice(0, 12)}\n`);
    const json = JSON.parse(home.run(['ps', '--format', 'json']).stdout) as Record<string, string>;
    expect(json).toMatchObject({ ID: id.slice(0, 12), Names: 'sleeper', State: 'running' });

    const details = inspect('sleeper');
    expect(details.Id).toBe(id);
    expect(details.Name).toBe('/sleeper');
    expect(details.State.Running).toBe(true);
    expect(details.State.Pid).toBeGreaterThan(0);
    expect(details.Config).toMatchObject({
      Image: debian,
      Entrypoint: ['sh'],
      Cmd: ['-c', 'sleep 60'],
      WorkingDir: '/tmp',
      Hostname: id.slice(0, 12),
    });
    expect(details.Config.Env).toContain('FROM_RUN=yes');

    const exec = home.run(['exec', 'sleeper', 'sh', '-c', 'echo $FROM_RUN $EXTRA; pwd']);
    expect(exec.stdout).toBe('yes\n/tmp\n');
    const withOptions = home.run([
      'exec',
      '-e',
      'EXTRA=1',
      '-w',
      '/etc',
      'sleeper',
      'sh',
      '-c',
      'echo $FROM_RUN $EXTRA; pwd; exit 4',
    ]);
    expect(withOptions.stdout).toBe('yes 1\n/etc\n');
    expect(withOptions.status).toBe(4);
    const asUser = home.run(['exec', '-u', 'nobody', 'sleeper', 'sh', '-c', 'id -u; echo $HOME']);
    expect(asUser.stdout).toBe('65534\n/nonexistent\n');
    const input = home.run(['exec', '-i', 'sleeper', 'cat'], 'piped\n');
    expect(input.stdout).toBe('piped\n');
    expect(home.run(['rm', 'sleeper']).status).toBe(1);
    expect(home.run(['rm', '-f', 'sleeper']).status).toBe(0);
    expect(home.run(['ps', '-a', '-q']).stdout).not.toContain(id.slice(0, 12));
  });

  test('ps in exec lists all processes of the container', () => {
    const busybox = testRegistryImage('busybox').reference;
    const run = home.run(['run', '-d', '--name', 'procs', busybox, 'sleep', '60']);
    expect(run.status).toBe(0);
    const listed = home.run(['exec', 'procs', 'ps', '-o', 'args']);
    expect(listed.stdout).toMatch(/^\s*sleep 60$/m);
    expect(listed.stdout).toMatch(/^\s*ps -o args$/m);
    expect(listed.status).toBe(0);
    expect(home.run(['rm', '-f', 'procs']).status).toBe(0);
  });

  test('exec -t gives the command a pseudo-terminal', () => {
    detached('terminal', 'sleep 60');
    const result = home.run(['exec', '-t', 'terminal', 'tty']);
    expect(result.stdout.replace(/\r/g, '')).toMatch(/^\/dev\/pts\/\d+\n$/);
    expect(result.status).toBe(0);
    expect(home.run(['rm', '-f', 'terminal']).status).toBe(0);
  });

  test('stop sends SIGTERM: status 143', () => {
    detached('stop-term', 'sleep 60');
    const started = Date.now();
    expect(home.run(['stop', 'stop-term']).stdout).toBe('stop-term\n');
    expect(Date.now() - started).toBeLessThan(8000);
    expect(inspect('stop-term').State.ExitCode).toBe(143);
    expect(home.run(['ps', '-a']).stdout).toMatch(/Exited \(143\)/);
  });

  test('stop -t sends SIGKILL when the stop signal is ignored: status 137', () => {
    detached('stop-kill', 'trap "" TERM; while :; do sleep 0.2; done');
    const started = Date.now();
    expect(home.run(['stop', '-t', '1', 'stop-kill']).status).toBe(0);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(8000);
    expect(inspect('stop-kill').State.ExitCode).toBe(137);
  });

  test('--stop-signal replaces SIGTERM', () => {
    detached(
      'stop-int',
      'trap "exit 42" INT; while :; do sleep 0.2; done',
      '--stop-signal',
      'SIGINT',
    );
    // The trap is set by the time sh loops; give it a moment to get there.
    expect(home.run(['exec', 'stop-int', 'true']).status).toBe(0);
    expect(home.run(['stop', '-t', '5', 'stop-int']).status).toBe(0);
    expect(inspect('stop-int').State.ExitCode).toBe(42);
  });

  test('kill -s and kill', () => {
    detached('killed', 'sleep 60');
    expect(home.run(['kill', '-s', 'USR1', 'killed']).status).toBe(0);
    expect(home.run(['wait', 'killed']).stdout).toBe(`${128 + 10}\n`);
    detached('killed-9', 'sleep 60');
    expect(home.run(['kill', 'killed-9']).status).toBe(0);
    expect(home.run(['wait', 'killed-9']).stdout).toBe('137\n');
    const notRunning = home.run(['kill', 'killed-9']);
    expect(notRunning.status).toBe(1);
    expect(notRunning.stderr).toContain('is not running');
  });

  test('start runs the command again in the same container', () => {
    const created = home.run([
      'create',
      '--name',
      'restarted',
      '--entrypoint',
      'sh',
      debian,
      '-c',
      'echo run; exit 5',
    ]);
    expect(created.status).toBe(0);
    expect(inspect('restarted').State.Status).toBe('created');
    expect(home.run(['ps', '-a']).stdout).toMatch(/Created\s+restarted/);
    const attached = home.run(['start', '-a', 'restarted']);
    expect(attached.stdout).toBe('run\n');
    expect(attached.status).toBe(5);
    expect(home.run(['start', 'restarted']).stdout).toBe('restarted\n');
    expect(home.run(['wait', 'restarted']).stdout).toBe('5\n');
    // Both starts are in the log: the attached one too, as in Docker.
    expect(home.run(['logs', 'restarted']).stdout).toBe('run\nrun\n');
    const exec = home.run(['exec', 'restarted', 'true']);
    expect(exec.stderr).toContain('container restarted is not running');
    expect(exec.status).toBe(1);
  });

  test('the end of the first process ends exec and background ones', async () => {
    detached('parent', 'sleep 60 & sleep 60');
    const exec = home.start(['exec', 'parent', 'sleep', '60']);
    // sh and its two sleeps, then the exec's sleep: stopping earlier races with the exec.
    await waitFor(() => processesOf('parent').length >= 4);
    expect(home.run(['stop', 'parent']).status).toBe(0);
    expect((await exec).status).toBe(137);
    expect(processesOf('parent')).toEqual([]);
  });

  test('exec -d returns at once, the command runs on', async () => {
    detached('exec-detached', 'sleep 60');
    const result = home.run([
      'exec',
      '-d',
      'exec-detached',
      'sh',
      '-c',
      'echo from-exec > /tmp/exec-d; sleep 30',
    ]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
    await waitFor(() => home.run(['exec', 'exec-detached', 'cat', '/tmp/exec-d']).stdout !== '');
    expect(home.run(['exec', 'exec-detached', 'cat', '/tmp/exec-d']).stdout).toBe('from-exec\n');
    // The container's first process and exec's sh with its sleep: exec -d did not wait for it.
    expect(processesOf('exec-detached').length).toBeGreaterThanOrEqual(2);
    expect(home.run(['stop', 'exec-detached']).status).toBe(0);
    await waitFor(() => processesOf('exec-detached').length === 0);
    expect(home.run(['rm', 'exec-detached']).status).toBe(0);
  });

  test('exec -d -t gives a pseudo-terminal', async () => {
    detached('exec-detached-tty', 'sleep 60');
    const result = home.run(['exec', '-d', '-t', 'exec-detached-tty', 'sh', '-c', 'tty > /tmp/t']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    await waitFor(() => home.run(['exec', 'exec-detached-tty', 'cat', '/tmp/t']).stdout !== '');
    expect(home.run(['exec', 'exec-detached-tty', 'cat', '/tmp/t']).stdout).toMatch(/^\/dev\//);
    expect(home.run(['rm', '-f', 'exec-detached-tty']).status).toBe(0);
  });

  test('exec --env-file, then -e over it', () => {
    detached('exec-env', 'sleep 60');
    const file = path.join(home.dir, 'exec.env');
    fs.writeFileSync(file, '# comment\nFROM_FILE=file\nOVERRIDDEN=file\n');
    const result = home.run([
      'exec',
      '--env-file',
      file,
      '-e',
      'OVERRIDDEN=flag',
      'exec-env',
      'sh',
      '-c',
      'echo $FROM_FILE $OVERRIDDEN',
    ]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('file flag\n');
    const missing = home.run([
      'exec',
      '--env-file',
      path.join(home.dir, 'missing.env'),
      'exec-env',
      'true',
    ]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      /^noah: --env-file \S+missing\.env: .*no such file or directory/,
    );
    expect(home.run(['rm', '-f', 'exec-env']).status).toBe(0);
  });

  test('-d -i keeps stdin open, -d alone gives end-of-file', () => {
    detached('reader', 'cat; echo cat ended', '-i');
    detached('no-stdin', 'cat; echo cat ended');
    expect(home.run(['wait', 'no-stdin']).stdout).toBe('0\n');
    expect(home.run(['logs', 'no-stdin']).stdout).toBe('cat ended\n');
    expect(runningNames()).toContain('reader');
    expect(home.run(['logs', 'reader']).stdout).toBe('');
    expect(home.run(['rm', '-f', 'reader', 'no-stdin']).status).toBe(0);
  });

  test('stop of a foreground run: the run exits 143', async () => {
    const run = home.start(['run', '--name', 'foreground', '--entrypoint', 'sleep', debian, '60']);
    await waitFor(() => runningNames().includes('foreground'));
    expect(home.run(['stop', 'foreground']).status).toBe(0);
    const result = await run;
    expect(result.status).toBe(143);
    expect(inspect('foreground').State).toMatchObject({ Status: 'exited', ExitCode: 143 });
    expect(home.run(['rm', 'foreground']).status).toBe(0);
  });

  test('-d with a missing command: status 127', () => {
    const result = home.run([
      'run',
      '-d',
      '--name',
      'missing-command',
      '--entrypoint',
      'nope',
      debian,
    ]);
    expect(result.stderr).toContain('"nope": executable file not found');
    expect(result.status).toBe(127);
    // Docker prints the ID it created, and keeps the container as created with the status.
    expect(result.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(inspect('missing-command').State).toMatchObject({ Status: 'created', ExitCode: 127 });
    expect(home.run(['ps', '-a']).stdout).toMatch(/Created\s+missing-command/);
    expect(home.run(['wait', 'missing-command']).stdout).toBe('127\n');
    expect(home.run(['rm', 'missing-command']).status).toBe(0);
  });

  test('-d with a file that cannot run: status 126', () => {
    const args = ['--name', 'not-executable', '--entrypoint', '/etc', debian];
    const result = home.run(['run', '-d', ...args]);
    expect(result.stderr).toContain('/etc');
    expect(result.status).toBe(126);
    expect(inspect('not-executable').State).toMatchObject({ Status: 'created', ExitCode: 126 });
    expect(home.run(['rm', 'not-executable']).status).toBe(0);
  });

  test('-d --rm with a missing command: status 127, removed', () => {
    const args = ['--rm', '--name', 'missing-removed', '--entrypoint', 'nope', debian];
    const result = home.run(['run', '-d', ...args]);
    expect(result.stderr).toContain('"nope": executable file not found');
    expect(result.status).toBe(127);
    expect(home.run(['ps', '-a']).stdout).not.toContain('missing-removed');
  });

  test('-d -t with a missing command: status 127', () => {
    const args = ['--name', 'missing-tty', '-t', '--entrypoint', 'nope', debian];
    const result = home.run(['run', '-d', ...args]);
    expect(result.stderr).toContain('"nope": executable file not found');
    expect(result.status).toBe(127);
    expect(home.run(['rm', 'missing-tty']).status).toBe(0);
  });

  test('start with a missing command: status 1', () => {
    const args = ['--name', 'missing-start', '--entrypoint', 'nope', debian];
    expect(home.run(['create', ...args]).status).toBe(0);
    const started = home.run(['start', 'missing-start']);
    expect(started.stderr).toContain('"nope": executable file not found');
    expect(started.stdout).toBe('');
    expect(started.status).toBe(1);
    expect(inspect('missing-start').State).toMatchObject({ Status: 'created', ExitCode: 127 });
    expect(home.run(['rm', 'missing-start']).status).toBe(0);
  });

  test('-d of a command that exits 127 itself: started', () => {
    const id = detached('exits-127', 'exit 127');
    expect(home.run(['wait', id]).stdout).toBe('127\n');
    expect(inspect('exits-127').State).toMatchObject({ Status: 'exited', ExitCode: 127 });
    expect(home.run(['rm', id]).status).toBe(0);
  });

  test('inspect of an unknown name: status 1 and []', () => {
    const result = home.run(['inspect', 'no-such-thing']);
    expect(result.stdout).toBe('[]\n');
    expect(result.stderr).toContain('No such object: no-such-thing');
    expect(result.status).toBe(1);
  });

  test('-d --rm removes the container after it exits', async () => {
    const id = detached('short', 'exit 0', '--rm');
    await waitFor(() => !home.containerIds().includes(id));
  });

  test('wait on an --rm container: its status', async () => {
    const id = detached('removed-waited', 'sleep 1; exit 3', '--rm');
    const waited = home.run(['wait', 'removed-waited']);
    expect(waited.stderr).toBe('');
    expect(waited.stdout).toBe('3\n');
    expect(waited.status).toBe(0);
    await waitFor(() => !home.containerIds().includes(id));
    // The waiter file is gone with its waiter.
    expect(home.temporariesNow().filter((name) => name.includes('-wait-'))).toEqual([]);
  });

  test('two waits on an --rm container: both get its status', async () => {
    detached('removed-twice', 'sleep 1; exit 4', '--rm');
    const first = home.start(['wait', 'removed-twice']);
    const second = home.start(['wait', 'removed-twice']);
    expect((await first).stdout).toBe('4\n');
    expect((await second).stdout).toBe('4\n');
  });

  test('wait on a container that rm -f removes: 137', async () => {
    detached('force-removed', 'sleep 60');
    const waiting = home.start(['wait', 'force-removed']);
    // Give the wait time to register before the container goes.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(home.run(['rm', '-f', 'force-removed']).status).toBe(0);
    const waited = await waiting;
    expect(waited.stdout).toBe('137\n');
    expect(waited.status).toBe(0);
  });

  test('container prune removes stopped containers only', () => {
    const running = detached('pruned-running', 'sleep 60');
    expect(home.run(['run', '--name', 'pruned-exited', debian]).status).toBe(0);
    // Without --force and with no terminal to ask on, nothing is removed.
    const unconfirmed = home.run(['container', 'prune']);
    expect(unconfirmed.status).toBe(125);
    expect(unconfirmed.stderr).toContain('add --force');
    expect(home.run(['ps', '-a', '--format', 'json']).stdout).toContain('"pruned-exited"');
    const pruned = home.run(['container', 'prune', '-f']);
    expect(pruned.status).toBe(0);
    expect(pruned.stdout).toMatch(/^Deleted Containers:\n/);
    const left = home.run(['ps', '-a', '--format', 'json']).stdout;
    expect(left).toContain('"pruned-running"');
    expect(left).not.toContain('"pruned-exited"');
    expect(home.run(['rm', '-f', running]).status).toBe(0);
  });

  test('rmi refuses an image a container uses', () => {
    expect(home.run(['create', '--name', 'user-of-image', debian]).status).toBe(0);
    const refused = home.run(['rmi', debian]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('is used by container');
    expect(home.run(['rm', 'user-of-image']).status).toBe(0);
  });

  test('rmi -f refuses an image a running container uses', () => {
    const busybox = testRegistryImage('busybox').reference;
    expect(home.run(['pull', busybox]).status).toBe(0);
    const id = home.runDetached(busybox, 'busybox-runner', 'sleep 60');
    const refused = home.run(['rmi', '-f', busybox]);
    expect(refused.stderr).toMatch(
      /conflict: unable to delete [0-9a-f]{12} \(cannot be forced\) - image is being used by running container /,
    );
    expect(refused.stderr).toContain(`running container ${id.slice(0, 12)}\n`);
    expect(refused.status).toBe(1);
    expect(home.run(['image', 'inspect', busybox]).status).toBe(0);
    // Once the container has stopped, --force removes the image, as Docker allows.
    expect(home.run(['stop', '-t', '0', id]).status).toBe(0);
    const forced = home.run(['rmi', '-f', busybox]);
    expect(forced.stderr).toBe('');
    expect(forced.stdout).toContain('Deleted: sha256:');
    expect(forced.status).toBe(0);
    expect(home.run(['rm', id]).status).toBe(0);
    // Later tests run busybox.
    expect(home.run(['pull', busybox]).status).toBe(0);
  });

  test('exec of an unknown name pulls nothing', () => {
    const missing = home.run(['exec', 'no-such-container-or-image', 'true']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('No such container: no-such-container-or-image');
  });

  test('exec IMAGE runs in a throwaway container', () => {
    const busybox = testRegistryImage('busybox').reference;
    const before = home.containerIds();
    const result = home.run(
      ['exec', '-e', 'GREETING=hi', busybox, 'sh', '-c', 'echo $GREETING; cat'],
      'stdin\n',
    );
    expect(result.stdout).toBe('hi\nstdin\n');
    expect(result.status).toBe(0);
    // As `run --rm -i`, the image's entrypoint stays and receives the command.
    const wrapped = home.run(['exec', debian, 'x']);
    expect(wrapped.stdout).toMatch(/^entrypoint: x\n/);
    expect(home.containerIds()).toEqual(before);
  });

  test('stop, kill and rm -v of several containers', () => {
    for (const name of ['many-1', 'many-2', 'many-3']) detached(name, 'sleep 60');
    const stopped = home.run(['stop', '-t', '5', 'many-1', 'many-2']);
    expect(stopped.stderr).toBe('');
    expect(stopped.stdout).toBe('many-1\nmany-2\n');
    expect(stopped.status).toBe(0);
    const killed = home.run(['kill', 'many-3', 'no-such-container']);
    expect(killed.stdout).toBe('many-3\n');
    expect(killed.stderr).toBe('noah: No such container: no-such-container\n');
    expect(killed.status).toBe(1);
    home.run(['wait', 'many-3']);
    expect(inspect('many-1').State.ExitCode).toBe(143);
    expect(inspect('many-2').State.ExitCode).toBe(143);
    expect(inspect('many-3').State.ExitCode).toBe(137);
    const removed = home.run(['rm', '-v', 'many-1', 'many-2', 'many-3']);
    expect(removed.stderr).toBe('');
    expect(removed.stdout).toBe('many-1\nmany-2\nmany-3\n');
    expect(removed.status).toBe(0);
    expect(home.run(['ps', '-a', '--format', '{{.Names}}']).stdout).not.toContain('many-');
  });

  test('unknown containers: status 1 and a message', () => {
    for (const verb of [['stop'], ['kill'], ['rm'], ['logs'], ['wait'], ['start'], ['diff']]) {
      const result = home.run([...verb, 'no-such-container']);
      expect(result.stderr).toContain('No such container: no-such-container');
      expect(result.status).toBe(1);
    }
  });
});

describeKvm('container state under races and crashes', () => {
  test('two commands at once on one name: one wins', async () => {
    const before = home.containerIds().length;
    const results = await Promise.all([
      home.start(['create', '--name', 'contested', debian]),
      home.start(['create', '--name', 'contested', debian]),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([0, 125]);
    const loser = results.find((r) => r.status === 125)!;
    expect(loser.stderr).toContain('the container name "/contested" is already in use');
    expect(home.containerIds().length).toBe(before + 1);
    expect(await home.temporaries()).toEqual([]);
    expect(home.run(['rm', 'contested']).status).toBe(0);
  });

  test('short commands at once: each recorded and removed', async () => {
    const before = home.containerIds();
    const runs = Array.from({ length: 6 }, () =>
      home.start(['run', '--rm', '--entrypoint', 'true', debian]),
    );
    const results = await Promise.all(runs);
    expect(results.map((r) => r.status)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(home.containerIds()).toEqual(before);
  });

  test('two starts at once run the command once', async () => {
    expect(
      home.run(['create', '--name', 'double', '--entrypoint', 'sleep', debian, '2']).status,
    ).toBe(0);
    const results = await Promise.all([
      home.start(['start', 'double']),
      home.start(['start', 'double']),
    ]);
    expect(results.map((r) => r.status)).toEqual([0, 0]);
    expect(home.run(['wait', 'double']).stdout).toBe('0\n');
    expect(home.run(['rm', 'double']).status).toBe(0);
  });

  test('kill -9 of the supervisor and translator: exited 137', async () => {
    const id = detached('crashed', 'sleep 60');
    const state = home.state(id);
    process.kill(state.supervisorPid, 'SIGKILL');
    process.kill(-state.pid, 'SIGKILL');
    await waitFor(() => !runningNames().includes('crashed'));
    const listed = home
      .run(['ps', '-a', '--format', 'json'])
      .stdout.split('\n')
      .filter((l) => l.includes('"crashed"'));
    expect(listed).toHaveLength(1);
    expect(JSON.parse(listed[0])).toMatchObject({ State: 'exited' });
    expect(JSON.parse(listed[0]).Status).toMatch(/^Exited \(137\)/);
    expect(inspect('crashed').State.ExitCode).toBe(137);
    expect(home.run(['rm', 'crashed']).status).toBe(0);
  });

  test('a damaged record hides no other container', () => {
    const damaged = home.run(['create', '--name', 'damaged', debian]).stdout.trim();
    expect(home.run(['create', '--name', 'intact', debian]).status).toBe(0);
    fs.writeFileSync(path.join(home.dir, 'containers', damaged, 'state.json'), '{not json');
    const listed = home.run(['ps', '-a']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('intact');
    expect(listed.stdout).not.toContain('damaged');
    expect(home.run(['rm', damaged]).status).toBe(0);
    expect(home.containerIds()).not.toContain(damaged);
    expect(home.run(['rm', 'intact']).status).toBe(0);
  });

  test('kill -9 of the translator alone: its supervisor records 137', () => {
    const id = detached('translator-killed', 'sleep 60');
    process.kill(home.state(id).pid, 'SIGKILL');
    expect(home.run(['wait', 'translator-killed']).stdout).toBe('137\n');
    expect(home.state(id).status).toBe('exited');
  });

  test('a crash of noah run itself leaves the container running, then exited', async () => {
    const run = home.start(['run', '--name', 'orphan', '--entrypoint', 'sleep', debian, '60']);
    await waitFor(() => runningNames().includes('orphan'));
    const id = inspect('orphan').Id;
    const state = home.state(id);
    process.kill(state.supervisorPid, 'SIGKILL');
    expect(inspect('orphan').State.Running).toBe(true);
    process.kill(state.pid, 'SIGKILL');
    // The translator has copies of the run's output pipes, so they close only once it is gone.
    await run;
    await waitFor(() => !inspect('orphan').State.Running);
    expect(inspect('orphan').State.ExitCode).toBe(137);
    expect(home.run(['rm', 'orphan']).status).toBe(0);
  });
});
