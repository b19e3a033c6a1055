/**
 * Commands that change files, run one at a time in a scratch folder under the translator and
 * natively in another; the resulting trees must be identical.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { fixtureRootfs } from '../fixtures/images';
import { describeKvm } from '../helpers/kvm';
import { OverlayRoot, RunResult, canCompareNatively, runNative, runTranslated } from './harness';

let overlay: OverlayRoot;

beforeAll(async () => {
  overlay = new OverlayRoot(await fixtureRootfs('debian'));
}, 600000);

afterAll(() => overlay?.remove());

/** The steps, each a command run with the scratch folder as its working directory. */
const steps: string[][] = [
  ['mkdir', '-p', 'tree/a/b/c', 'tree/empty'],
  ['touch', '-d', '@1000000000', 'tree/a/file'],
  ['cp', '-a', '/etc/apt', 'tree/apt-copy'],
  ['cp', '/etc/login.defs', 'tree/a/b/services'],
  ['ln', '-s', '../file', 'tree/a/b/link'],
  ['ln', '-s', '/etc/passwd', 'tree/absolute-link'],
  ['ln', 'tree/a/b/services', 'tree/hardlink'],
  ['chmod', '600', 'tree/a/file'],
  ['chmod', '-R', 'go-w', 'tree/apt-copy'],
  ['mv', 'tree/a/file', 'tree/a/moved'],
  ['rm', '-r', 'tree/apt-copy/apt.conf.d'],
  ['rmdir', 'tree/empty'],
  ['tar', 'cf', 'tree.tar', 'tree'],
  ['mkdir', 'unpacked'],
  ['tar', 'xf', 'tree.tar', '-C', 'unpacked'],
  ['gzip', '-9', 'tree.tar'],
  ['gunzip', 'tree.tar.gz'],
  ['tar', 'tvf', 'tree.tar', '--numeric-owner'],
];

/** A listing of a tree that does not depend on inode numbers or times of change. */
function describeTree(root: string): string[] {
  const lines: string[] = [];
  const walk = (relative: string) => {
    const full = path.join(root, relative);
    const status = fs.lstatSync(full);
    const kind = status.isDirectory() ? 'd' : status.isSymbolicLink() ? 'l' : 'f';
    let detail = '';
    if (status.isSymbolicLink()) detail = fs.readlinkSync(full);
    if (status.isFile()) detail = `${status.size} links=${status.nlink}`;
    if (relative.endsWith('moved')) detail += ` mtime=${status.mtimeMs}`;
    lines.push(`${relative} ${kind} ${(status.mode & 0o7777).toString(8)} ${detail}`);
    if (status.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) walk(path.join(relative, name));
    }
  };
  walk('.');
  return lines;
}

const describeRoot = canCompareNatively() ? describeKvm : describe.skip;

describeRoot('file operations compared with chroot', () => {
  test('each step and the final tree match', () => {
    for (const side of ['native', 'noah']) fs.mkdirSync(path.join(overlay.merged, 'tmp', side));
    for (const step of steps) {
      const native: RunResult = runNative(overlay.merged, step, { cwd: '/tmp/native' });
      expect({ step, nativeStatus: native.status }).toEqual({ step, nativeStatus: 0 });
      const translated: RunResult = runTranslated(overlay.merged, step, { cwd: '/tmp/noah' });
      expect({ step, stderr: translated.stderr }).toEqual({ step, stderr: native.stderr });
      expect({ step, stdout: translated.stdout }).toEqual({ step, stdout: native.stdout });
      expect({ step, status: translated.status }).toEqual({ step, status: native.status });
    }
    const nativeTree = describeTree(path.join(overlay.merged, 'tmp', 'native'));
    const translatedTree = describeTree(path.join(overlay.merged, 'tmp', 'noah'));
    expect(translatedTree).toEqual(nativeTree);
    expect(translatedTree).toContain('tree/a/b/link l 777 ../file');
    expect(translatedTree).toContain('unpacked/tree/hardlink f 644 12569 links=2');
  });
});
