import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliResult, repoRoot, runNoah } from '../helpers/cli';
import * as zlib from 'node:zlib';
import { makeTar, temporaryDir } from './layers';

let home: string;
let work: string;
const noah = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runNoah(args, { env: { NOAH_HOME: home, ...env } });

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: path.resolve(__dirname, '..', '..') });
});

beforeEach(() => {
  work = temporaryDir('errors');
  home = path.join(work, 'home');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs noah with `input` as binary standard input, which runNoah cannot pass. */
function noahWithInput(args: string[], input: Buffer): CliResult {
  const result = spawnSync(path.join(repoRoot, 'bin', 'noah'), args, {
    input,
    env: { ...process.env, NOAH_HOME: home },
  });
  return { status: result.status, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Checks that `result` failed with `status` and one line of stderr, with no stack trace. */
function expectOneLineError(result: CliResult, status: number): void {
  expect(result.status).toBe(status);
  expect(result.stderr).toMatch(/^noah: [^\n]+\n$/);
  expect(result.stderr).not.toContain('    at ');
}

describe('unusable NOAH_HOME', () => {
  test.each([
    ['/etc/passwd', '/etc/passwd is not a directory'],
    ['/etc/passwd/store', '/etc/passwd is not a directory'],
    ['/sys/fs/nope', '/sys is a kernel file system'],
    ['/proc/nope', '/proc is a kernel file system'],
  ])('%s fails with one line', (store, cause) => {
    const result = noah(['images'], { NOAH_HOME: store });
    expectOneLineError(result, 125);
    expect(result.stderr).toContain(`image store ${store}`);
    expect(result.stderr).toContain(cause);
  });
});

/** Writes a one-file root filesystem tar to `work` and returns its path. */
async function writeRootfs(name: string): Promise<string> {
  const file = path.join(work, name);
  fs.writeFileSync(file, await makeTar([{ name: 'hello', content: 'hello' }]));
  return file;
}

describe('noah import errors', () => {
  test('truncated gzip names the file', async () => {
    const data = zlib.gzipSync(fs.readFileSync(await writeRootfs('rootfs.tar')));
    const file = path.join(work, 'trunc.tar.gz');
    fs.writeFileSync(file, data.subarray(0, data.length - 20));
    const result = noah(['import', file, 'truncgz:1']);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${file}: invalid gzip data: unexpected end of file`);
  });

  test('truncated tar names the file', async () => {
    const file = path.join(work, 'trunc.tar');
    fs.writeFileSync(file, fs.readFileSync(await writeRootfs('rootfs.tar')).subarray(0, 700));
    const result = noah(['import', file, 'trunc:1']);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${file}: invalid tar`);
    expect(result.stderr).not.toContain('sha256:');
  });

  test.each(['xz', 'bzip2'])('%s is reported unsupported', async (tool) => {
    const file = await writeRootfs('rootfs.tar');
    execFileSync(tool, ['-k', file]);
    const compressed = `${file}.${tool === 'xz' ? 'xz' : 'bz2'}`;
    const result = noah(['import', compressed, 'packed:1']);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${compressed}: ${tool}-compressed tar is not supported`);
    expect(result.stderr).not.toContain('sha256:');
    expect(result.stderr).not.toContain('gunzip');
  });

  test('dash reads standard input', async () => {
    const file = await writeRootfs('rootfs.tar');
    const result = noahWithInput(['import', '-', 'fromstdin:1'], fs.readFileSync(file));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const inspected = JSON.parse(noah(['image', 'inspect', 'fromstdin:1']).stdout);
    const rootfs = inspected[0].GraphDriver.Data.RootFS;
    expect(fs.readFileSync(path.join(rootfs, 'hello'), 'utf8')).toBe('hello');
  });

  test('xz on standard input is reported', async () => {
    const file = await writeRootfs('rootfs.tar');
    const compressed = execFileSync('xz', ['-c', file]);
    const result = noahWithInput(['import', '-', 'fromstdin:1'], compressed);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain('standard input: xz-compressed tar is not supported');
  });
});

/** Builds a `docker save` archive of a one-file image tagged `tag`. */
async function dockerSaveArchive(tag: string): Promise<Buffer> {
  const { createHash } = await import('node:crypto');
  const layer = await makeTar([{ name: 'greeting', content: 'hi' }]);
  const diffId = 'sha256:' + createHash('sha256').update(layer).digest('hex');
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
    }),
  );
  const configHex = createHash('sha256').update(config).digest('hex');
  const manifest = JSON.stringify([
    { Config: `${configHex}.json`, RepoTags: [tag], Layers: ['layer.tar'] },
  ]);
  return makeTar([
    { name: 'layer.tar', content: layer },
    { name: `${configHex}.json`, content: config },
    { name: 'manifest.json', content: manifest },
  ]);
}

describe('noah load of compressed archives', () => {
  test.each([
    ['gzip', (data: Buffer) => zlib.gzipSync(data)],
    ['zstd', (data: Buffer) => execFileSync('zstd', ['-q', '-c', '-'], { input: data })],
  ])('%s archive is loaded', async (compression, compress) => {
    const file = path.join(work, `saved.tar.${compression}`);
    fs.writeFileSync(file, compress(await dockerSaveArchive(`packed:${compression}`)));
    const result = noah(['load', '-i', file]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`Loaded image: packed:${compression}\n`);
  });

  test('gzip on standard input is loaded', async () => {
    const data = zlib.gzipSync(await dockerSaveArchive('piped:1'));
    const result = noahWithInput(['load'], data);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('Loaded image: piped:1\n');
  });

  test('xz archive is reported unsupported', async () => {
    const file = path.join(work, 'saved.tar');
    fs.writeFileSync(file, await dockerSaveArchive('packed:xz'));
    execFileSync('xz', [file]);
    const result = noah(['load', '-i', `${file}.xz`]);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${file}.xz: xz-compressed tar is not supported`);
  });

  test('truncated tar names the file', async () => {
    const file = path.join(work, 'trunc.tar');
    const data = await dockerSaveArchive('trunc:1');
    fs.writeFileSync(file, data.subarray(0, 1500));
    const result = noah(['load', '-i', file]);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${file}: invalid tar`);
  });

  test('truncated gzip names the file', async () => {
    const file = path.join(work, 'trunc.tar.gz');
    const data = zlib.gzipSync(await dockerSaveArchive('trunc:1'));
    fs.writeFileSync(file, data.subarray(0, data.length - 30));
    const result = noah(['load', '-i', file]);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${file}: invalid gzip-compressed tar`);
  });
});

describe('load and import input checks', () => {
  test.each([['import'], ['load', '-i']])('%s of a directory', (...args) => {
    const result = noah([...args, work]);
    expectOneLineError(result, 125);
    expect(result.stderr).toBe(`noah: ${work}: is a directory, not a tar file\n`);
  });

  test('archive without manifest names the file', async () => {
    const file = path.join(work, 'other.tar');
    fs.writeFileSync(file, await makeTar([{ name: 'x', content: 'x' }]));
    const result = noah(['load', '-i', file]);
    expectOneLineError(result, 1);
    expect(result.stderr).toContain(`${file}: archive has neither manifest.json`);
  });
});
