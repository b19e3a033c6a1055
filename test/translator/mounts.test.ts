/**
 * The translator's mount table (--mount): bind mounts of directories and files, read-only
 * mounts, tmpfs directories, and path resolution across mountpoints through symlinks and "..",
 * which must never reach a host file outside the root or a mount's source.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadAddon } from '../../src/native';
import { fixtureRootfs } from '../fixtures/images';
import { describeKvm } from '../helpers/kvm';
import { RunResult, runTranslated } from './harness';

let scratch: string;
let root: string;
let volume: string;
let readOnly: string;
let tmpfs: string;
let hostsFile: string;
let mountFlags: string[];

function sh(script: string, extraFlags: string[] = []): RunResult {
  return runTranslated(root, ['/bin/sh', '-c', script], {
    flags: [...mountFlags, ...extraFlags],
  });
}

beforeAll(async () => {
  const image = await fixtureRootfs('debian');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-mounts-'));
  root = path.join(scratch, 'rootfs');
  const inodes = path.join(scratch, 'shared-inodes');
  loadAddon().cloneTree(image, root, inodes);
  volume = path.join(scratch, 'volume');
  readOnly = path.join(scratch, 'read-only');
  tmpfs = path.join(scratch, 'tmpfs');
  hostsFile = path.join(scratch, 'hosts');
  fs.mkdirSync(path.join(volume, 'sub'), { recursive: true });
  fs.mkdirSync(readOnly);
  fs.mkdirSync(tmpfs);
  fs.writeFileSync(path.join(volume, 'file'), 'in the volume\n');
  fs.writeFileSync(path.join(readOnly, 'file'), 'read-only\n');
  fs.writeFileSync(hostsFile, '127.0.0.1 localhost box\n');
  fs.writeFileSync(path.join(scratch, 'outside'), 'outside\n');
  fs.symlinkSync('/data/sub', path.join(root, 'to-volume'));
  mountFlags = [
    '--shared-inodes',
    inodes,
    '--mount',
    `type=bind,source=${volume},target=/data`,
    '--mount',
    `type=bind,source=${readOnly},target=/srv/ro,readonly`,
    '--mount',
    `type=bind,source=${hostsFile},target=/etc/hosts`,
    '--mount',
    `type=tmpfs,source=${tmpfs},target=/tmp`,
  ];
}, 600000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describeKvm('mounts', () => {
  test('bind mounts read and write the host folder', () => {
    const result = sh('cat /data/file && echo written > /data/new && ls /data');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('in the volume\nfile\nnew\nsub\n');
    expect(fs.readFileSync(path.join(volume, 'new'), 'utf8')).toBe('written\n');
  });

  test('a file mount replaces the file', () => {
    const result = sh('cat /etc/hosts');
    expect(result.stdout).toBe('127.0.0.1 localhost box\n');
  });

  test('tmpfs mounts take writes', () => {
    const result = sh('echo scratch > /tmp/note && cat /tmp/note');
    expect(result.stdout).toBe('scratch\n');
    expect(fs.readdirSync(tmpfs)).toEqual(['note']);
  });

  test('read-only mounts reject every change', () => {
    const script = [
      'cat /srv/ro/file',
      'echo x > /srv/ro/new',
      'rm /srv/ro/file',
      'mkdir /srv/ro/dir',
      'chmod 600 /srv/ro/file',
      'touch /srv/ro/file',
    ].join('; ');
    const result = sh(script);
    expect(result.stdout).toBe('read-only\n');
    const errors = result.stderr.trim().split('\n');
    expect(errors).toHaveLength(5);
    for (const line of errors) expect(line).toContain('Read-only file system');
    expect(fs.readdirSync(readOnly)).toEqual(['file']);
    expect(fs.statSync(path.join(readOnly, 'file')).mode & 0o777).toBe(0o644);
  });

  test('a read-only root keeps its mounts writable', () => {
    const result = sh('echo ok > /data/from-read-only; echo no > /root/denied', ['--read-only']);
    expect(result.stderr).toContain('cannot create /root/denied: Read-only file system');
    expect(fs.readFileSync(path.join(volume, 'from-read-only'), 'utf8')).toBe('ok\n');
  });

  test('paths cross mountpoints through symlinks and dot-dot', () => {
    const script = [
      'cd /data/sub && pwd',
      'cat ../file',
      'cat ../../etc/debian_version',
      'cd / && ls /to-volume/../file',
      'stat -c %i /data',
    ].join(' && ');
    const result = sh(script);
    expect(result.stderr).toBe('');
    const version = fs.readFileSync(path.join(root, 'etc/debian_version'), 'utf8');
    expect(result.stdout).toBe(
      `/data/sub\nin the volume\n${version}/to-volume/../file\n${fs.statSync(volume).ino}\n`,
    );
  });

  test('dot-dot never leaves a mount source for its host parent', () => {
    const result = sh('cat /data/../../outside /data/../outside /data/sub/../../../../outside');
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(3);
    expect(result.status).toBe(1);
  });

  test('rename between mounts fails with EXDEV', () => {
    fs.writeFileSync(path.join(volume, 'move-me'), 'moved\n');
    const result = runTranslated(
      root,
      ['/usr/bin/perl', '-e', 'rename("/data/move-me", "/root/moved") or print "$!\\n"'],
      { flags: mountFlags },
    );
    expect(result.stdout).toBe('Invalid cross-device link\n');
    expect(fs.existsSync(path.join(volume, 'move-me'))).toBe(true);
  });

  test('invalid mounts fail with the reason', () => {
    const missing = runTranslated(root, ['/bin/true'], {
      flags: ['--mount', `type=bind,source=${scratch}/missing,target=/x`],
    });
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain(`mount ${scratch}/missing on /x: source: No such file`);
    const malformed = runTranslated(root, ['/bin/true'], {
      flags: ['--mount', 'type=nfs,source=/,target=/x'],
    });
    expect(malformed.status).toBe(125);
    expect(malformed.stderr).toContain('type must be bind or tmpfs, not nfs');
  });
});
