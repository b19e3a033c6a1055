import * as fs from 'node:fs';
import * as path from 'node:path';
import { UnsafeLayerError } from '../../src/image/errors';
import { TreeWriter } from '../../src/image/unpack';
import { snapshotTree, temporaryDir, TestEntry, writeLayer } from './layers';

let base: string;
let outside: string;
let rootfs: string;

beforeEach(() => {
  base = temporaryDir('unpack');
  outside = path.join(base, 'outside');
  rootfs = path.join(base, 'image', 'rootfs');
  fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'secret'), 'do not touch');
  fs.writeFileSync(path.join(outside, 'dir', 'kept'), 'kept');
  fs.mkdirSync(rootfs, { recursive: true });
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

/** Applies each list of entries as one gzip layer, bottom first. */
async function unpack(layers: TestEntry[][], writer = new TreeWriter(rootfs)) {
  for (const [i, entries] of layers.entries()) {
    const file = await writeLayer(base, `layer${i}.tar.gz`, entries);
    await writer.applyLayer(file, `layer${i}`);
  }
  await writer.finish();
  return writer;
}

function read(rel: string): string {
  return fs.readFileSync(path.join(rootfs, rel), 'utf8');
}

function exists(rel: string): boolean {
  try {
    fs.lstatSync(path.join(rootfs, rel));
    return true;
  } catch {
    return false;
  }
}

