import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runNoah } from '../helpers/cli';
import { makeTar, temporaryDir } from './layers';

let home: string;
let work: string;
const noah = (args: string[]) => runNoah(args, { env: { NOAH_HOME: home } });

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: path.resolve(__dirname, '..', '..') });
});

beforeEach(() => {
  work = temporaryDir('manage');
  home = path.join(work, 'home');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Imports a one-file image whose file holds `content`, tags it `name` and returns its ID. */
async function importAs(name: string, content: string): Promise<string> {
  const file = path.join(work, 'rootfs.tar');
  fs.writeFileSync(file, await makeTar([{ name: 'f', content }]));
  const result = noah(['import', file, name]);
  expect(result.status).toBe(0);
  return result.stdout.trim();
}

function blobSize(digest: string): number {
  return fs.statSync(path.join(home, 'blobs', 'sha256', digest.slice('sha256:'.length))).size;
}

describe('noah image prune', () => {
  test('leftover blob counts as reclaimed', async () => {
    await importAs('kept:1', 'kept');
    const leftover = path.join(home, 'blobs', 'sha256', 'ab'.repeat(32));
    fs.writeFileSync(leftover, Buffer.alloc(1500));
    const result = noah(['image', 'prune', '-f']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('Total reclaimed space: 1.5kB\n');
    expect(fs.existsSync(leftover)).toBe(false);
  });

  test('shared layer is not counted', async () => {
    const content = 'x'.repeat(5000);
    const dangling = await importAs('same:1', content);
    await importAs('same:1', content); // same layer and tree, new config: the first is untagged
    const inspected = JSON.parse(noah(['image', 'inspect', dangling]).stdout)[0];
    const expected = blobSize(dangling) + blobSize(inspected.Manifest.Digest);
    expect(expected).toBeLessThan(1000); // so the total prints in bytes
    const result = noah(['image', 'prune', '-f']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`deleted: ${dangling}\n`);
    expect(result.stdout).toContain(`Total reclaimed space: ${expected}B\n`);
  });

  test('all without force or terminal is rejected', async () => {
    await importAs('kept:1', 'kept');
    const result = noah(['image', 'prune', '-a']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('add --force');
    expect(result.stdout).toBe('');
    expect(noah(['images', '-q']).stdout).not.toBe('');
  });

  test('all with force removes tagged images', async () => {
    const id = await importAs('gone:1', 'gone');
    const result = noah(['image', 'prune', '-a', '-f']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`deleted: ${id}\n`);
    expect(noah(['images', '-q']).stdout).toBe('');
  });

  test('help documents --all', () => {
    const result = noah(['image', 'prune', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('-a, --all');
    expect(result.stdout).toContain('-f, --force');
  });
});

describe('image command messages', () => {
  test.each([
    [['image', 'inspect', 'nothing:here']],
    [['rmi', 'nothing:here']],
    [['tag', 'nothing:here', 'other:1']],
  ])('%j reports no such image', (args) => {
    const result = noah(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('noah: No such image: nothing:here\n');
  });

  test('images rejects two arguments', () => {
    const result = noah(['images', 'a', 'b']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('at most one');
  });

  test('image without command lists commands', () => {
    const result = noah(['image']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('needs a command');
    expect(result.stderr).toContain('inspect');
    expect(result.stderr).toContain('prune');
  });

  test('image help exits zero', () => {
    const result = noah(['image', '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: noah image');
  });
});
