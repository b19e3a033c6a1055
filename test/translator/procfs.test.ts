/**
 * The synthesized /proc, /dev and /sys, read by the real procps, util-linux, coreutils and
 * busybox programs of the fixture roots. The debian fixture has no procps, so its tools run in
 * a minbase root with procps added (procps-root.ts).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { fixtureRootfs } from '../fixtures/images';
import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { RunResult, defaultEnv } from './harness';
import { procpsRootfs } from './procps-root';

let debian: string;
let busybox: string;
/** TMPDIR of every translator here, so a private process folder left behind is seen. */
let scratch: string;

beforeAll(async () => {
  debian = await procpsRootfs();
  busybox = await fixtureRootfs('busybox');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-procfs-'));
}, 600000);

afterAll(() => {
  if (scratch !== undefined) fs.rmSync(scratch, { recursive: true, force: true });
});

interface Options {
  containerDir?: string;
  input?: string;
  /** More translator flags, such as --mount. */
  flags?: string[];
}

function translatorArgs(root: string, argv: string[], options: Options): string[] {
  const args = ['--root', root, '--read-only', ...(options.flags ?? [])];
  if (options.containerDir !== undefined) args.push('--container-dir', options.containerDir);
  for (const entry of defaultEnv) args.push('--env', entry);
  return [...args, '--', ...argv];
}

const translatorEnv = () => ({ ...process.env, ASAN_OPTIONS: 'detect_leaks=0', TMPDIR: scratch });

/** Runs `argv` under the translator with the read-only fixture `root` as "/". */
function run(root: string, argv: string[], options: Options = {}): RunResult {
  const spawned = spawnSync(asanTranslator(), translatorArgs(root, argv, options), {
    input: options.input ?? '',
    timeout: 60000,
    env: translatorEnv(),
  });
  return {
    status: spawned.status,
    signal: spawned.signal,
    stdout: spawned.stdout.toString(),
    stderr: spawned.stderr.toString(),
    stdoutBytes: spawned.stdout,
  };
}

/** Runs a shell script, expects status 0 and no stderr, and returns stdout. */
function sh(root: string, script: string, options: Options = {}): string {
  const result = run(root, ['sh', '-c', script], options);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Parses the rows of `ps -o pid,ppid,comm,args` output, header dropped. */
function psRows(text: string): { pid: number; ppid: number; comm: string; args: string }[] {
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [pid, ppid, comm, ...args] = line.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), comm, args: args.join(' ') };
    });
}

