/**
 * `noah run --rootfs DIR COMMAND` end to end through the CLI: output, stdin, exit statuses as
 * Docker reports them, and the trace option.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { fixtureRootfs } from '../fixtures/images';
import { runNoah } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';

let debian: string;
let busybox: string;

beforeAll(async () => {
  debian = await fixtureRootfs('debian');
  busybox = await fixtureRootfs('busybox');
}, 600000);

describeKvm('noah run --rootfs', () => {
  test('runs a program and passes its output', () => {
    const result = runNoah(['run', '--rootfs', debian, 'cat', '/etc/debian_version']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(fs.readFileSync(path.join(debian, 'etc/debian_version'), 'utf8'));
    expect(result.status).toBe(0);
  });

  test('passes stdin, environment and working directory', () => {
    const input = runNoah(['run', '--rootfs', debian, 'tr', 'a-z', 'A-Z'], { input: 'hello\n' });
    expect(input.stdout).toBe('HELLO\n');
    const env = runNoah(['run', '--rootfs', debian, '-e', 'GREETING=hi', 'printenv', 'GREETING']);
    expect(env.stdout).toBe('hi\n');
    const cwd = runNoah(['run', '--rootfs', debian, '-w', '/usr/share', 'pwd']);
    expect(cwd.stdout).toBe('/usr/share\n');
  });

  test('uses the default PATH when none is given', () => {
    const result = runNoah(['run', '--rootfs', debian, 'printenv', 'PATH']);
    expect(result.stdout).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
  });

  test('returns the program exit status', () => {
    expect(runNoah(['run', '--rootfs', debian, 'sh', '-c', 'exit 42']).status).toBe(42);
    expect(runNoah(['run', '--rootfs', debian, 'false']).status).toBe(1);
  });

  test('exits 127 for a command that is not found', () => {
    const result = runNoah(['run', '--rootfs', debian, 'no-such-command']);
    expect(result.status).toBe(127);
    expect(result.stderr).toContain('"no-such-command": executable file not found in $PATH');
  });

  test('exits 126 for a file that is not executable', () => {
    const result = runNoah(['run', '--rootfs', debian, '/etc/passwd']);
    expect(result.status).toBe(126);
    expect(result.stderr).toContain('exec /etc/passwd: Permission denied');
  });

  test('exits 126 with ENOEXEC for corrupt and foreign executables', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-corrupt-'));
    try {
      const elf = fs.readFileSync(path.join(busybox, 'bin', 'busybox'));
      const foreign = Buffer.from(elf);
      foreign.writeUInt16LE(183, 18); // e_machine = EM_AARCH64
      const files: Record<string, Buffer> = {
        truncated: elf.subarray(0, 100),
        foreign,
        garbage: Buffer.from('this is not a program\n'),
        empty: Buffer.alloc(0),
      };
      for (const [name, content] of Object.entries(files)) {
        fs.writeFileSync(path.join(root, name), content, { mode: 0o755 });
        const result = runNoah(['run', '--rootfs', root, `/${name}`]);
        expect({ name, status: result.status }).toEqual({ name, status: 126 });
        expect(result.stderr).toContain(`exec /${name}: Exec format error`);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('exits 128+N when a signal ends the program', () => {
    const result = runNoah(['run', '--rootfs', debian, 'perl', '-e', 'kill "SEGV", $$']);
    expect(result.status).toBe(139);
  });

  test('exits 125 for a missing root directory', () => {
    const result = runNoah(['run', '--rootfs', '/no/such/root', 'true']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('--rootfs /no/such/root: no such file or directory');
  });

  test('--trace prints each system call', () => {
    const result = runNoah(['run', '--rootfs', debian, '--trace', 'cat', '/etc/hostname']);
    expect(result.stderr).toMatch(/\] openat\(AT_FDCWD, "\/etc\/hostname", 0, 0\) = 3\n/);
    expect(result.stderr).toMatch(/\] mmap\(NULL, \d+, 0x3, 0x22, -1, 0\) = 0x[0-9a-f]+\n/);
    expect(result.stderr).toMatch(/\] exit_group\(0\) = \?\n/);
  });

  test('/proc/self describes the guest process', () => {
    const status = runNoah([
      'run',
      '--rootfs',
      debian,
      'grep',
      '-E',
      '^(Name|Threads|Uid):',
      '/proc/self/status',
    ]);
    expect(status.stdout).toBe('Name:\tgrep\nUid:\t0\t0\t0\t0\nThreads:\t1\n');
    const cmdline = runNoah(['run', '--rootfs', debian, 'cat', '/proc/self/cmdline']);
    expect(cmdline.stdout).toBe('cat\0/proc/self/cmdline\0');
    const exe = runNoah(['run', '--rootfs', debian, 'readlink', '/proc/self/exe']);
    expect(exe.stdout).toBe('/usr/bin/readlink\n');
  });

  test('runs static busybox applets', () => {
    const echo = runNoah(['run', '--rootfs', busybox, 'busybox', 'echo', 'applet']);
    expect(echo.stdout).toBe('applet\n');
    const arithmetic = runNoah(['run', '--rootfs', busybox, 'sh', '-c', 'echo $((6 * 7))']);
    expect(arithmetic.stdout).toBe('42\n');
    const sed = runNoah(['run', '--rootfs', busybox, 'sed', 's/a/b/g'], { input: 'banana\n' });
    expect(sed.stdout).toBe('bbnbnb\n');
    const ls = runNoah(['run', '--rootfs', busybox, 'ls', '/bin']);
    expect(ls.stdout.split('\n')).toContain('busybox');
    expect(ls.status).toBe(0);
  });
});
