/**
 * Sockets under the translator, which shares the host's network as `docker run --network host`
 * does. The C socket program checks descriptors and credentials in messages, batches, options,
 * Unix names and families. Other suites try Unix paths that leave the root, and connect real
 * servers and clients from the fixture roots with host ones over 127.0.0.1 and Unix sockets.
 */
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { fixtureRootfs } from '../fixtures/images';
import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { OverlayRoot, canCompareNatively, defaultEnv, runNative, runTranslated } from './harness';

const linkings = ['static', 'dynamic'] as const;
const installDir = '/opt/noah-tests';

/**
 * Checks whose result differs natively: the native run is host root with every capability, and
 * its chroot has no /proc.
 */
const notNativeChecks = [
  'credentials-other-pid',
  'packet-eperm',
  'raw-eperm',
  'netlink-setlink-eperm',
  'netlink-setlink-write-eperm',
  'rights-file-path',
  'ifmtu-set-eperm',
];

let debian: OverlayRoot;
let busybox: OverlayRoot;

beforeAll(async () => {
  debian = new OverlayRoot(await fixtureRootfs('debian'));
  busybox = new OverlayRoot(await fixtureRootfs('busybox'));
  const target = path.join(debian.merged, installDir);
  fs.mkdirSync(target, { recursive: true });
  for (const linking of linkings) {
    const source = path.join(__dirname, 'programs', 'sockets.c');
    const output = path.join(target, `sockets-${linking}`);
    const flags = linking === 'static' ? ['-static'] : [];
    const compiled = spawnSync('gcc', ['-O1', '-Wall', ...flags, '-o', output, source]);
    if (compiled.status !== 0) throw new Error(`gcc ${source}: ${compiled.stderr.toString()}`);
  }
}, 600000);

afterAll(() => {
  debian?.remove();
  busybox?.remove();
});