function hostMeminfo(key: string): number {
  const line = fs
    .readFileSync('/proc/meminfo', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${key}:`));
  return Number(line?.split(/\s+/)[1]);
}

function hostNproc(): string {
  return spawnSync('nproc', { encoding: 'utf8' }).stdout.trim();
}

describeKvm('procps, util-linux and coreutils on the synthesized /proc', () => {
  test('ps lists the shell, its child and itself', () => {
    const out = sh(debian, 'sleep 5 & echo $$; ps -e -o pid,ppid,comm,args; kill $!');
    const [shellLine, ...table] = out.split('\n');
    const shell = Number(shellLine);
    const rows = psRows(table.join('\n'));
    const byComm = (comm: string) => rows.find((row) => row.comm === comm);
    expect(byComm('sh')?.pid).toBe(shell);
    expect(byComm('sh')?.ppid).toBe(0);
    expect(byComm('sh')?.args).toBe(
      `sh -c sleep 5 & echo $$; ps -e -o pid,ppid,comm,args; kill $!`,
    );
    expect(byComm('sleep')?.ppid).toBe(shell);
    expect(byComm('sleep')?.args).toBe('sleep 5');
    expect(byComm('ps')?.ppid).toBe(shell);
    expect(byComm('ps')?.args).toBe('ps -e -o pid,ppid,comm,args');
    expect(rows.map((row) => row.comm)).not.toContain('noah-translator');
    expect(rows).toHaveLength(3);
  });

  test('ps sees the parent after a /proc visit', () => {
    // The first cd makes the private folder before any fork, without a record of the shell.
    const out = sh(debian, 'cd /proc; cd /; sleep 5 & echo $$; ps -o pid,ppid,comm; kill $!');
    const [shellLine, ...table] = out.trim().split('\n');
    const rows = psRows(table.join('\n'));
    expect(rows.find((row) => row.comm === 'sleep')?.ppid).toBe(Number(shellLine));
    expect(rows.find((row) => row.comm === 'sh')?.pid).toBe(Number(shellLine));
  });

  test('ps aux shows users, memory and commands', () => {
    const lines = sh(debian, 'ps aux').trim().split('\n');
    expect(lines[0]).toMatch(/^USER\s+PID\s+%CPU\s+%MEM\s+VSZ\s+RSS\s+TTY\s+STAT\s+START/);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^root\s+\d+ .* sh -c ps aux$/);
    expect(lines[2]).toMatch(/^root\s+\d+ .* ps aux$/);
  });

  test('top -bn1 shows the summary and the processes', () => {
    const out = sh(debian, 'top -bn1');
    expect(out).toMatch(/^top - \d\d:\d\d:\d\d up /);
    expect(out).toMatch(/Tasks: +2 total/);
    const total = Number(/MiB Mem : +([\d.]+) total/.exec(out)?.[1]);
    expect(Math.abs(total - hostMeminfo('MemTotal') / 1024)).toBeLessThan(1);
    expect(out).toMatch(/\broot\b.* top\n/);
    expect(out).toMatch(/\broot\b.* sh\n/);
  });

  test('free shows the host memory in kibibytes and mebibytes', () => {
    const kib = sh(debian, 'free').split('\n')[1].split(/\s+/);
    expect(kib[0]).toBe('Mem:');
    expect(Number(kib[1])).toBe(hostMeminfo('MemTotal'));
    const mib = sh(debian, 'free -m').split('\n')[1].split(/\s+/);
    expect(Number(mib[1])).toBe(Math.floor(hostMeminfo('MemTotal') / 1024));
  });

  test('uptime shows the time up and the load', () => {
    expect(sh(debian, 'uptime')).toMatch(
      /^ \d\d:\d\d:\d\d up .*, +load average: [\d.]+, [\d.]+, [\d.]+\n$/,
    );
  });

  test('df shows / with the host file system numbers', () => {
    const lines = sh(debian, 'df -k /').trim().split('\n');
    expect(lines).toHaveLength(2);
    const [source, size, , , , target] = lines[1].split(/\s+/);
    expect(source).toBe('overlay');
    expect(target).toBe('/');
    const host = spawnSync('stat', ['-f', '-c', '%b %S', debian], { encoding: 'utf8' });
    const [blocks, blockSize] = host.stdout.trim().split(' ').map(Number);
    expect(Number(size)).toBe((blocks * blockSize) / 1024);
  });

  test('df lists /dev and /dev/shm as Docker does', () => {
    const lines = sh(debian, 'df -k').trim().split('\n');
    expect(lines.slice(1).map((line) => line.split(/\s+/)[5])).toEqual(['/', '/dev', '/dev/shm']);
    expect(lines[2]).toMatch(/^tmpfs +65536 +0 +65536 +0% \/dev$/);
    expect(lines[3]).toMatch(/^shm +\d+ /);
  });

  test('stat gives each synthesized mount its mountinfo device', () => {
    // Character devices keep the host's device, as terminals from the host do.
    const devices = sh(debian, 'stat -c "%n %Hd:%Ld" /dev /dev/shm /proc/self/status');
    const info = sh(debian, 'cat /proc/self/mountinfo').trim().split('\n');
    const deviceOf = (target: string) =>
      info.map((line) => line.split(' ')).find((fields) => fields[4] === target)?.[2];
    expect(devices.trim().split('\n')).toEqual([
      `/dev ${deviceOf('/dev')}`,
      `/dev/shm ${deviceOf('/dev/shm')}`,
      `/proc/self/status ${deviceOf('/proc')}`,
    ]);
  });

  test('mount lists the root, /proc, /dev and /sys', () => {
    const lines = sh(debian, 'mount').trim().split('\n');
    expect(lines).toContain('overlay on / type overlay (ro,relatime)');
    expect(lines).toContain('proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)');
    expect(lines).toContain('tmpfs on /dev type tmpfs (rw,nosuid,size=65536k,mode=755)');
    expect(lines).toContain('sysfs on /sys type sysfs (ro,nosuid,nodev,noexec,relatime)');
    expect(lines.some((line) => line.startsWith('devpts on /dev/pts type devpts'))).toBe(true);
    expect(lines.some((line) => line.startsWith('shm on /dev/shm type tmpfs'))).toBe(true);
  });

  test('findmnt parses mountinfo into a tree', () => {
    const rows = sh(debian, 'findmnt -n -o TARGET,FSTYPE --list')
      .trim()
      .split('\n')
      .map((line) => line.split(/\s+/).join(' '));
    expect(rows).toEqual([
      '/ overlay',
      '/proc proc',
      '/dev tmpfs',
      '/dev/pts devpts',
      '/sys sysfs',
      '/dev/mqueue mqueue',
      '/dev/shm tmpfs',
    ]);
  });

  test('ls /proc shows the pids, self and the files', () => {
    const [shell, ...names] = sh(debian, 'echo $$; ls /proc').trim().split('\n');
    expect(names).toContain(shell);
    for (const name of ['self', 'thread-self', 'cpuinfo', 'meminfo', 'mounts', 'sys', 'version']) {
      expect(names).toContain(name);
    }
    expect(names.filter((name) => /^\d+$/.test(name))).toHaveLength(2);
  });

  test('/proc/$$/status has the guest program name and parent', () => {
    const status = sh(debian, 'cat /proc/$$/status');
    expect(status).toMatch(/^Name:\tsh\n/);
    expect(status).toMatch(/\nPPid:\t0\n/);
    expect(status).toMatch(/\nUid:\t0\t0\t0\t0\n/);
    expect(sh(debian, 'cat /proc/$$/comm')).toBe('sh\n');
    expect(sh(debian, 'readlink /proc/$$/exe')).toBe('/usr/bin/dash\n');
    expect(sh(debian, 'cd /etc && readlink /proc/$$/cwd')).toBe('/etc\n');
  });

  test('another process cmdline and stat read from its guest memory', () => {
    const out = sh(
      debian,
      'sleep 5 & p=$!; sleep 0.5; tr "\\0" " " < /proc/$p/cmdline; echo; cat /proc/$p/stat; kill $p',
    );
    const [cmdline, stat] = out.split('\n');
    expect(cmdline).toBe('sleep 5 ');
    expect(stat).toMatch(/^\d+ \(sleep\) [RS] \d+ /);
  });

  test('a renamed process shows its new title and name', () => {
    // perl's $0 rewrites the argument strings in place and sets the name with prctl.
    const script =
      'perl -e \'$0 = "renamed (worker) x"; sleep 5\' & p=$!; sleep 1; ' +
      'ps -o comm=,args= -p $p; cut -d" " -f1-4 /proc/$p/stat; kill $p';
    const [ps, stat] = sh(debian, script).split('\n');
    expect(ps.trim()).toBe('renamed (worker renamed (worker) x');
    expect(stat).toMatch(/^\d+ \(renamed \(worker\) [RS]$/);
  });

  test('another process environ has its variables', () => {
    const out = sh(debian, 'sleep 5 & p=$!; sleep 0.5; tr "\\0" "\\n" < /proc/$p/environ; kill $p');
    expect(out.split('\n')).toEqual(expect.arrayContaining(defaultEnv));
  });

  test('ls -l /proc/self/fd lists 0, 1 and 2 as links', () => {
    const lines = sh(debian, 'ls -l /proc/self/fd < /dev/null').trim().split('\n');
    expect(lines[0]).toBe('total 0');
    const names = lines.slice(1).map((line) => line.split(/\s+/)[8]);
    expect(names).toEqual(expect.arrayContaining(['0', '1', '2']));
    expect(lines.find((line) => / 0 -> /.test(line))).toMatch(/^lr.* 0 -> \/dev\/null$/);
  });

  test('nproc and getconf agree with the host', () => {
    expect(sh(debian, 'nproc').trim()).toBe(hostNproc());
    expect(sh(debian, 'getconf _NPROCESSORS_ONLN').trim()).toBe(hostNproc());
    expect(sh(debian, 'getconf _NPROCESSORS_CONF').trim()).toBe(
      spawnSync('getconf', ['_NPROCESSORS_CONF'], { encoding: 'utf8' }).stdout.trim(),
    );
    expect(sh(debian, 'cat /sys/devices/system/cpu/online')).toBe(
      fs.readFileSync('/sys/devices/system/cpu/online', 'utf8'),
    );
  });

  test('relative paths from / reach the synthesized trees', () => {
    const out = sh(
      debian,
      'cd / && head -1 proc/self/status && cat ./proc/sys/kernel/ostype && stat -c %F dev/null',
    );
    expect(out).toBe('Name:\thead\nLinux\ncharacter special file\n');
  });

  test('/proc/sys/kernel and /proc/version match uname', () => {
    const out = sh(debian, 'cat /proc/sys/kernel/osrelease /proc/sys/kernel/ostype; uname -r');
    const [release, type, uname] = out.trim().split('\n');
    expect(release).toBe(uname);
    expect(type).toBe('Linux');
    expect(sh(debian, 'cat /proc/version')).toContain(`Linux version ${uname} `);
  });
});

describeKvm('mount table and hostname in /proc', () => {
  function mountFlags(): string[] {
    const data = fs.mkdtempSync(path.join(scratch, 'bind-'));
    const tmpfs = fs.mkdtempSync(path.join(scratch, 'tmpfs-'));
    return [
      '--mount',
      `type=bind,source=${data},target=/mnt/data,readonly`,
      '--mount',
      `type=tmpfs,source=${tmpfs},target=/scratch`,
      '--hostname',
      'procfs-test',
    ];
  }

  test('/proc/mounts lists the bind and tmpfs mounts after the fixed ones', () => {
    const lines = sh(debian, 'cat /proc/mounts', { flags: mountFlags() }).trim().split('\n');
    expect(lines[0]).toBe('overlay / overlay ro,relatime 0 0');
    expect(lines[lines.length - 2]).toMatch(/^\S+ \/mnt\/data \S+ ro,relatime 0 0$/);
    expect(lines[lines.length - 1]).toBe(
      'tmpfs /scratch tmpfs rw,nosuid,nodev,noexec,relatime 0 0',
    );
    const info = sh(debian, 'cat /proc/self/mountinfo', { flags: mountFlags() }).trim().split('\n');
    expect(info[info.length - 2]).toMatch(/^\d+ 21 \d+:\d+ \/\S+ \/mnt\/data ro,relatime - /);
  });

  test('df still shows / when a bind mount shares its host device', () => {
    const lines = sh(debian, 'df -k', { flags: mountFlags() }).trim().split('\n');
    expect(lines.map((line) => line.split(/\s+/)[5])).toContain('/');
    expect(lines.find((line) => line.endsWith(' /'))).toMatch(/^overlay /);
  });

  test('/proc/sys/kernel/hostname follows --hostname', () => {
    expect(sh(debian, 'cat /proc/sys/kernel/hostname; hostname', { flags: mountFlags() })).toBe(
      'procfs-test\nprocfs-test\n',
    );
  });

  test('/dev/shm stays writable with a mount table on a read-only root', () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const script = 'echo kept > /dev/shm/f && truncate -s 4 /dev/shm/f && cat /dev/shm/f';
    expect(sh(debian, script, { containerDir, flags: mountFlags() })).toBe('kept');
    const touch = run(debian, ['touch', '/etc/denied'], { flags: mountFlags() });
    expect(touch.stderr).toContain('Read-only file system');
  });
});

describeKvm('busybox on the synthesized /proc', () => {
  test('ps lists the shell and itself', () => {
    // The trailing true keeps the shell from running ps in its own process.
    const out = sh(busybox, 'echo $$; ps; true');
    const [shell, header, ...rows] = out.trim().split('\n');
    expect(header).toMatch(/PID\s+USER\s+(TIME\s+)?COMMAND/);
    expect(rows.some((row) => row.trim().startsWith(`${shell} root`))).toBe(true);
    expect(rows.some((row) => /\bps\b/.test(row))).toBe(true);
    expect(rows).toHaveLength(2);
  });

  test('top -n1 shows memory, load and processes', () => {
    const out = sh(busybox, 'top -n1; true');
    expect(out).toMatch(/Mem: \d+K used, \d+K free/);
    expect(out).toMatch(/Load average: [\d.]+ [\d.]+ [\d.]+/);
    expect(out).toMatch(/PID +PPID +USER/);
    expect(out).toMatch(/ 0 root .*sh -c top -n1; true/);
    expect(out).toMatch(/top -n1\s*\n/);
  });

  test('free shows the host memory', () => {
    const row = sh(busybox, 'free').split('\n')[1].trim().split(/\s+/);
    expect(row[0]).toBe('Mem:');
    expect(Number(row[1])).toBe(hostMeminfo('MemTotal'));
  });

  test('df shows the root, /dev and /dev/shm, not the pseudo file systems', () => {
    const lines = sh(busybox, 'df').trim().split('\n');
    const targets = lines.slice(1).map((line) => line.split(/\s+/)[5]);
    expect(targets).toEqual(['/', '/dev', '/dev/shm']);
    expect(lines[2]).toMatch(/^tmpfs +65536 +0 +65536 +0% \/dev$/);
  });

  test('mount lists /proc', () => {
    expect(sh(busybox, 'mount')).toContain(
      'proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)\n',
    );
  });

  test('nproc agrees with the host', () => {
    expect(sh(busybox, 'nproc').trim()).toBe(hostNproc());
  });

  test('ifconfig, netstat and route show the host network', async () => {
    // A listening socket of this test process, which the container must see in /proc/net/tcp.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const ifconfig = sh(busybox, 'ifconfig lo');
      expect(ifconfig).toContain('inet addr:127.0.0.1');
      expect(ifconfig).toMatch(/RX packets:\d+/);
      expect(sh(busybox, 'ls /proc/net').split('\n')).toEqual(
        expect.arrayContaining(['dev', 'route', 'tcp', 'tcp6', 'udp', 'unix']),
      );
      expect(sh(busybox, 'netstat -tln')).toContain(`127.0.0.1:${port} `);
      expect(sh(busybox, 'route -n')).toMatch(/^Destination +Gateway +Genmask/m);
    } finally {
      server.close();
    }
  });

  test('symlinks of the root lead into /proc', () => {
    // Alpine and Ubuntu images link /etc/mtab to the mount table this way.
    const root = fs.mkdtempSync(path.join(scratch, 'root-'));
    fs.cpSync(busybox, root, { recursive: true, verbatimSymlinks: true });
    fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
    fs.symlinkSync('../proc/self/mounts', path.join(root, 'etc', 'mtab'));
    fs.symlinkSync('/loop-b', path.join(root, 'loop-a'));
    fs.symlinkSync('/loop-a', path.join(root, 'loop-b'));
    expect(sh(root, 'head -1 /etc/mtab')).toBe('overlay / overlay ro,relatime 0 0\n');
    const loop = run(root, ['cat', '/loop-a']);
    expect(loop.stderr).toContain('Too many levels of symbolic links');
  });
});

describeKvm('synthesized /dev', () => {
  test('devices are character devices with Linux numbers', () => {
    const out = sh(
      debian,
      'stat -c "%n %F %t:%T" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx /dev/console',
    );
    expect(out.trim().split('\n')).toEqual([
      '/dev/null character special file 1:3',
      '/dev/zero character special file 1:5',
      '/dev/full character special file 1:7',
      '/dev/random character special file 1:8',
      '/dev/urandom character special file 1:9',
      '/dev/tty character special file 5:0',
      '/dev/ptmx character special file 5:2',
      '/dev/console character special file 5:1',
    ]);
  });

  test('ls /dev lists the devices, folders and links', () => {
    const names = sh(debian, 'ls -a /dev').trim().split('\n');
    for (const name of ['.', '..', 'null', 'zero', 'full', 'random', 'urandom', 'tty']) {
      expect(names).toContain(name);
    }
    for (const name of ['console', 'ptmx', 'pts', 'shm', 'fd', 'stdin', 'stdout', 'stderr']) {
      expect(names).toContain(name);
    }
    const links = sh(debian, 'readlink /dev/fd /dev/stdin /dev/stdout /dev/stderr');
    expect(links).toBe('/proc/self/fd\n/proc/self/fd/0\n/proc/self/fd/1\n/proc/self/fd/2\n');
    // Through a pipe: jest's own stdout is a socket, which Linux cannot open by name either.
    expect(sh(debian, '(echo through-stdout > /dev/stdout) | cat')).toBe('through-stdout\n');
  });

  test('/dev/shm is writable and lives in the container folder', () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const script =
      'echo shared > /dev/shm/note && mkdir /dev/shm/dir && ls /dev/shm && cat /dev/shm/note';
    expect(sh(debian, script, { containerDir })).toBe('dir\nnote\nshared\n');
    expect(fs.readFileSync(path.join(containerDir, 'shm', 'note'), 'utf8')).toBe('shared\n');
    expect(
      sh(debian, 'rm /dev/shm/note && rmdir /dev/shm/dir && ls -A /dev/shm', { containerDir }),
    ).toBe('');
  });

  test('a symlink in /dev/shm cannot reach host files', () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const escape = path.join(containerDir, 'outside');
    fs.writeFileSync(escape, 'host secret\n');
    const result = run(
      debian,
      [
        'sh',
        '-c',
        'ln -s ../outside /dev/shm/up && cat /dev/shm/up; ln -s /etc/hostname /dev/shm/abs && cat /dev/shm/abs',
      ],
      { containerDir },
    );
    expect(result.stdout).not.toContain('host secret');
    expect(result.stderr).toContain('No such file or directory');
  });

  test('script gets a pseudo-terminal from /dev/ptmx', () => {
    const out = sh(debian, "script -qc 'tty; stty size; ps -o tty= -p $$' /dev/null < /dev/null");
    const [tty, size, psTty] = out.split(/\r?\n/);
    expect(tty).toMatch(/^\/dev\/pts\/\d+$/);
    expect(size).toMatch(/^\d+ \d+$/);
    // ps finds the terminal from the tty number in /proc/PID/stat.
    expect(psTty.trim()).toBe(tty.replace('/dev/', ''));
  });
});

describeKvm('the container process folder', () => {
  function startLong(root: string, containerDir: string, argv: string[]): ChildProcess {
    return spawn(asanTranslator(), translatorArgs(root, argv, { containerDir }), {
      env: translatorEnv(),
      stdio: 'ignore',
    });
  }

  async function waitForRecords(folder: string, count: number): Promise<string[]> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const names = fs.existsSync(folder)
        ? fs.readdirSync(folder).filter((name) => /^\d+$/.test(name))
        : [];
      if (names.length >= count) return names;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`fewer than ${count} records appeared in ${folder}`);
  }

  test('ps in one translator sees the processes of another', async () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const long = startLong(debian, containerDir, ['sh', '-c', 'sleep 30']);
    try {
      await waitForRecords(path.join(containerDir, 'pids'), 2);
      const ps = run(debian, ['ps', '-e', '-o', 'pid,ppid,comm,args'], { containerDir });
      expect(ps.stderr).toBe('');
      const rows = psRows(ps.stdout);
      const sleeper = rows.find((row) => row.comm === 'sleep');
      const shell = rows.find((row) => row.comm === 'sh');
      expect(sleeper?.args).toBe('sleep 30');
      expect(shell?.ppid).toBe(0);
      expect(sleeper?.ppid).toBe(shell?.pid);
      expect(rows.find((row) => row.comm === 'ps')?.ppid).toBe(0);
      expect(rows).toHaveLength(3);
    } finally {
      long.kill('SIGTERM');
      await new Promise((resolve) => long.once('exit', resolve));
    }
  });

  test('records go at exit, and a killed process record is dropped', async () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const pids = path.join(containerDir, 'pids');
    sh(debian, 'true', { containerDir });
    expect(fs.readdirSync(pids)).toEqual([]);
    const long = startLong(debian, containerDir, ['sleep', '30']);
    const [record] = await waitForRecords(pids, 1);
    long.kill('SIGKILL');
    await new Promise((resolve) => long.once('exit', resolve));
    expect(fs.readdirSync(pids)).toEqual([record]);
    const names = sh(debian, 'ls /proc', { containerDir }).split('\n');
    expect(names).not.toContain(record);
    expect(fs.readdirSync(pids)).toEqual([]);
  });

  test('a forked tree leaves no private folder behind', () => {
    const folders = () => fs.readdirSync(scratch).filter((name) => name.startsWith('noah-'));
    const before = folders();
    sh(debian, 'sleep 0.1 & ps -e > /dev/null; wait');
    expect(folders()).toEqual(before);
  });

  test('a missing --container-dir is a translator failure', () => {
    const result = run(debian, ['true'], { containerDir: path.join(scratch, 'no-such-folder') });
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('no-such-folder');
  });
});

describeKvm('hostile paths in the synthesized trees', () => {
  test('unknown pids and descriptors are missing', () => {
    const result = run(debian, [
      'sh',
      '-c',
      'cat /proc/999999999/status; ls /proc/self/fd/999; cat /proc/1/environ',
    ]);
    expect(result.stderr.match(/No such file or directory/g)).toHaveLength(3);
    expect(result.stdout).toBe('');
  });

  test('/proc files cannot be written, created or removed', () => {
    const result = run(debian, [
      'sh',
      '-c',
      'echo x > /proc/self/comm; mkdir /proc/new; rm /proc/version; echo x > /proc/sys/kernel/hostname; exit 0',
    ]);
    expect(result.stderr).toContain('cannot create /proc/self/comm: Permission denied');
    expect(result.stderr.match(/cannot/g)).toHaveLength(4);
    expect(result.stdout).toBe('');
  });

  test('a host process outside the container stays hidden', async () => {
    const outsider = spawn('sleep', ['30']);
    try {
      const result = run(debian, ['sh', '-c', `cat /proc/${outsider.pid}/cmdline; ls /proc`]);
      expect(result.stderr).toContain('No such file or directory');
      expect(result.stdout.split('\n')).not.toContain(String(outsider.pid));
    } finally {
      outsider.kill('SIGKILL');
      await new Promise((resolve) => outsider.once('exit', resolve));
    }
  });

  test('ps runs while processes start and exit', () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const script = [
      'for i in $(seq 12); do sleep 0.$i & done',
      'for j in 1 2 3 4; do ps -o pid,comm > /dev/shm/ps.$j 2>&1 || echo "ps failed"; done',
      'wait',
      'cat /dev/shm/ps.4',
    ].join('; ');
    const result = run(busybox, ['sh', '-c', script], { containerDir });
    expect(result.stderr).toBe('');
    expect(result.stdout).not.toContain('ps failed');
    expect(result.stdout).toMatch(/\bsh\b/);
    expect(fs.readdirSync(path.join(containerDir, 'pids'))).toEqual([]);
  });

  test('a corrupt record is ignored', () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    fs.mkdirSync(path.join(containerDir, 'pids'));
    // pid 1 is alive on every host, so only the record's content can rule it out.
    fs.writeFileSync(path.join(containerDir, 'pids', '1'), 'exe 999999\nnot a record');
    fs.writeFileSync(path.join(containerDir, 'pids', 'not-a-pid'), 'comm 3\nbad\n');
    const rows = psRows(
      run(debian, ['ps', '-e', '-o', 'pid,ppid,comm,args'], { containerDir }).stdout,
    );
    expect(rows.map((row) => row.comm)).toEqual(['ps']);
    expect(fs.existsSync(path.join(containerDir, 'pids', '1'))).toBe(true);
  });

  test('/dev/shm symlinks stay inside the shm folder', () => {
    const containerDir = fs.mkdtempSync(path.join(scratch, 'container-'));
    const script =
      'ln -s .. /dev/shm/up && ln -s / /dev/shm/top && ls -a /dev/shm/up/ /dev/shm/top/';
    const out = sh(debian, script, { containerDir });
    expect(out).not.toContain('pids');
    expect(out).toContain('up');
    expect(run(debian, ['ls', '/dev/shm/../pids'], { containerDir }).status).not.toBe(0);
  });

  test('rewinding a /proc listing reads it again', () => {
    // find reads /proc/self/fd with one descriptor and stats each entry through it.
    const out = sh(debian, 'find /proc/self/ -maxdepth 1 -name status -o -maxdepth 1 -name fd');
    expect(out.trim().split('\n').sort()).toEqual(['/proc/self/fd', '/proc/self/status']);
  });
});
