/**
 * noah-oci's lifecycle through its own command line: create stops the program before its first
 * instruction, start runs it, state follows the process, and kill, pause, resume, exec, ps and
 * delete act on it. Bundles are the busybox fixture image unpacked by umoci.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import {
  busyboxBundle,
  editConfig,
  makeScratch,
  nooci,
  processExists,
  processState,
  runRuntime,
  setArgs,
  waitFor,
} from './helpers';

describeKvm('noah-oci lifecycle', () => {
  let scratch: string;
  let bundle: string;
  let root: string;
  let output: string;
  let logFile: string;
  let counter = 0;

  // Warnings and errors go to the JSON log, and errors to stderr too, as the shim reads them.
  const globalFlags = () => ['--root', root, '--log', logFile, '--log-format', 'json'];
  const oci = (args: string[]) => runRuntime([...globalFlags(), ...args]);
  const ociDetached = (args: string[]) =>
    runRuntime([...globalFlags(), ...args], { outputFile: output });
  const stateOf = (id: string) => JSON.parse(oci(['state', id]).stdout) as Record<string, unknown>;
  const nextId = () => `c${++counter}`;

  beforeAll(async () => {
    scratch = makeScratch('lifecycle');
    bundle = path.join(scratch, 'bundle');
    await busyboxBundle(bundle);
    root = path.join(scratch, 'root');
    output = path.join(scratch, 'output');
    logFile = path.join(scratch, 'log.json');
  });

  afterAll(() => {
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      oci(['delete', '--force', id]);
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  beforeEach(() => {
    fs.writeFileSync(output, '');
    fs.writeFileSync(logFile, '');
  });

  const logEntries = () =>
    fs
      .readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { level: string; msg: string; time: string });

  test('create holds the program until start', async () => {
    setArgs(bundle, ['sh', '-c', 'echo started >/started; sleep 60']);
    fs.rmSync(path.join(bundle, 'rootfs', 'started'), { force: true });
    const id = nextId();
    const pidFile = path.join(scratch, `${id}.pid`);
    expect(ociDetached(['create', '--bundle', bundle, '--pid-file', pidFile, id]).status).toBe(0);

    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(processExists(pid)).toBe(true);
    const created = stateOf(id);
    expect(created.status).toBe('created');
    expect(created.pid).toBe(pid);
    expect(created.bundle).toBe(bundle);
    expect(created.ociVersion).toMatch(/^1\./);
    expect(fs.existsSync(path.join(bundle, 'rootfs', 'started'))).toBe(false);
    const listed = oci(['list']).stdout.split('\n')[1].split(/\s+/);
    expect(listed.slice(0, 4)).toEqual([id, String(pid), 'created', bundle]);
    expect(oci(['list', '--quiet']).stdout).toBe(`${id}\n`);

    expect(oci(['start', id]).status).toBe(0);
    await waitFor('/started', () => fs.existsSync(path.join(bundle, 'rootfs', 'started')));
    expect(stateOf(id).status).toBe('running');

    expect(oci(['kill', id, 'KILL']).status).toBe(0);
    await waitFor('the container to stop', () => stateOf(id).status === 'stopped');
    expect(stateOf(id).pid).toBe(0);
    expect(oci(['delete', id]).status).toBe(0);
    expect(oci(['state', id]).status).toBe(1);
  });

  test('run prints output and returns the exit status', () => {
    setArgs(bundle, ['sh', '-c', 'echo out; echo err >&2; exit 7']);
    const result = oci(['run', '--bundle', bundle, nextId()]);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\n');
    expect(result.status).toBe(7);
    expect(oci(['list', '--format', 'json']).stdout.trim()).toBe('null');
  });

  test('run passes SIGTERM to the container', async () => {
    setArgs(bundle, ['sleep', '60']);
    const id = nextId();
    const child = spawn(nooci, [...globalFlags(), 'run', '--bundle', bundle, id], {
      env: { ...process.env, NOAH_TRANSLATOR: asanTranslator() },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await waitFor('the container to run', () => oci(['state', id]).stdout.includes('running'));
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(oci(['state', id]).stderr).toContain('container does not exist');
  });

  test('run matches runc on the same bundle', () => {
    setArgs(bundle, ['sh', '-c', 'echo $HOME; pwd; id -u; exit 3']);
    const ours = oci(['run', '--bundle', bundle, nextId()]);
    const runcRoot = path.join(scratch, 'runc-root');
    const theirs = runRuntime(['--root', runcRoot, 'run', '--bundle', bundle, nextId()], {
      runtime: 'runc',
    });
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.status).toBe(theirs.status);
  });

  test('user, hostname and bind mount match runc', () => {
    const hostFile = path.join(scratch, 'motd');
    fs.writeFileSync(hostFile, 'from the host\n');
    const script = 'id -u; id -g; id -G; hostname; cat /etc/motd; echo x >/etc/motd || echo ro';
    setArgs(bundle, ['sh', '-c', script]);
    editConfig(bundle, (config) => {
      config.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 6] };
      config.hostname = 'oci-test';
      config.mounts?.push({
        destination: '/etc/motd',
        type: 'bind',
        source: hostFile,
        options: ['rbind', 'ro'],
      });
    });
    try {
      const ours = oci(['run', '--bundle', bundle, nextId()]);
      const theirs = runRuntime(
        ['--root', path.join(scratch, 'runc-root'), 'run', '--bundle', bundle, nextId()],
        { runtime: 'runc' },
      );
      expect(ours.stdout).toBe('1000\n1001\n1001 5 6\noci-test\nfrom the host\nro\n');
      expect(ours.stdout).toBe(theirs.stdout);
      expect(ours.status).toBe(theirs.status);
      expect(fs.readFileSync(hostFile, 'utf8')).toBe('from the host\n');
    } finally {
      editConfig(bundle, (config) => {
        config.process.user = { uid: 0, gid: 0 };
        config.mounts?.pop();
      });
    }
  });

  test('exec runs in the container', async () => {
    setArgs(bundle, ['sleep', '60']);
    const id = nextId();
    expect(ociDetached(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const exec = oci([
      'exec',
      '--env',
      'EXTRA=1',
      '--cwd',
      '/etc',
      id,
      'sh',
      '-c',
      'echo $EXTRA; pwd',
    ]);
    expect(exec.stdout).toBe('1\n/etc\n');
    expect(exec.status).toBe(0);
    expect(oci(['exec', id, 'sh', '-c', 'exit 4']).status).toBe(4);

    const processFile = path.join(scratch, 'process.json');
    const process = { args: ['sleep', '60'], cwd: '/', user: { uid: 0, gid: 0 }, env: [] };
    fs.writeFileSync(processFile, JSON.stringify(process));
    const pidFile = path.join(scratch, 'exec.pid');
    const detached = ociDetached([
      'exec',
      '--process',
      processFile,
      '--detach',
      '--pid-file',
      pidFile,
      id,
    ]);
    expect(detached.status).toBe(0);
    const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
    expect(processExists(execPid)).toBe(true);

    const pids = JSON.parse(oci(['ps', '--format', 'json', id]).stdout) as number[];
    expect(pids).toContain(stateOf(id).pid);
    expect(pids).toContain(execPid);
    const table = oci(['ps', id]).stdout;
    expect(table).toMatch(/^UID\s+PID/);
    expect(table).toContain(String(execPid));

    expect(oci(['kill', '--all', id, 'TERM']).status).toBe(0);
    await waitFor('every process to end', () => !processExists(execPid));
    await waitFor('the container to stop', () => stateOf(id).status === 'stopped');
    expect(oci(['delete', id]).status).toBe(0);
  });

  test('exec --detach of a short program', () => {
    setArgs(bundle, ['sleep', '60']);
    const id = nextId();
    expect(ociDetached(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    for (let attempt = 0; attempt < 5; attempt++) {
      expect(ociDetached(['exec', '--detach', id, 'true']).status).toBe(0);
    }
    expect(logEntries().filter((entry) => entry.level === 'error')).toEqual([]);
    expect(oci(['delete', '--force', id]).status).toBe(0);
  });

  test('pause and resume stop and continue processes', async () => {
    setArgs(bundle, ['sleep', '60']);
    const id = nextId();
    expect(ociDetached(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const pid = stateOf(id).pid as number;
    expect(oci(['pause', id]).status).toBe(0);
    expect(stateOf(id).status).toBe('paused');
    await waitFor('the process to stop', () => processState(pid) === 'T');
    expect(oci(['pause', id]).stderr).toContain('container not running');
    expect(oci(['resume', id]).status).toBe(0);
    expect(stateOf(id).status).toBe('running');
    await waitFor('the process to continue', () => processState(pid) !== 'T');
    expect(oci(['resume', id]).stderr).toContain('container not paused');
    expect(oci(['delete', '--force', id]).status).toBe(0);
    expect(processExists(pid)).toBe(false);
  });

  test('state stays true after the process dies unseen', async () => {
    setArgs(bundle, ['sleep', '60']);
    const id = nextId();
    expect(ociDetached(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const pid = stateOf(id).pid as number;
    process.kill(pid, 'SIGKILL');
    await waitFor('the container to stop', () => stateOf(id).status === 'stopped');

    // A live pid with another start time is a reused pid, not the container.
    const stateFile = path.join(root, id, 'state.json');
    const record = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(stateFile, JSON.stringify({ ...record, pid: process.pid }));
    expect(stateOf(id).status).toBe('stopped');
    expect(oci(['delete', id]).status).toBe(0);
  });

  test('delete of a running container needs --force', () => {
    setArgs(bundle, ['sleep', '60']);
    const id = nextId();
    expect(ociDetached(['run', '-d', '--bundle', bundle, id]).status).toBe(0);
    const rejected = oci(['delete', id]);
    expect(rejected.status).toBe(1);
    expect(rejected.stderr).toContain(`cannot delete container ${id} that is not stopped: running`);
    const pid = stateOf(id).pid as number;
    expect(oci(['delete', '--force', id]).status).toBe(0);
    expect(processExists(pid)).toBe(false);
  });

  test('delete of a created container kills it', () => {
    setArgs(bundle, ['true']);
    const id = nextId();
    expect(ociDetached(['create', '--bundle', bundle, id]).status).toBe(0);
    const pid = stateOf(id).pid as number;
    expect(oci(['delete', id]).status).toBe(0);
    expect(processExists(pid)).toBe(false);
  });

  test('hooks run in order with the state on stdin', () => {
    const log = path.join(scratch, 'hooks.log');
    fs.writeFileSync(log, '');
    const hook = (name: string) => ({
      path: '/bin/sh',
      args: ['sh', '-c', `read -r state; echo "${name} $state" >>${log}`],
    });
    setArgs(bundle, ['true']);
    editConfig(bundle, (config) => {
      config.hooks = Object.fromEntries(
        ['createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map(
          (name) => [name, [hook(name)]],
        ),
      );
    });
    try {
      const id = nextId();
      expect(oci(['run', '--bundle', bundle, id]).status).toBe(0);
    } finally {
      editConfig(bundle, (config) => delete config.hooks);
    }
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    const names = lines.map((line) => line.split(' ')[0]);
    expect(names).toEqual([
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
    const statuses = lines.map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)).status);
    expect(statuses).toEqual(['created', 'created', 'created', 'running', 'stopped']);
  });

  test('a failing createRuntime hook fails create', () => {
    setArgs(bundle, ['true']);
    editConfig(bundle, (config) => {
      config.hooks = { createRuntime: [{ path: '/bin/false' }] };
    });
    try {
      const id = nextId();
      const result = oci(['create', '--bundle', bundle, id]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('createRuntime hook /bin/false failed: exit status 1');
      const errors = logEntries().filter((entry) => entry.level === 'error');
      expect(errors).toHaveLength(1);
      expect(errors[0].msg).toContain('createRuntime hook /bin/false failed');
      expect(oci(['state', id]).stderr).toContain('container does not exist');
    } finally {
      editConfig(bundle, (config) => delete config.hooks);
    }
  });

  test('a failing poststart hook is a warning', () => {
    const log = path.join(scratch, 'poststart.log');
    fs.writeFileSync(log, '');
    setArgs(bundle, ['true']);
    editConfig(bundle, (config) => {
      config.hooks = {
        poststart: [
          { path: '/bin/sh', args: ['sh', '-c', 'exit 9'] },
          { path: '/bin/sh', args: ['sh', '-c', `echo second >>${log}`] },
        ],
      };
    });
    try {
      const result = oci(['run', '--bundle', bundle, nextId()]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
    } finally {
      editConfig(bundle, (config) => delete config.hooks);
    }
    expect(fs.readFileSync(log, 'utf8')).toBe('second\n');
    const warnings = logEntries().filter((entry) => entry.level === 'warning');
    expect(warnings.map((entry) => entry.msg)).toContain(
      'poststart hook /bin/sh failed: exit status 9',
    );
  });

  test('a failing startContainer hook stops the container', async () => {
    setArgs(bundle, ['sleep', '60']);
    editConfig(bundle, (config) => {
      config.hooks = { startContainer: [{ path: '/bin/false' }] };
    });
    const id = nextId();
    try {
      expect(ociDetached(['create', '--bundle', bundle, id]).status).toBe(0);
    } finally {
      editConfig(bundle, (config) => delete config.hooks);
    }
    const pid = stateOf(id).pid as number;
    const result = oci(['start', id]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('startContainer hook /bin/false failed');
    await waitFor('the container to stop', () => stateOf(id).status === 'stopped');
    expect(processExists(pid)).toBe(false);
    expect(oci(['delete', id]).status).toBe(0);
  });

  test('terminal master goes to the console socket', async () => {
    setArgs(bundle, ['sh', '-c', 'echo on-terminal; exit 5']);
    editConfig(bundle, (config) => (config.process.terminal = true));
    const socket = path.join(scratch, 'console.sock');
    const received = path.join(scratch, 'console.out');
    fs.rmSync(socket, { force: true });
    const receiver = spawn('python3', [
      path.join(__dirname, 'console-receiver.py'),
      socket,
      received,
    ]);
    try {
      await waitFor('the console socket', () => fs.existsSync(socket));
      const result = oci(['run', '--console-socket', socket, '--bundle', bundle, nextId()]);
      expect(result.status).toBe(5);
      await waitFor('the receiver to finish', () => receiver.exitCode !== null);
      expect(receiver.exitCode).toBe(0);
      expect(fs.readFileSync(received, 'utf8')).toBe('on-terminal\r\n');
    } finally {
      receiver.kill();
      editConfig(bundle, (config) => (config.process.terminal = false));
    }
  });

  test('terminal without a console socket fails create', () => {
    setArgs(bundle, ['true']);
    editConfig(bundle, (config) => (config.process.terminal = true));
    try {
      const result = oci(['create', '--bundle', bundle, nextId()]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('cannot allocate tty');
    } finally {
      editConfig(bundle, (config) => (config.process.terminal = false));
    }
  });

  test('--preserve-fds is a warning', () => {
    setArgs(bundle, ['true']);
    expect(oci(['run', '--preserve-fds', '2', '--bundle', bundle, nextId()]).status).toBe(0);
    const warnings = logEntries().filter((entry) => entry.level === 'warning');
    expect(warnings.map((entry) => entry.msg)).toContain(
      '--preserve-fds 2 is not supported: the process gets only 0, 1 and 2',
    );
  });

  test('debug log names what is not applied', () => {
    setArgs(bundle, ['true']);
    const result = runRuntime([...globalFlags(), '--debug', 'run', '--bundle', bundle, nextId()]);
    expect(result.status).toBe(0);
    const debug = logEntries()
      .filter((entry) => entry.level === 'debug')
      .map((entry) => entry.msg);
    const notApplied = debug.find((message) => message.startsWith('accepted but not applied'));
    expect(notApplied).toContain('namespaces');
    expect(notApplied).toContain('process.capabilities');
    expect(debug).toContain('mounts[0]: proc on /proc is synthesized by the translator');
  });

  test('rlimits are set and clamped', () => {
    setArgs(bundle, ['sh', '-c', 'ulimit -Sn; ulimit -Hn']);
    const hostHard = Number(
      /Max open files\s+\S+\s+(\S+)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'))![1],
    );
    editConfig(bundle, (config) => {
      config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: hostHard * 4 }];
    });
    const result = oci(['run', '--bundle', bundle, nextId()]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`512\n${hostHard}\n`);
    const warnings = logEntries().filter((entry) => entry.level === 'warning');
    expect(warnings.map((entry) => entry.msg).join('\n')).toContain('RLIMIT_NOFILE hard limit');
    editConfig(bundle, (config) => {
      config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }];
    });
  });
});
