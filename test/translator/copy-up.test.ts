/**
 * The container's copy-on-write layer: a root made by the addon's cloneTree shares the image's
 * files until the translator copies one up before a change (--shared-inodes). The image and a
 * second container from it must never see a change.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadAddon } from '../../src/native';
import { fixtureRootfs } from '../fixtures/images';
import { describeKvm } from '../helpers/kvm';
import { runTranslated } from './harness';

interface Container {
  root: string;
  flags: string[];
}

let image: string;
let scratch: string;

function digest(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Everything about the image's files a container could change: content, mode, owner, times. */
function snapshot(root: string, names: string[]): string[] {
  return names.map((name) => {
    const file = path.join(root, name);
    const status = fs.lstatSync(file);
    return [name, digest(file), status.mode, status.uid, status.gid, status.mtimeMs].join(' ');
  });
}

function makeContainer(name: string): Container {
  const root = path.join(scratch, name, 'rootfs');
  const inodes = path.join(scratch, name, 'shared-inodes');
  fs.mkdirSync(path.dirname(root), { recursive: true });
  loadAddon().cloneTree(image, root, inodes);
  return { root, flags: ['--shared-inodes', inodes] };
}

function sh(container: Container, script: string) {
  return runTranslated(container.root, ['/bin/sh', '-c', script], { flags: container.flags });
}

const watched = ['etc/os-release', 'usr/bin/ls', 'usr/bin/cat', 'usr/bin/dd', 'usr/bin/env'];

beforeAll(async () => {
  image = await fixtureRootfs('debian');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-copy-up-'));
}, 600000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('cloneTree', () => {
  test('makes the same tree with files linked to the image', () => {
    const container = makeContainer('clone');
    // Node's recursive readdir follows symlinks to directories, so walk with lstat instead.
    const listing = (root: string): string[] => {
      const lines: string[] = [];
      const visit = (relative: string) => {
        for (const name of fs.readdirSync(path.join(root, relative)).sort()) {
          const child = path.join(relative, name);
          const status = fs.lstatSync(path.join(root, child));
          lines.push(`${child} ${status.mode} ${status.uid} ${status.gid}`);
          if (status.isDirectory()) visit(child);
        }
      };
      visit('');
      return lines;
    };
    expect(listing(container.root)).toEqual(listing(image));
    const linked = fs.statSync(path.join(container.root, 'usr/bin/ls'));
    expect(linked.ino).toBe(fs.statSync(path.join(image, 'usr/bin/ls')).ino);
    const inodes = fs.readFileSync(container.flags[1]);
    expect(inodes.length % 8).toBe(0);
    expect(inodes.length).toBeGreaterThan(8 * 1000);
  });

  test('names the path that fails', () => {
    expect(() =>
      loadAddon().cloneTree('/nonexistent-image', path.join(scratch, 'x'), path.join(scratch, 'i')),
    ).toThrow('open image tree /nonexistent-image: No such file or directory');
  });
});

describeKvm('copy-on-write container root', () => {
  test('changes land in the container, never in the image or a second container', () => {
    const before = snapshot(image, watched);
    const first = makeContainer('first');
    const second = makeContainer('second');
    const changes = [
      'echo changed >> /etc/os-release',
      'chmod 700 /usr/bin/ls',
      'touch -d 2001-01-01 /usr/bin/cat',
      'truncate -s 10 /usr/bin/env',
      'ln /usr/bin/dd /root/dd-link && echo linked > /root/dd-link',
      'tail -n 1 /etc/os-release',
      'stat -c "%a %s" /usr/bin/ls /usr/bin/env /usr/bin/dd',
      'date -r /usr/bin/cat +%Y',
      'chown -h 7:7 /bin',
      'stat -c "%u %N" /bin',
    ].join(' && ');
    const changed = sh(first, changes);
    expect(changed.stderr).toBe('');
    expect(changed.stdout).toBe(
      "changed\n700 151344\n755 10\n755 7\n2001\n7 '/bin' -> 'usr/bin'\n",
    );
    // The image's symlink keeps its owner.
    expect(fs.lstatSync(path.join(image, 'bin')).uid).toBe(0);
    expect(fs.lstatSync(path.join(second.root, 'bin')).uid).toBe(0);
    expect(changed.status).toBe(0);

    expect(snapshot(image, watched)).toEqual(before);
    expect(snapshot(second.root, watched)).toEqual(before);
    const untouched = sh(second, 'tail -n 1 /etc/os-release; stat -c %a /usr/bin/ls');
    expect(untouched.stdout).toBe(
      fs.readFileSync(path.join(image, 'etc/os-release'), 'utf8').split('\n').at(-2) + '\n755\n',
    );
    // Both names of the new link share the container's copy.
    expect(fs.statSync(path.join(first.root, 'root/dd-link')).ino).toBe(
      fs.statSync(path.join(first.root, 'usr/bin/dd')).ino,
    );
  });

  test('a descriptor opened for reading follows its file when changed through it', () => {
    const container = makeContainer('descriptor');
    const before = snapshot(image, ['etc/hostname', 'etc/issue']);
    // fchmod and futimens on a read-only descriptor, then read through it.
    const result = runTranslated(
      container.root,
      [
        '/usr/bin/perl',
        '-e',
        'open(my $f, "<", "/etc/issue") or die; chmod(0600, $f) or die "chmod: $!"; ' +
          'utime(0, 0, $f) or die "utime: $!"; print scalar(<$f>) ne "" ? "read\\n" : "empty\\n"; ' +
          'printf("%o %d\\n", (stat("/etc/issue"))[2] & 07777, (stat("/etc/issue"))[9]);',
      ],
      { flags: container.flags },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('read\n600 0\n');
    expect(snapshot(image, ['etc/hostname', 'etc/issue'])).toEqual(before);
  });

  test('rejects a malformed inode list', () => {
    const container = makeContainer('malformed');
    fs.writeFileSync(container.flags[1], Buffer.from([1, 2, 3]));
    const result = sh(container, 'true');
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('not a list of 64-bit numbers');
  });
});
