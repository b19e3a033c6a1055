/**
 * `noah run` options through the CLI on the fixture images: command merging, environment,
 * working folder, user, hostname, mounts, --rm, and Docker's exit statuses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome } from './noah';

let home: NoahHome;
let debian: string;
let busybox: string;

beforeAll(() => {
  home = new NoahHome('run-options');
  debian = testRegistryImage('debian').reference;
  busybox = testRegistryImage('busybox').reference;
  expect(home.run(['pull', debian]).status).toBe(0);
  expect(home.run(['pull', busybox]).status).toBe(0);
});

afterAll(() => home.remove());

const sh = (script: string, ...options: string[]) =>
  home.run(['run', '--rm', ...options, '--entrypoint', 'sh', debian, '-c', script]);

describeKvm('noah run options', () => {
  test('entrypoint and Cmd merge as Docker merges them', () => {
    expect(home.run(['run', '--rm', debian]).stdout).toBe(
      'entrypoint: from-cmd\nNOAH_FIXTURE=debian\n/usr/local/share/fixture\n',
    );
    expect(home.run(['run', '--rm', debian, 'a', 'b']).stdout).toMatch(/^entrypoint: a b\n/);
    const cleared = home.run(['run', '--rm', '--entrypoint', '', debian, 'echo', 'plain']);
    expect(cleared.stdout).toBe('plain\n');
  });

  test('environment from the image, -e and --env-file', () => {
    const file = path.join(home.dir, 'env.list');
    fs.writeFileSync(file, '# a comment\n\nFROM_FILE=file\nOVERRIDDEN=file\n');
    const result = sh(
      'echo $NOAH_FIXTURE $FROM_FILE $OVERRIDDEN $PATH $HOME',
      '--env-file',
      file,
      '-e',
      'OVERRIDDEN=flag',
    );
    expect(result.stdout).toBe(
      'debian file flag /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /root\n',
    );
    expect(result.status).toBe(0);
  });

  test('HOSTNAME is the short container ID by default', () => {
    const result = home.run([
      'run',
      '--name',
      'host-env',
      '--entrypoint',
      'sh',
      debian,
      '-c',
      'echo $HOSTNAME',
    ]);
    const inspect = JSON.parse(home.run(['inspect', 'host-env']).stdout) as { Id: string }[];
    expect(result.stdout).toBe(`${inspect[0].Id.slice(0, 12)}\n`);
    expect(home.run(['rm', 'host-env']).status).toBe(0);
  });

  test('-w sets the working folder', () => {
    expect(sh('pwd', '-w', '/usr/share').stdout).toBe('/usr/share\n');
  });

  test('-w makes a missing working folder', () => {
    expect(sh('pwd', '-w', '/srv/new/work').stdout).toBe('/srv/new/work\n');
  });

  test('--network host only', () => {
    expect(sh('echo shared', '--network', 'host').stdout).toBe('shared\n');
    const bridge = sh('true', '--network', 'bridge');
    expect(bridge.status).toBe(125);
    expect(bridge.stderr).toContain('--network bridge is not supported');
  });

  test('-e values stay out of host command lines', () => {
    const secret = `secret-${process.pid}-value`;
    home.runDetached(debian, 'secret-env', 'echo "$TOKEN" > /tmp/token; sleep 30', [
      '-e',
      `TOKEN=${secret}`,
    ]);
    const cmdlines = () =>
      fs.readdirSync('/proc').flatMap((pid) => {
        try {
          return [fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')];
        } catch {
          return [];
        }
      });
    expect(cmdlines().filter((line) => line.includes('noah-translator')).length).toBeGreaterThan(0);
    expect(cmdlines().some((line) => line.includes(secret))).toBe(false);
    expect(home.run(['exec', 'secret-env', 'sh', '-c', 'echo $TOKEN']).stdout).toBe(`${secret}\n`);
    expect(home.run(['rm', '-f', 'secret-env']).status).toBe(0);
  });

  test('-p and -P warn that ports are the host ports', () => {
    const warning = 'WARNING: Published ports are discarded when using host network mode\n';
    const published = sh('echo up', '-p', '8080:80', '-p', '127.0.0.1::53/udp');
    expect(published.stderr).toBe(warning);
    expect(published.stdout).toBe('up\n');
    expect(published.status).toBe(0);
    expect(sh('true', '-P').stderr).toBe(warning);
    expect(sh('true').stderr).toBe('');
  });

  test('--ulimit sets soft and hard limits', () => {
    const script = 'ulimit -Sn; ulimit -Hn; ulimit -Sp; ulimit -Hp';
    const limits = sh(script, '--ulimit', 'nofile=256:512', '--ulimit', 'nproc=100:200');
    expect(limits.stdout).toBe('256\n512\n100\n200\n');
    expect(limits.status).toBe(0);
    expect(sh('ulimit -Hn', '--ulimit', 'nofile=300').stdout).toBe('300\n');
  });

  test('--init is accepted; the command is not PID 1', () => {
    const result = sh('echo $$', '--init');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(Number(result.stdout)).toBeGreaterThan(1);
  });

  test('rm -f of a missing container succeeds', () => {
    expect(home.run(['rm', '-f', 'no-such-container']).status).toBe(0);
    expect(home.run(['rm', 'no-such-container']).status).toBe(1);
  });

  test('busybox gets the default PATH with none of its own', () => {
    const result = home.run(['run', '--rm', busybox, 'sh', '-c', 'echo $PATH']);
    expect(result.stdout).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n');
  });

  test('-u by name, by number and with a group', () => {
    expect(sh('id -u; id -g; echo $HOME', '-u', 'nobody').stdout).toBe(
      '65534\n65534\n/nonexistent\n',
    );
    expect(sh('id -u; id -g', '-u', '1234:5678').stdout).toBe('1234\n5678\n');
    expect(sh('id -u; id -g', '-u', 'nobody:root').stdout).toBe('65534\n0\n');
  });

  test('--hostname sets uname and /etc/hostname', () => {
    const result = sh('hostname; cat /etc/hostname; echo $HOSTNAME', '--hostname', 'box');
    expect(result.stdout).toBe('box\nbox\nbox\n');
  });

  test('/etc/hosts maps localhost and the hostname', () => {
    const result = sh('cat /etc/hosts', '--hostname', 'box');
    expect(result.stdout).toContain('127.0.0.1\tlocalhost\n');
    expect(result.stdout).toContain('127.0.1.1\tbox\n');
  });

  test('-v onto /etc/hosts replaces the generated file', () => {
    const hosts = path.join(home.dir, 'hosts');
    fs.writeFileSync(hosts, '10.0.0.1\tfrom-host\n');
    expect(sh('cat /etc/hosts', '-v', `${hosts}:/etc/hosts:ro`).stdout).toBe(
      '10.0.0.1\tfrom-host\n',
    );
  });

  test('-v read-write and read-only', () => {
    const shared = fs.mkdtempSync(path.join(home.dir, 'volume-'));
    fs.writeFileSync(path.join(shared, 'from-host'), 'host\n');
    const rw = sh('cat /data/from-host; echo guest > /data/from-guest', '-v', `${shared}:/data`);
    expect(rw.stdout).toBe('host\n');
    expect(rw.status).toBe(0);
    expect(fs.readFileSync(path.join(shared, 'from-guest'), 'utf8')).toBe('guest\n');
    const ro = sh('echo no > /data/denied', '-v', `${shared}:/data:ro`);
    expect(ro.stderr).toContain('Read-only file system');
    expect(ro.status).not.toBe(0);
    expect(fs.existsSync(path.join(shared, 'denied'))).toBe(false);
  });

  test('-v creates a missing host folder', () => {
    const missing = path.join(home.dir, 'created-by-v');
    expect(sh('ls /data', '-v', `${missing}:/data`).status).toBe(0);
    expect(fs.statSync(missing).isDirectory()).toBe(true);
  });

  test('--tmpfs and --mount type=tmpfs are writable and empty', () => {
    const result = sh('ls -A /scratch; echo x > /scratch/f; cat /scratch/f', '--tmpfs', '/scratch');
    expect(result.stdout).toBe('x\n');
    const mounted = sh('echo y > /m/f; cat /m/f', '--mount', 'type=tmpfs,target=/m');
    expect(mounted.stdout).toBe('y\n');
  });

  test('-t gives the command a pseudo-terminal', () => {
    const result = sh('tty; test -t 0 && test -t 1 && echo terminal', '-t');
    expect(result.stdout.replace(/\r/g, '')).toMatch(/^\/dev\/pts\/\d+\nterminal\n$/);
    expect(result.status).toBe(0);
  });

  test('without -t there is no terminal, and without -i no stdin', () => {
    const result = home.run(
      ['run', '--rm', '--entrypoint', 'sh', debian, '-c', 'tty; cat; echo end'],
      'input\n',
    );
    expect(result.stdout).toBe('not a tty\nend\n');
    const interactive = home.run(['run', '--rm', '-i', '--entrypoint', 'cat', debian], 'input\n');
    expect(interactive.stdout).toBe('input\n');
  });

  test('-v of a file onto a file, and inspect lists mounts', () => {
    const file = path.join(home.dir, 'config.txt');
    fs.writeFileSync(file, 'from host\n');
    const result = home.run([
      'run',
      '--name',
      'file-mount',
      '-v',
      `${file}:/etc/app.conf:ro`,
      '--entrypoint',
      'cat',
      debian,
      '/etc/app.conf',
    ]);
    expect(result.stdout).toBe('from host\n');
    const [details] = JSON.parse(home.run(['inspect', 'file-mount']).stdout) as {
      Mounts: object[];
    }[];
    expect(details.Mounts).toEqual([
      { Type: 'bind', Source: file, Destination: '/etc/app.conf', Mode: 'ro', RW: false },
    ]);
    expect(home.run(['rm', 'file-mount']).status).toBe(0);
  });

  test('--rm removes the container, and without it ps -a lists it', () => {
    const before = home.containerIds().length;
    expect(home.run(['run', '--rm', debian]).status).toBe(0);
    expect(home.containerIds().length).toBe(before);
    expect(home.run(['run', '--name', 'kept', debian]).status).toBe(0);
    const listed = home.run(['ps', '-a']).stdout;
    expect(listed).toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\n/);
    expect(listed).toMatch(/Exited \(0\) .* ago\s+kept\n/);
    expect(home.run(['ps']).stdout).not.toContain('kept');
    expect(home.run(['rm', 'kept']).stdout).toBe('kept\n');
    expect(home.run(['ps', '-a']).stdout).not.toContain('kept');
  });

  test('exit statuses 0, 1, 126 and 127 as Docker gives them', () => {
    expect(sh('exit 0').status).toBe(0);
    expect(sh('exit 1').status).toBe(1);
    expect(home.run(['run', '--rm', '--entrypoint', '/etc/passwd', debian]).status).toBe(126);
    const missing = home.run(['run', '--rm', '--entrypoint', 'no-such-program', debian]);
    expect(missing.status).toBe(127);
    expect(missing.stderr).toContain('no-such-program');
  });

  test('-i -t with a stdin that is no terminal: status 1', () => {
    const result = home.run(['run', '--rm', '-it', '--name', 'not-a-tty', debian, 'cat'], 'hi\n');
    expect(result.stderr).toContain('the input device is not a TTY');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(1);
    // As in Docker, no container is created.
    expect(home.run(['ps', '-a']).stdout).not.toContain('not-a-tty');
  });

  test('-t or -d -it with piped stdin runs', () => {
    const tty = home.run(['run', '--rm', '-t', '--entrypoint', 'echo', debian, 'ok'], 'hi\n');
    expect(tty.stdout).toContain('ok');
    expect(tty.status).toBe(0);
    const result = home.run(['run', '-d', '-it', '--rm', '--entrypoint', 'sh', debian], 'hi\n');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(home.run(['rm', '-f', result.stdout.trim()]).status).toBe(0);
  });

  test('--trace prints system calls of an image run', () => {
    const result = home.run(['run', '--rm', '--trace', '--entrypoint', 'true', debian]);
    expect(result.stderr).toContain('execve("');
    expect(result.status).toBe(0);
    const detached = home.run(['run', '-d', '--trace', '--entrypoint', 'true', debian]);
    expect(detached.status).toBe(0);
    const id = detached.stdout.trim();
    expect(home.run(['wait', id]).stdout).toBe('0\n');
    expect(home.run(['logs', id]).stderr).toContain('execve("');
    expect(home.run(['rm', id]).status).toBe(0);
  });

  test('a signal that ends the command gives 128+N', () => {
    // The sleep keeps sh alive until the signal arrives: the translator may deliver a signal a
    // process sends itself only after a later system call.
    expect(sh('kill -TERM $$; sleep 10').status).toBe(143);
    expect(sh('kill -KILL $$; sleep 10').status).toBe(137);
  });
});

describeKvm('noah run rejects bad input with 125', () => {
  const expectNothingLeft = async (before: string[]) => {
    expect(home.containerIds()).toEqual(before);
    expect(await home.temporaries()).toEqual([]);
  };

  test('an image that does not exist', async () => {
    const before = home.containerIds();
    const result = home.run(['run', '--pull', 'never', '127.0.0.1:1/no-such-image']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('No such image');
    await expectNothingLeft(before);
  });

  test('a user the image does not know', async () => {
    const before = home.containerIds();
    const result = home.run(['run', '-u', 'no-such-user', debian]);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('unable to find user no-such-user');
    const group = home.run(['run', '-u', 'root:no-such-group', debian]);
    expect(group.status).toBe(125);
    expect(group.stderr).toContain('unable to find group no-such-group');
    await expectNothingLeft(before);
  });

  test('a --mount bind source that does not exist', async () => {
    const before = home.containerIds();
    const missing = path.join(home.dir, 'no-such-folder');
    const result = home.run(['run', '--mount', `type=bind,source=${missing},target=/data`, debian]);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain(`bind source path does not exist: ${missing}`);
    expect(fs.existsSync(missing)).toBe(false);
    await expectNothingLeft(before);
  });

  test('a name another container has', async () => {
    expect(home.run(['create', '--name', 'taken', debian]).status).toBe(0);
    const before = home.containerIds();
    const result = home.run(['run', '--name', 'taken', debian]);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('the container name "/taken" is already in use');
    await expectNothingLeft(before);
    expect(home.run(['rm', 'taken']).status).toBe(0);
  });

  test('a missing --env-file', async () => {
    // Node.js 20 reads --env-file even after the script's name, so bin/noah must stop its
    // options with "--" for noah to see this one.
    const before = home.containerIds();
    const result = home.run(['run', '--env-file', path.join(home.dir, 'missing.env'), debian]);
    expect(result.stderr).toContain('--env-file');
    expect(result.stderr).toContain('no such file or directory');
    expect(result.status).toBe(125);
    await expectNothingLeft(before);
  });

  test('an --env-file line without a name', async () => {
    const file = path.join(home.dir, 'bad.env');
    fs.writeFileSync(file, 'GOOD=1\n=value\n');
    const before = home.containerIds();
    const result = home.run(['run', '--env-file', file, debian]);
    expect(result.stderr).toContain('invalid environment variable: =value');
    expect(result.status).toBe(125);
    await expectNothingLeft(before);
  });

  test('an invalid name, signal, mount and relative -w', async () => {
    const cases: [string[], string][] = [
      [['--name', 'bad/name'], 'invalid container name'],
      [['--stop-signal', 'SIGNOPE'], 'invalid signal: SIGNOPE'],
      [['-v', 'relative:/data'], 'must be absolute'],
      [['--mount', 'type=volume,target=/data'], 'type must be bind or tmpfs'],
      [['-w', 'relative'], 'must be an absolute path'],
      [['-v', '/tmp:/data:rx'], 'invalid volume option "rx"'],
      [['--mount', 'type=bind,source=/tmp,target=/a,color=red'], 'invalid field "color"'],
      [['--mount', 'type=bind,source=/tmp'], 'target is missing'],
      [['--tmpfs', '/'], 'the target cannot be /'],
      [['--tmpfs', '/a', '--tmpfs', '/a/'], 'duplicate mount point: /a'],
      [['-v', '/tmp,x:/data'], 'contains a comma'],
      [['--hostname', '-bad'], 'invalid hostname'],
      [['-u', '1:2:3'], 'invalid user'],
      [['-e', '=value'], 'invalid environment variable: =value'],
      [['-p', 'eighty'], 'invalid publish spec "eighty"'],
      [['--ulimit', 'nofile=many'], 'invalid ulimit "nofile=many"'],
      [['--ulimit', 'speed=1'], 'unknown name speed'],
      [['--ulimit', 'nofile=10:5'], 'the soft limit 10 is above the hard limit 5'],
    ];
    const before = home.containerIds();
    for (const [options, message] of cases) {
      const result = home.run(['run', ...options, debian]);
      expect(result.stderr).toContain(message);
      expect(result.status).toBe(125);
    }
    await expectNothingLeft(before);
  });
});
