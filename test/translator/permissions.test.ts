/**
 * File permissions of a guest that is not root. A translator running as host root checks each
 * file access of the guest with the guest's fsuid, fsgid and supplementary groups, as Linux
 * would: --user 1000 cannot read /etc/shadow or write root's folders, and a root guest that
 * drops its ids (setpriv, su) loses root's access and cannot take it back. The translator's own
 * work, such as copying an image file up, still runs as root.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadAddon } from '../../src/native';
import { fixtureRootfs } from '../fixtures/images';
import { describeKvm } from '../helpers/kvm';
import { RunResult, runNative, runTranslated } from './harness';

const installDir = '/opt/noah-tests';
const linkings = ['static', 'dynamic'] as const;

let fixtureImage: string;
let scratch: string;
let image: string;
let root: string;
let flags: string[];
let closedVolume: string;
let openVolume: string;

/** Runs `script` under the translator as `user` (UID:GID[:GROUPS]), or as root when omitted. */
function sh(script: string, user?: string): RunResult {
  const userFlags = user === undefined ? [] : ['--user', user];
  return runTranslated(root, ['/bin/sh', '-c', script], { flags: [...flags, ...userFlags] });
}

/**
 * A private image: a clone of the debian fixture plus files of the test's own, so that changing
 * those never touches the shared fixture.
 */
function makeImage(): string {
  const tree = path.join(scratch, 'image');
  loadAddon().cloneTree(fixtureImage, tree, path.join(scratch, 'image-inodes'));
  const srv = path.join(tree, 'srv');
  fs.writeFileSync(path.join(srv, 'world-writable'), 'original\n', { mode: 0o666 });
  fs.chmodSync(path.join(srv, 'world-writable'), 0o666);
  fs.writeFileSync(path.join(srv, 'group-50'), 'for group 50\n');
  fs.chownSync(path.join(srv, 'group-50'), 0, 50);
  fs.chmodSync(path.join(srv, 'group-50'), 0o640);
  for (const [name, mode, gid] of [
    ['setuid-id', 0o4755, 0],
    ['setgid-id', 0o2755, 42],
  ] as const) {
    // A copy, because the image's own id is a link to the shared fixture.
    fs.copyFileSync(path.join(tree, 'usr/bin/id'), path.join(srv, name));
    fs.chownSync(path.join(srv, name), 0, gid);
    fs.chmodSync(path.join(srv, name), mode);
  }
  const programs = path.join(tree, installDir);
  fs.mkdirSync(programs, { recursive: true });
  // The native run binds the host's /dev there; a fixture built afresh has no /dev folder.
  fs.mkdirSync(path.join(tree, 'dev'), { recursive: true });
  for (const linking of linkings) {
    const source = path.join(__dirname, 'programs', 'drop.c');
    const output = path.join(programs, `drop-${linking}`);
    const linkFlags = linking === 'static' ? ['-static'] : [];
    const compiled = spawnSync('gcc', [
      '-O1',
      '-Wall',
      '-pthread',
      ...linkFlags,
      '-o',
      output,
      source,
    ]);
    if (compiled.status !== 0) throw new Error(`gcc ${source}: ${compiled.stderr.toString()}`);
  }
  return tree;
}

/** Why these tests cannot run here, or undefined when they can. */
function notRootReason(): string | undefined {
  return process.getuid?.() === 0
    ? undefined
    : 'the translator enforces guest ids only when it runs as host root';
}

function describeRootKvm(name: string, body: () => void): void {
  const reason = notRootReason();
  if (reason === undefined) {
    describeKvm(name, body);
  } else {
    describe.skip(`${name} (skipped: ${reason})`, body);
  }
}