/** A translator run in the background, for servers that must run while the test is a client. */
class Background {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(root: string, argv: string[], flags: string[] = []) {
    const args = ['--root', root, '--cwd', '/', ...flags];
    for (const entry of defaultEnv) args.push('--env', entry);
    args.push('--', ...argv);
    this.child = spawn(asanTranslator(), args, {
      env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=0' },
    });
    this.child.stdout.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (status) => resolve(status)));
  }

  /** Resolves with the first line of stdout, or rejects after `timeoutMs`. */
  async firstLine(timeoutMs = 30000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.stdout.includes('\n')) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no output line; stdout ${this.stdout} stderr ${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.stdout.slice(0, this.stdout.indexOf('\n'));
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Connects to `options`, writes `request` and returns all the server sends until it closes. */
function exchange(options: net.NetConnectOpts, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const socket = net.connect(options, () => socket.write(request));
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

/** A host server that replies `reply` to each connection and counts the connections. */
class HostServer {
  readonly server: net.Server;
  connections = 0;
  received = '';

  constructor(reply: string) {
    this.server = net.createServer((socket) => {
      this.connections++;
      socket.on('data', (chunk: Buffer) => {
        this.received += chunk.toString();
        socket.end(reply);
      });
      socket.on('error', () => undefined);
    });
  }

  listen(options: net.ListenOptions): Promise<void> {
    return new Promise((resolve) => this.server.listen(options, resolve));
  }

  port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const program = (linking: string) => `${installDir}/sockets-${linking}`;
const describeRoot = canCompareNatively() ? describeKvm : describe.skip;

for (const linking of linkings) {
  describeRoot(`socket program (${linking})`, () => {
    test('every check passes under noah', () => {
      const directory = `/tmp/sockets-${linking}`;
      fs.mkdirSync(path.join(debian.merged, directory), { recursive: true });
      const translated = runTranslated(debian.merged, [program(linking), directory]);
      const failed = translated.stdout.split('\n').filter((line) => line.includes('FAIL'));
      expect(failed).toEqual([]);
      expect(translated.stdout).toContain('rights-truncated ok\n');
      expect(translated.stdout).toContain('credentials-receive ok\n');
      expect(translated.stdout).toContain('recvmmsg-rights ok\n');
      expect(translated.stdout).toContain('unix-recvfrom-name ok\n');
      expect(translated.stdout).toContain('netlink-getifaddrs ok\n');
      expect(translated.stdout).toMatch(/failures 0\n$/);
      expect(translated.stderr).not.toMatch(/Sanitizer|runtime error/);
      expect(translated.status).toBe(0);
    });

    test('random control data and options never crash', () => {
      for (const seed of ['1', '2', '3']) {
        const translated = runTranslated(debian.merged, [program(linking), 'fuzz', seed, '3000'], {
          timeoutMs: 120000,
        });
        expect(translated.stderr).not.toMatch(/Sanitizer|runtime error/);
        expect(translated.stdout).toMatch(/^fuzz: \d+ calls failed\n$/);
        expect(translated.status).toBe(0);
      }
    });

    test('checks agree with a native run', () => {
      const directory = `/tmp/sockets-native-${linking}`;
      fs.mkdirSync(path.join(debian.merged, directory), { recursive: true });
      const native = runNative(debian.merged, [program(linking), directory]);
      const lines = native.stdout.split('\n').filter((line) => line !== '');
      const checks = lines.filter((line) => !line.startsWith('failures'));
      expect(checks.length).toBeGreaterThan(60);
      for (const line of checks) {
        const name = line.split(' ')[0];
        if (notNativeChecks.includes(name)) continue;
        expect(line).toBe(`${name} ok`);
      }
    });
  });
}

describeRoot('Unix socket paths stay in the root', () => {
  const outside = path.join(os.tmpdir(), `noah-socket-outside-${process.pid}`);
  const hostSocket = path.join(os.tmpdir(), `noah-socket-host-${process.pid}.sock`);
  let server: HostServer;

  beforeAll(async () => {
    fs.mkdirSync(outside, { recursive: true });
    server = new HostServer('host\n');
    await server.listen({ path: hostSocket });
    const tmp = path.join(debian.merged, 'tmp');
    fs.symlinkSync(outside, path.join(tmp, 'dir-link'));
    fs.symlinkSync(hostSocket, path.join(tmp, 'socket-link'));
    fs.symlinkSync(`../../../../../..${hostSocket}`, path.join(tmp, 'socket-link-relative'));
  });

  afterAll(async () => {
    await server?.close();
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const run = (operation: string, target: string) =>
    runTranslated(debian.merged, [program('static'), operation, target]).stdout;

  test('bind through a symlink to a host folder', () => {
    expect(run('bind', '/tmp/dir-link/bound.sock')).toBe('bind: ENOENT\n');
    expect(fs.existsSync(path.join(outside, 'bound.sock'))).toBe(false);
  });

  test('bind with .. past the root', () => {
    expect(run('bind', `../../../../../..${outside}/dotdot.sock`)).toBe('bind: ENOENT\n');
    expect(fs.existsSync(path.join(outside, 'dotdot.sock'))).toBe(false);
  });

  test('connect through symlinks to a host socket', () => {
    expect(run('connect', '/tmp/socket-link')).toBe('connect: ENOENT\n');
    expect(run('connect', '/tmp/socket-link-relative')).toBe('connect: ENOENT\n');
    expect(run('connect', `../../../../..${hostSocket}`)).toBe('connect: ENOENT\n');
    expect(server.connections).toBe(0);
  });

  test('connect to a socket bound by the host inside the root', async () => {
    const inside = new HostServer('inside\n');
    await inside.listen({ path: path.join(debian.merged, 'tmp', 'host-inside.sock') });
    try {
      expect(run('connect', '/tmp/host-inside.sock')).toBe('connect: ok\n');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(inside.connections).toBe(1);
    } finally {
      await inside.close();
    }
  });
});

describeRoot('servers and clients across the host boundary', () => {
  test('host client reaches a TCP server in the translator', async () => {
    const script =
      'use IO::Socket::INET; $| = 1;' +
      'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)' +
      ' or die "listen: $!";' +
      'print $s->sockport, "\\n"; my $c = $s->accept or die "accept: $!";' +
      'my $line = <$c>; print $c "echo: $line"; close $c;';
    const server = new Background(debian.merged, ['perl', '-e', script]);
    try {
      const port = Number(await server.firstLine());
      expect(port).toBeGreaterThan(0);
      const reply = await exchange({ host: '127.0.0.1', port }, 'hello\n');
      expect(reply).toBe('echo: hello\n');
      expect(await server.exited).toBe(0);
    } finally {
      server.kill();
    }
  });

  test('host client exchanges UDP datagrams with the translator', async () => {
    const script =
      'use IO::Socket::INET; $| = 1;' +
      'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Proto => "udp")' +
      ' or die "bind: $!"; print $s->sockport, "\\n";' +
      'my $from = $s->recv(my $data, 100) or die "recv: $!"; $s->send("echo: $data", 0, $from);';
    const server = new Background(debian.merged, ['perl', '-e', script]);
    const client = dgram.createSocket('udp4');
    try {
      const port = Number(await server.firstLine());
      const reply = new Promise<string>((resolve) =>
        client.on('message', (message) => resolve(message.toString())),
      );
      client.send('datagram', port, '127.0.0.1');
      expect(await reply).toBe('echo: datagram');
      expect(await server.exited).toBe(0);
    } finally {
      client.close();
      server.kill();
    }
  });

  test('translator client reaches a host TCP server', async () => {
    const host = new HostServer('pong\n');
    await host.listen({ host: '127.0.0.1', port: 0 });
    try {
      const client = new Background(busybox.merged, [
        'sh',
        '-c',
        `echo ping | nc 127.0.0.1 ${host.port()}`,
      ]);
      expect(await client.exited).toBe(0);
      expect(client.stdout).toBe('pong\n');
      expect(host.received).toBe('ping\n');
    } finally {
      await host.close();
    }
  });

  test('host client reaches a Unix socket server bound in the root', async () => {
    const script =
      'use IO::Socket::UNIX; $| = 1; unlink "/run/app.sock";' +
      'my $s = IO::Socket::UNIX->new(Local => "/run/app.sock", Listen => 1) or die "listen: $!";' +
      'print $s->hostpath, "\\n"; my $c = $s->accept or die "accept: $!";' +
      'my $line = <$c>; print $c "unix: $line"; close $c;';
    const server = new Background(debian.merged, ['perl', '-e', script]);
    try {
      expect(await server.firstLine()).toBe('/run/app.sock');
      const socketPath = path.join(debian.merged, 'run', 'app.sock');
      expect(fs.statSync(socketPath).isSocket()).toBe(true);
      const reply = await exchange({ path: socketPath }, 'hello\n');
      expect(reply).toBe('unix: hello\n');
      expect(await server.exited).toBe(0);
    } finally {
      server.kill();
    }
  });

  test('two translators talk over a Unix socket in the root', async () => {
    const serverScript =
      'use IO::Socket::UNIX; $| = 1; unlink "/run/pair.sock";' +
      'my $s = IO::Socket::UNIX->new(Local => "/run/pair.sock", Listen => 1) or die "listen: $!";' +
      'print "ready\\n"; my $c = $s->accept or die "accept: $!";' +
      'my $line = <$c>; print $c "server: $line"; close $c;';
    const clientScript =
      'use IO::Socket::UNIX; $| = 1;' +
      'my $c = IO::Socket::UNIX->new(Peer => "/run/pair.sock") or die "connect: $!";' +
      'print $c "hello\\n"; print scalar <$c>; print $c->peerpath, "\\n";';
    const server = new Background(debian.merged, ['perl', '-e', serverScript]);
    try {
      expect(await server.firstLine()).toBe('ready');
      const client = new Background(debian.merged, ['perl', '-e', clientScript]);
      expect(await client.exited).toBe(0);
      expect(client.stdout).toBe('server: hello\n/run/pair.sock\n');
      expect(await server.exited).toBe(0);
    } finally {
      server.kill();
    }
  });

  test('translator client reaches a host Unix server through the root', async () => {
    const host = new HostServer('pong\n');
    await host.listen({ path: path.join(debian.merged, 'tmp', 'host.sock') });
    const script =
      'use IO::Socket::UNIX; $| = 1;' +
      'my $c = IO::Socket::UNIX->new(Peer => "/tmp/host.sock") or die "connect: $!";' +
      'print $c "ping\\n"; print scalar <$c>; print $c->peerpath, "\\n";';
    try {
      const client = new Background(debian.merged, ['perl', '-e', script]);
      expect(await client.exited).toBe(0);
      expect(client.stdout).toBe('pong\n/tmp/host.sock\n');
      expect(host.received).toBe('ping\n');
    } finally {
      await host.close();
    }
  });

  test('ports below 1024 need a root guest', async () => {
    // A port below 1024 that is free now; the translator runs as host root either way.
    const probe = new HostServer('');
    await probe.listen({ host: '127.0.0.1', port: 1023 });
    await probe.close();
    const script =
      'use IO::Socket::INET; my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:1023",' +
      ' Listen => 1, ReuseAddr => 1); print $s ? "bound\\n" : "$!\\n";';
    const root = runTranslated(debian.merged, ['perl', '-e', script]);
    expect(root.stdout).toBe('bound\n');
    const user = runTranslated(debian.merged, ['perl', '-e', script], {
      flags: ['--user', '1000:1000'],
    });
    expect(user.stdout).toBe('Permission denied\n');
  });

  test('ip lists the host addresses over netlink', () => {
    const listed = runTranslated(busybox.merged, ['ip', 'addr', 'show']);
    expect(listed.stdout).toContain('inet 127.0.0.1/8');
    expect(listed.status).toBe(0);
  });
});

describeRoot('Unix sockets and the mount table', () => {
  let scratch: string;
  let mountFlags: string[];

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-socket-mounts-'));
    fs.mkdirSync(path.join(scratch, 'rw'));
    fs.mkdirSync(path.join(scratch, 'ro'));
    mountFlags = [
      '--mount',
      `type=bind,source=${scratch}/rw,target=/data`,
      '--mount',
      `type=bind,source=${scratch}/ro,target=/ro-data,readonly`,
    ];
  });

  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  const run = (argv: string[], flags: string[]) =>
    runTranslated(debian.merged, [program('static'), ...argv], { flags }).stdout;

  test('bind in a bind mount makes the socket in its source', () => {
    expect(run(['bind', '/data/bound.sock'], mountFlags)).toBe('bind: ok\n');
    expect(fs.statSync(path.join(scratch, 'rw', 'bound.sock')).isSocket()).toBe(true);
  });

  test('bind in a read-only mount or root fails with EROFS', () => {
    expect(run(['bind', '/ro-data/bound.sock'], mountFlags)).toBe('bind: EROFS\n');
    expect(fs.existsSync(path.join(scratch, 'ro', 'bound.sock'))).toBe(false);
    expect(run(['bind', '/tmp/read-only.sock'], ['--read-only'])).toBe('bind: EROFS\n');
    expect(fs.existsSync(path.join(debian.merged, 'tmp', 'read-only.sock'))).toBe(false);
  });

  test.each([
    ['the root', '/tmp', () => path.join(debian.merged, 'tmp')],
    ['a bind mount', '/data', () => path.join(scratch, 'rw')],
  ])('a host sender in %s is named by its guest path', async (_place, guestDir, hostDir) => {
    const receiver = new Background(
      debian.merged,
      [program('static'), 'recvfrom', `${guestDir}/receiver.sock`],
      mountFlags,
    );
    try {
      expect(await receiver.firstLine()).toBe('ready');
      // The same program runs natively on the host as the sender.
      const sender = spawnSync(path.join(debian.merged, program('static')), [
        'sendto',
        path.join(hostDir(), 'sender.sock'),
        path.join(hostDir(), 'receiver.sock'),
      ]);
      expect(sender.stdout.toString()).toBe('sent\n');
      expect(await receiver.exited).toBe(0);
      expect(receiver.stdout).toBe(`ready\nfrom: ${guestDir}/sender.sock\n`);
    } finally {
      receiver.kill();
    }
  });
});

/** Why the run as a host user that is not root cannot happen, or undefined when it can. */
function nonRootUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the tests must start as root to switch to noah-test';
  const check = spawnSync('runuser', ['-u', 'noah-test', '--', 'test', '-w', '/dev/kvm']);
  if (check.status === 0) return undefined;
  const reason = 'host user noah-test is missing or cannot open /dev/kvm (.ci/run sets it up)';
  if (process.env.NOAH_REQUIRE_KVM === '1') {
    throw new Error(`${reason}; NOAH_REQUIRE_KVM=1 requires it`);
  }
  return reason;
}

const nonRootReason = nonRootUnavailableReason();
const describeNonRoot = nonRootReason === undefined ? describeKvm : describe.skip;

describeNonRoot(
  `socket program on a non-root host${nonRootReason ? ` (skipped: ${nonRootReason})` : ''}`,
  () => {
    let scratch: string;

    beforeAll(() => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-socket-user-'));
      fs.chmodSync(scratch, 0o755);
      fs.copyFileSync(asanTranslator(), path.join(scratch, 'noah-translator'));
      fs.copyFileSync(
        path.join(debian.merged, program('static')),
        path.join(scratch, 'sockets-static'),
      );
      fs.chmodSync(path.join(scratch, 'noah-translator'), 0o755);
      fs.chmodSync(path.join(scratch, 'sockets-static'), 0o755);
      fs.mkdirSync(path.join(scratch, 'sockets'), { mode: 0o777 });
      fs.chmodSync(path.join(scratch, 'sockets'), 0o777);
    });

    afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

    test('every check passes with host ids mapped to root', () => {
      // The host's own root directory is the guest's, so the host user's ids stand for root.
      const run = spawnSync(
        'runuser',
        [
          '-u',
          'noah-test',
          '--',
          'env',
          'ASAN_OPTIONS=detect_leaks=0',
          path.join(scratch, 'noah-translator'),
          '--root',
          '/',
          '--',
          path.join(scratch, 'sockets-static'),
          path.join(scratch, 'sockets'),
        ],
        { timeout: 120000 },
      );
      const stdout = run.stdout.toString();
      const failed = stdout.split('\n').filter((line) => line.includes('FAIL'));
      expect(failed).toEqual([]);
      expect(stdout).toContain('credentials-receive ok\n');
      expect(stdout).toContain('peercred ok\n');
      expect(stdout).toMatch(/failures 0\n$/);
      expect(run.stderr.toString()).not.toMatch(/Sanitizer|runtime error/);
      expect(run.status).toBe(0);
    });
  },
);