describe('layer unpacking', () => {
  test('files, folders, modes and mtimes', async () => {
    const mtime = new Date('2020-01-02T03:04:05Z');
    await unpack([
      [
        { name: './etc/', type: 'directory', mode: 0o755, mtime },
        { name: './etc/hosts', content: 'localhost\n', mode: 0o600, mtime },
        { name: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
        { name: 'ro/', type: 'directory', mode: 0o555 },
        { name: 'ro/inside', content: 'x' },
      ],
    ]);
    expect(read('etc/hosts')).toBe('localhost\n');
    const hosts = fs.statSync(path.join(rootfs, 'etc/hosts'));
    expect(hosts.mode & 0o7777).toBe(0o600);
    expect(hosts.mtime.getTime()).toBe(mtime.getTime());
    expect(fs.statSync(path.join(rootfs, 'etc')).mtime.getTime()).toBe(mtime.getTime());
    expect(fs.statSync(path.join(rootfs, 'usr/bin/tool')).mode & 0o7777).toBe(0o4755);
    expect(fs.statSync(path.join(rootfs, 'usr')).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(path.join(rootfs, 'ro')).mode & 0o7777).toBe(0o555);
    expect(read('ro/inside')).toBe('x');
  });

  test('symlinks and hardlinks', async () => {
    await unpack([
      [
        { name: 'usr/lib/libc.so.6', content: 'libc' },
        { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
        { name: 'abs', type: 'symlink', linkname: '/usr/lib/libc.so.6' },
        { name: 'usr/bin/a', content: 'same' },
        { name: 'usr/bin/b', type: 'link', linkname: 'usr/bin/a' },
      ],
      [{ name: 'lib/extra.so', content: 'through the relative link' }],
    ]);
    expect(fs.readlinkSync(path.join(rootfs, 'lib'))).toBe('usr/lib');
    expect(fs.readlinkSync(path.join(rootfs, 'abs'))).toBe('/usr/lib/libc.so.6');
    const a = fs.statSync(path.join(rootfs, 'usr/bin/a'));
    const b = fs.statSync(path.join(rootfs, 'usr/bin/b'));
    expect(b.ino).toBe(a.ino);
    expect(read('usr/lib/extra.so')).toBe('through the relative link');
  });

  test('whiteouts remove lower files and folders', async () => {
    await unpack([
      [
        { name: 'etc/gone', content: 'x' },
        { name: 'etc/stays', content: 'y' },
        { name: 'var/cache/big/file', content: 'z' },
      ],
      [{ name: 'etc/.wh.gone' }, { name: 'var/cache/.wh.big' }, { name: 'etc/.wh.never-existed' }],
    ]);
    expect(exists('etc/gone')).toBe(false);
    expect(exists('etc/.wh.gone')).toBe(false);
    expect(read('etc/stays')).toBe('y');
    expect(exists('var/cache/big')).toBe(false);
    expect(exists('var/cache')).toBe(true);
  });

  test('opaque folder keeps entries of its own layer', async () => {
    await unpack([
      [
        { name: 'opt/old', content: 'old' },
        { name: 'opt/sub/old', content: 'old' },
      ],
      [
        { name: 'opt/new-before', content: 'new' },
        { name: 'opt/sub/new', content: 'new' },
        { name: 'opt/.wh..wh..opq' },
        { name: 'opt/new-after', content: 'new' },
      ],
    ]);
    expect(fs.readdirSync(path.join(rootfs, 'opt')).sort()).toEqual([
      'new-after',
      'new-before',
      'sub',
    ]);
    expect(fs.readdirSync(path.join(rootfs, 'opt/sub'))).toEqual(['new']);
  });

  test('later layer replaces file, folder and link', async () => {
    await unpack([
      [
        { name: 'a', content: 'file' },
        { name: 'b/child', content: 'child' },
        { name: 'c', type: 'symlink', linkname: 'a' },
      ],
      [
        { name: 'a', type: 'directory' },
        { name: 'b', content: 'now a file' },
        { name: 'c', content: 'no longer a link' },
      ],
    ]);
    expect(fs.statSync(path.join(rootfs, 'a')).isDirectory()).toBe(true);
    expect(read('b')).toBe('now a file');
    expect(fs.lstatSync(path.join(rootfs, 'c')).isFile()).toBe(true);
  });

  test('zstd and plain tar layers', async () => {
    const writer = new TreeWriter(rootfs);
    const zstd = await writeLayer(base, 'z.tar.zst', [{ name: 'z', content: 'zstd' }], 'zstd');
    const plain = await writeLayer(base, 'p.tar', [{ name: 'p', content: 'plain' }], 'none');
    const first = await writer.applyLayer(zstd, 'zstd layer');
    const second = await writer.applyLayer(plain, 'plain layer');
    expect(read('z')).toBe('zstd');
    expect(read('p')).toBe('plain');
    expect(first.diffId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(second.contentBytes).toBe(5);
  });

  test('non-root ownership, xattrs and devices go to metadata', async () => {
    const writer = new TreeWriter(rootfs, false);
    await unpack(
      [
        [
          { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000 },
          { name: 'home/user/file', content: 'x', uid: 1000, gid: 100 },
          { name: 'bin/ping', content: 'p', pax: { 'SCHILY.xattr.user.note': 'hello' } },
          { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'run/fifo', type: 'fifo', mode: 0o600 },
        ],
      ],
      writer,
    );
    const metadata = writer.metadata.toJSON(0);
    expect(metadata.ownership).toBe('recorded');
    expect(metadata.owners['home/user']).toEqual([1000, 1000]);
    expect(metadata.owners['home/user/file']).toEqual([1000, 100]);
    expect(metadata.owners['bin/ping']).toBeUndefined();
    expect(Buffer.from(metadata.xattrs['bin/ping']['user.note'], 'base64').toString()).toBe(
      'hello',
    );
    expect(metadata.special['dev/null']).toEqual({ type: 'character-device', major: 1, minor: 3 });
    expect(metadata.special['run/fifo'].type).toBe('fifo');
    expect(fs.statSync(path.join(rootfs, 'dev/null')).mode & 0o777).toBe(0o666);
  });

  test('root applies ownership to files', async () => {
    if (process.getuid?.() !== 0) return;
    await unpack([[{ name: 'owned', content: 'x', uid: 1234, gid: 5678, mode: 0o2755 }]]);
    const stats = fs.statSync(path.join(rootfs, 'owned'));
    expect(stats.uid).toBe(1234);
    expect(stats.gid).toBe(5678);
    expect(stats.mode & 0o7777).toBe(0o2755);
  });
});

describe('hostile layers', () => {
  const cases: [string, () => TestEntry[][], string][] = [
    ['dot-dot name', () => [[{ name: '../outside/secret', content: 'pwned' }]], '".."'],
    ['dot-dot inside name', () => [[{ name: 'a/../../x', content: 'pwned' }]], '".."'],
    [
      'absolute name',
      () => [[{ name: path.join(outside, 'secret'), content: 'pwned' }]],
      'absolute',
    ],
    [
      'write through absolute symlink',
      () => [
        [
          { name: 'evil', type: 'symlink', linkname: outside },
          { name: 'evil/secret', content: 'pwned' },
        ],
      ],
      'symbolic link',
    ],
    [
      'write through escaping relative symlink',
      () => [
        [
          { name: 'evil', type: 'symlink', linkname: '../../outside' },
          { name: 'evil/secret', content: 'pwned' },
        ],
      ],
      'outside the image root',
    ],
    [
      'symlink planted by earlier layer',
      () => [
        [{ name: 'usr/evil', type: 'symlink', linkname: '../../../outside/dir' }],
        [{ name: 'usr/evil/new', content: 'pwned' }],
      ],
      'outside the image root',
    ],
    [
      'folder through symlink chain',
      () => [
        [
          { name: 'one', type: 'symlink', linkname: 'two' },
          { name: 'two', type: 'symlink', linkname: '..' },
          { name: 'one/outside/secret', content: 'pwned' },
        ],
      ],
      'outside the image root',
    ],
    [
      'hardlink to outside file',
      () => [[{ name: 'link', type: 'link', linkname: '../outside/secret' }]],
      '".."',
    ],
    [
      'hardlink to absolute path',
      () => [[{ name: 'link', type: 'link', linkname: path.join(outside, 'secret') }]],
      'absolute',
    ],
    [
      'hardlink through symlink',
      () => [
        [
          { name: 'evil', type: 'symlink', linkname: outside },
          { name: 'link', type: 'link', linkname: 'evil/secret' },
        ],
      ],
      'symbolic link',
    ],
    [
      'whiteout through symlink',
      () => [[{ name: 'evil', type: 'symlink', linkname: outside }], [{ name: 'evil/.wh.secret' }]],
      'symbolic link',
    ],
    [
      'opaque folder through symlink',
      () => [
        [{ name: 'evil', type: 'symlink', linkname: outside }],
        [{ name: 'evil/.wh..wh..opq' }],
      ],
      'symbolic link',
    ],
    ['whiteout of parent', () => [[{ name: 'x/.wh...' }]], 'invalid whiteout'],
    [
      'oversized PAX header',
      () => [[{ name: 'big', content: 'x', pax: { comment: 'a'.repeat(5 * 1024 * 1024) } }]],
      'Header exceeds max size',
    ],
    [
      'name longer than PATH_MAX',
      () => [[{ name: 'a/'.repeat(2100) + 'f', content: 'x' }]],
      'longer than 4096 bytes',
    ],
  ];

  test.each(cases)('%s is rejected', async (_label, layers, why) => {
    const before = snapshotTree(base.replace(/$/, '/outside'));
    const attempt = unpack(layers());
    await expect(attempt).rejects.toThrow(UnsafeLayerError);
    await attempt.catch((error: Error) => {
      expect(error.message).toContain(why);
      expect(error.message).toMatch(/layer\d/);
    });
    expect(snapshotTree(outside)).toEqual(before);
  });

  test('error names the entry', async () => {
    const attempt = unpack([
      [
        { name: 'ok', content: '' },
        { name: '../bad', content: 'x' },
      ],
    ]);
    await expect(attempt).rejects.toThrow('entry "../bad"');
  });

  test('file over planted symlink replaces the link', async () => {
    const before = snapshotTree(outside);
    await unpack([
      [{ name: 'f', type: 'symlink', linkname: path.join(outside, 'secret') }],
      [{ name: 'f', content: 'replaced' }],
    ]);
    expect(fs.lstatSync(path.join(rootfs, 'f')).isFile()).toBe(true);
    expect(read('f')).toBe('replaced');
    expect(snapshotTree(outside)).toEqual(before);
  });

  test('truncated layer is rejected', async () => {
    const file = await writeLayer(
      base,
      'cut.tar',
      [{ name: 'f', content: 'x'.repeat(4096) }],
      'none',
    );
    fs.truncateSync(file, 1024);
    await expect(new TreeWriter(rootfs).applyLayer(file, 'cut')).rejects.toThrow(UnsafeLayerError);
  });
});
