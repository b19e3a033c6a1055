/**
 * Real Debian binaries under the translator, compared with the same command run natively by
 * chroot in the same root: stdout, stderr and exit status must be identical.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

import { fixtureRootfs } from '../fixtures/images';
import { describeKvm } from '../helpers/kvm';
import {
  OverlayRoot,
  RunOptions,
  RunResult,
  canCompareNatively,
  runNative,
  runTranslated,
} from './harness';

let overlay: OverlayRoot;

beforeAll(async () => {
  overlay = new OverlayRoot(await fixtureRootfs('debian'));
}, 600000);

afterAll(() => overlay?.remove());

function expectSameAsNative(argv: string[], options: RunOptions = {}): RunResult {
  const native = runNative(overlay.merged, argv, options);
  const translated = runTranslated(overlay.merged, argv, options);
  expect(translated.stderr).toBe(native.stderr);
  expect(translated.stdout).toBe(native.stdout);
  expect(translated.signal).toBe(native.signal);
  expect(translated.status).toBe(native.status);
  return native;
}

const describeRoot = canCompareNatively() ? describeKvm : describe.skip;

describeRoot('coreutils compared with chroot', () => {
  const commands: string[][] = [
    ['ls', '-la', '/etc', '/usr/bin'],
    ['ls', '-la', '/no/such/dir'],
    ['cat', '/etc/passwd', '/etc/group'],
    ['head', '-n', '5', '/etc/login.defs'],
    ['sort', '/etc/login.defs'],
    ['uniq', '-c', '/etc/login.defs'],
    ['wc', '/etc/login.defs', '/etc/passwd'],
    ['md5sum', '/bin/ls', '/etc/login.defs'],
    ['sha256sum', '/bin/bash', '/usr/bin/perl'],
    ['grep', '-r', 'root', '/etc'],
    ['find', '/usr', '-name', '*.so*'],
    ['stat', '/etc/passwd', '/bin/sh', '/usr'],
    ['du', '-s', '/usr/share'],
    ['readlink', '-f', '/bin/sh', '/lib64/ld-linux-x86-64.so.2'],
    ['date', '-u', '-d', '@0'],
    ['env'],
    ['id'],
    ['uname', '-s'],
    ['perl', '-e', 'print join(",", map { $_ * 2 } 1..10), "\\n"; exit 3'],
    ['perl', '-e', 'opendir(D, "/etc") or die; print scalar(grep { !/^\\./ } readdir D), "\\n"'],
    ['false'],
    ['ls', '/proc/self/no-such-file'],
  ];

  // Commands whose native run fails on purpose; every other one must succeed natively, so a
  // comparison of two identical failures cannot pass unnoticed.
  const failing = new Set(['ls -la /no/such/dir', 'false', 'ls /proc/self/no-such-file']);

  test.each(commands.map((argv) => [argv.join(' '), argv]))('%s', (name, argv) => {
    const native = expectSameAsNative(argv as string[]);
    if (failing.has(name as string)) {
      expect(native.status).not.toBe(0);
    } else if (!(name as string).startsWith('perl -e print')) {
      expect(native.status).toBe(0);
    }
  });

  test('stdin passes through', () => {
    expectSameAsNative(['sort', '-r'], { input: 'b\na\nc\n' });
  });

  test('cwd and relative paths', () => {
    expectSameAsNative(['ls', '-la', '../bin/ls', 'passwd'], { cwd: '/etc' });
  });

  test('dd from /dev/zero hashes as natively', () => {
    const argv = ['dd', 'if=/dev/zero', 'bs=1k', 'count=64', 'status=none'];
    const translated = runTranslated(overlay.merged, argv);
    const native = runNative(overlay.merged, argv);
    expect(translated.status).toBe(0);
    expect(translated.stdoutBytes.length).toBe(65536);
    expect(sha256(translated.stdoutBytes)).toBe(sha256(native.stdoutBytes));
  });

  test('dd from /dev/urandom gives 64 KiB of random bytes', () => {
    const argv = ['dd', 'if=/dev/urandom', 'bs=1k', 'count=64', 'status=none'];
    const translated = runTranslated(overlay.merged, argv);
    expect(translated.status).toBe(0);
    expect(translated.stdoutBytes.length).toBe(65536);
    expect(translated.stdoutBytes.equals(Buffer.alloc(65536))).toBe(false);
  });

  test('sha256sum of piped input matches the host', () => {
    const input = fs.readFileSync(`${overlay.merged}/usr/bin/perl`);
    const translated = runTranslated(overlay.merged, ['sha256sum'], { input });
    expect(translated.status).toBe(0);
    expect(translated.stdout).toBe(`${sha256(input)}  -\n`);
  });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