beforeAll(async () => {
  if (notRootReason() !== undefined) return;
  fixtureImage = await fixtureRootfs('debian');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-permissions-'));
  image = makeImage();
  root = path.join(scratch, 'rootfs');
  const inodes = path.join(scratch, 'shared-inodes');
  loadAddon().cloneTree(image, root, inodes);
  closedVolume = path.join(scratch, 'closed');
  openVolume = path.join(scratch, 'open');
  fs.mkdirSync(closedVolume, { mode: 0o755 });
  fs.mkdirSync(openVolume);
  fs.chmodSync(openVolume, 0o777);
  flags = [
    '--shared-inodes',
    inodes,
    '--mount',
    `type=bind,source=${closedVolume},target=/closed`,
    '--mount',
    `type=bind,source=${openVolume},target=/open`,
  ];
}, 600000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describeRootKvm('non-root guest file access', () => {
  test('root reads /etc/shadow', () => {
    const result = sh('head -c 5 /etc/shadow');
    expect(result.stdout).toBe('root:');
    expect(result.status).toBe(0);
  });

  test('--user 1000 cannot read /etc/shadow', () => {
    const result = sh('cat /etc/shadow', '1000:1000');
    expect(result.stderr).toBe('cat: /etc/shadow: Permission denied\n');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(1);
  });

  test('--user 1000 cannot create files in /etc or /root', () => {
    for (const file of ['/etc/x', '/root/x']) {
      const result = sh(`touch ${file}`, '1000:1000');
      expect(result.stderr).toBe(`touch: cannot touch '${file}': Permission denied\n`);
      expect(result.status).toBe(1);
      expect(fs.existsSync(path.join(root, file))).toBe(false);
    }
  });

  test('--user 1000 cannot change root-owned files', () => {
    const result = sh('echo x >> /etc/passwd', '1000:1000');
    expect(result.stderr).toContain('Permission denied');
    expect(result.status).not.toBe(0);
    expect(fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8')).not.toContain('\nx\n');
    expect(fs.statSync(path.join(root, 'etc/passwd')).ino).toBe(
      fs.statSync(path.join(image, 'etc/passwd')).ino,
    );
  });

  test('--user 1000 creates files in /tmp as its own', () => {
    const result = sh('touch /tmp/x && stat -c "%u:%g %a" /tmp/x', '1000:1000');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('1000:1000 644\n');
    expect(result.status).toBe(0);
    const status = fs.statSync(path.join(root, 'tmp/x'));
    expect(status.uid).toBe(1000);
    expect(status.gid).toBe(1000);
  });

  test('a world-writable image file is copied up, the image kept', () => {
    const result = sh(
      'echo changed >> /srv/world-writable && cat /srv/world-writable && ' +
        'stat -c "%u:%g %a" /srv/world-writable',
      '1000:1000',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('original\nchanged\n0:0 666\n');
    expect(result.status).toBe(0);
    expect(fs.readFileSync(path.join(image, 'srv/world-writable'), 'utf8')).toBe('original\n');
    const copy = fs.statSync(path.join(root, 'srv/world-writable'));
    expect(copy.ino).not.toBe(fs.statSync(path.join(image, 'srv/world-writable')).ino);
    expect(copy.uid).toBe(0);
    expect(copy.mode & 0o7777).toBe(0o666);
  });

  test('a root-owned 0755 bind mount is read-only to the user', () => {
    const result = sh('touch /closed/x', '1000:1000');
    expect(result.stderr).toBe("touch: cannot touch '/closed/x': Permission denied\n");
    expect(result.status).toBe(1);
    expect(fs.existsSync(path.join(closedVolume, 'x'))).toBe(false);
  });

  test('a 0777 bind mount is writable, files owned by the user', () => {
    const result = sh('echo hello > /open/x && cat /open/x', '1000:1000');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('hello\n');
    expect(result.status).toBe(0);
    const status = fs.statSync(path.join(openVolume, 'x'));
    expect(status.uid).toBe(1000);
    expect(status.gid).toBe(1000);
  });

  test('supplementary groups grant access', () => {
    const without = sh('cat /srv/group-50', '1000:1000');
    expect(without.stderr).toBe('cat: /srv/group-50: Permission denied\n');
    expect(without.status).toBe(1);
    const withGroup = sh('cat /srv/group-50', '1000:1000:50');
    expect(withGroup.stderr).toBe('');
    expect(withGroup.stdout).toBe('for group 50\n');
    expect(withGroup.status).toBe(0);
  });

  test('/proc/self/status shows the ids', () => {
    const result = sh('grep -E "^(Uid|Gid|Groups):" /proc/self/status', '1000:1001:50,60');
    expect(result.stdout).toBe(
      'Uid:\t1000\t1000\t1000\t1000\nGid:\t1001\t1001\t1001\t1001\nGroups:\t50 60 \n',
    );
    expect(result.status).toBe(0);
  });

  test('--tty terminal belongs to the user', () => {
    const result = runTranslated(
      root,
      ['/bin/sh', '-c', 'stat -c %u $(tty) && echo reopened > $(tty)'],
      {
        flags: [...flags, '--tty', '--user', '1000:1000'],
      },
    );
    expect(result.stdout).toBe('1000\r\nreopened\r\n');
    expect(result.status).toBe(0);
  });

  test('a user without an execute bit cannot run a file', () => {
    fs.writeFileSync(path.join(root, 'tmp/owner-only'), '#!/bin/sh\necho ran\n', { mode: 0o744 });
    fs.chmodSync(path.join(root, 'tmp/owner-only'), 0o744);
    const asUser = sh('/tmp/owner-only', '1000:1000');
    expect(asUser.stderr).toContain('Permission denied');
    expect(asUser.status).toBe(126);
    expect(sh('/tmp/owner-only').stdout).toBe('ran\n');
  });
});

describeRootKvm('set-user-ID and set-group-ID programs', () => {
  test('set-user-ID root program runs as euid 0', () => {
    const result = sh('/srv/setuid-id', '1000:1000');
    expect(result.stdout).toBe('uid=1000 gid=1000 euid=0(root) groups=1000\n');
    expect(result.status).toBe(0);
  });

  test('set-group-ID program runs as its group', () => {
    const result = sh('/srv/setgid-id', '1000:1000');
    expect(result.stdout).toBe('uid=1000 gid=1000 egid=42(shadow) groups=42(shadow)\n');
    expect(result.status).toBe(0);
  });

  test('the set-user-ID program gets AT_SECURE', () => {
    const result = sh('LD_SHOW_AUXV=1 /srv/setuid-id | grep AT_SECURE', '1000:1000');
    expect(result.stdout).toBe('');
    const plain = sh('LD_SHOW_AUXV=1 /usr/bin/id | grep AT_SECURE', '1000:1000');
    expect(plain.stdout).toBe('AT_SECURE:            0\n');
  });

  test('a copy made by the user is no longer set-user-ID', () => {
    const result = sh('cp /srv/setuid-id /tmp/copied-id && /tmp/copied-id', '1000:1000');
    expect(result.stdout).toBe('uid=1000 gid=1000 groups=1000\n');
    expect(result.status).toBe(0);
  });
});

describeRootKvm('dropping root', () => {
  test('setpriv to 1000 loses access to /etc/shadow', () => {
    const result = sh('setpriv --reuid=1000 --regid=1000 --clear-groups cat /etc/shadow');
    expect(result.stderr).toBe('cat: /etc/shadow: Permission denied\n');
    expect(result.status).toBe(1);
  });

  test('setpriv to 1000 cannot take uid 0 back', () => {
    const script =
      'setpriv --reuid=1000 --regid=1000 --clear-groups setpriv --reuid=0 id -u; echo status $?';
    const result = sh(script);
    expect(result.stderr).toBe('setpriv: setresuid failed: Operation not permitted\n');
    expect(result.stdout).toBe('status 127\n');
  });

  test('id after setpriv shows the new ids', () => {
    const result = sh('setpriv --reuid=1000 --regid=1000 --clear-groups id');
    expect(result.stdout).toBe('uid=1000 gid=1000 groups=1000\n');
    expect(result.status).toBe(0);
  });

  for (const linking of linkings) {
    test(`threaded program drops root as natively (${linking})`, () => {
      const argv = [`${installDir}/drop-${linking}`];
      fs.rmSync(path.join(root, 'tmp/drop-file'), { force: true });
      const translated = runTranslated(root, argv, { flags });
      fs.rmSync(path.join(root, 'tmp/drop-file'), { force: true });
      const native = runNative(root, argv);
      expect(native.stdout).toContain('open-shadow EACCES\n');
      expect(native.status).toBe(0);
      expect(translated.stderr).toBe('');
      expect(translated.stdout).toBe(native.stdout);
      expect(translated.status).toBe(0);
    });
  }
});
