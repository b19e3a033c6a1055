/**
 * Ownership inside the container. A root host keeps it in the files; a host user who cannot
 * chown keeps it in the user.noah.owner extended attribute and shows its own files as root's,
 * so chown, stat and dpkg agree inside the container either way.
 *
 * The non-root half runs as the host user noah-test, which .ci/run creates and lets open
 * /dev/kvm.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadAddon } from '../../src/native';
import { fixtureRootfs } from '../fixtures/images';
import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { runTranslated } from './harness';

const testUser = 'noah-test';

/** Why the non-root tests cannot run, or undefined when they can. */
function nonRootUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'the tests must start as root to switch to noah-test';
  const check = spawnSync('runuser', [
    '-u',
    testUser,
    '--',
    'test',
    '-r',
    '/dev/kvm',
    '-a',
    '-w',
    '/dev/kvm',
  ]);
  if (check.status === 0) return undefined;
  const reason = `host user ${testUser} is missing or cannot open /dev/kvm (.ci/run sets it up)`;
  if (process.env.NOAH_REQUIRE_KVM === '1')
    throw new Error(`${reason}; NOAH_REQUIRE_KVM=1 requires it`);
  return reason;
}

/** Builds a small .deb whose maintainer script chowns what it makes. */
function buildPackage(directory: string): string {
  const tree = path.join(directory, 'noah-hello');
  fs.mkdirSync(path.join(tree, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(path.join(tree, 'usr/share/noah-hello'), { recursive: true });
  fs.writeFileSync(
    path.join(tree, 'DEBIAN/control'),
    [
      'Package: noah-hello',
      'Version: 1.0',
      'Architecture: all',
      'Maintainer: noah tests <noah@localhost>',
      'Description: a package for the ownership tests',
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(tree, 'DEBIAN/postinst'),
    [
      '#!/bin/sh',
      'set -e',
      'mkdir -p /var/lib/noah-hello',
      'chown daemon:daemon /var/lib/noah-hello',
      'echo configured > /var/lib/noah-hello/state',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(tree, 'usr/share/noah-hello/greeting'), 'hello\n');
  const deb = path.join(directory, 'noah-hello.deb');
  const built = spawnSync('dpkg-deb', ['--root-owner-group', '--build', tree, deb]);
  if (built.status !== 0) throw new Error(`dpkg-deb failed: ${built.stderr.toString()}`);
  return deb;
}

let image: string;
let scratch: string;

beforeAll(async () => {
  image = await fixtureRootfs('debian');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-ownership-'));
  fs.chmodSync(scratch, 0o755);
}, 600000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describeKvm('ownership on a root host', () => {
  test('chown and stat agree', () => {
    const root = path.join(scratch, 'root-host');
    const inodes = path.join(scratch, 'root-host-inodes');
    loadAddon().cloneTree(image, root, inodes);
    const result = runTranslated(
      root,
      [
        '/bin/sh',
        '-c',
        'touch /tmp/f && chown 1000:50 /tmp/f && stat -c "%u %g" /tmp/f /etc/passwd',
      ],
      { flags: ['--shared-inodes', inodes] },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1000 50\n0 0\n');
    expect(fs.statSync(path.join(root, 'tmp/f')).uid).toBe(1000);
  });
});

const nonRootReason = nonRootUnavailableReason();
const describeNonRoot = nonRootReason === undefined ? describeKvm : describe.skip;

describeNonRoot(
  `ownership on a non-root host${nonRootReason ? ` (skipped: ${nonRootReason})` : ''}`,
  () => {
    let root: string;
    let translator: string;

    /** Runs a shell script in the container as the host user noah-test. */
    function asTestUser(script: string) {
      const result = spawnSync(
        'runuser',
        [
          '-u',
          testUser,
          '--',
          'env',
          'ASAN_OPTIONS=detect_leaks=0',
          translator,
          '--root',
          root,
          '--env',
          'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
          '--',
          '/bin/sh',
          '-c',
          script,
        ],
        { timeout: 300000 },
      );
      return {
        status: result.status,
        stdout: result.stdout.toString(),
        stderr: result.stderr.toString(),
      };
    }

    beforeAll(() => {
      // The host user's own copy of the image: its files are the user's, as after an unpack
      // without root. Root-only files of the fixture (btmp, locks) cannot be read and are left out.
      const home = path.join(scratch, 'non-root');
      fs.mkdirSync(home);
      const uid = Number(spawnSync('id', ['-u', testUser]).stdout.toString());
      const gid = Number(spawnSync('id', ['-g', testUser]).stdout.toString());
      fs.chownSync(home, uid, gid);
      root = path.join(home, 'rootfs');
      spawnSync('runuser', ['-u', testUser, '--', 'cp', '-r', image, root]);
      if (!fs.existsSync(path.join(root, 'usr/bin/dpkg')))
        throw new Error(`copy of ${image} failed`);
      translator = path.join(scratch, 'noah-translator');
      fs.copyFileSync(asanTranslator(), translator);
      fs.chmodSync(translator, 0o755);
      fs.copyFileSync(buildPackage(scratch), path.join(root, 'tmp/noah-hello.deb'));
      fs.chmodSync(path.join(root, 'tmp/noah-hello.deb'), 0o644);
    }, 120000);

    test('the host user owns files that show as root', () => {
      const result = asTestUser('id -u; stat -c "%u %g %U" /etc/passwd');
      expect(result.stdout).toBe('0\n0 0 root\n');
      expect(fs.statSync(path.join(root, 'etc/passwd')).uid).not.toBe(0);
    });

    test('chown is kept in an extended attribute', () => {
      const script = [
        'touch /tmp/owned',
        'chown 1000:50 /tmp/owned',
        'stat -c "%u %g" /tmp/owned',
        'chown daemon /tmp/owned',
        'stat -c "%U %G" /tmp/owned',
        'mkdir /tmp/closed && chmod 0 /tmp/closed && chown 7:7 /tmp/closed',
        'stat -c "%u %g %a" /tmp/closed',
      ].join(' && ');
      const result = asTestUser(script);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('1000 50\ndaemon staff\n7 7 0\n');
      // A later container process reads the same owner back.
      expect(asTestUser('stat -c "%u %g" /tmp/owned').stdout).toBe('1 50\n');
    });

    test('apt-get installs a local package', () => {
      const install = asTestUser('apt-get install -y /tmp/noah-hello.deb');
      expect(install.status).toBe(0);
      const check = asTestUser(
        'dpkg -s noah-hello | grep Status; stat -c "%U %G" /var/lib/noah-hello; cat /var/lib/noah-hello/state',
      );
      expect(check.stdout).toBe('Status: install ok installed\ndaemon daemon\nconfigured\n');
    }, 300000);
  },
);
