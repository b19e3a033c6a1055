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
  work = temporaryDir('offline');
  home = path.join(work, 'home');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

function inspect(name: string): {
  Id: string;
  RepoTags: string[];
  GraphDriver: { Data: { RootFS: string } };
} {
  const result = noah(['image', 'inspect', name]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout)[0];
}

describe('noah import', () => {
  test('root filesystem tar becomes a tagged image', async () => {
    const file = path.join(work, 'rootfs.tar');
    fs.writeFileSync(
      file,
      await makeTar([
        { name: 'bin/', type: 'directory', mode: 0o755 },
        { name: 'bin/hello', content: 'hello', mode: 0o755 },
        { name: 'etc/os-release', content: 'ID=test\n' },
      ]),
    );
    const imported = noah(['import', file, 'example/rootfs:1.0']);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);

    const image = inspect('example/rootfs:1.0');
    expect(image.Id).toBe(imported.stdout.trim());
    expect(image.RepoTags).toEqual(['example/rootfs:1.0']);
    const rootfs = image.GraphDriver.Data.RootFS;
    expect(fs.readFileSync(path.join(rootfs, 'bin/hello'), 'utf8')).toBe('hello');
    expect(fs.statSync(path.join(rootfs, 'bin/hello')).mode & 0o777).toBe(0o755);

    const listed = noah(['images', '--format', 'json']);
    const rows = listed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows).toHaveLength(1);
    expect(rows[0].Repository).toBe('example/rootfs');
    expect(rows[0].Tag).toBe('1.0');
    expect(rows[0].Size).toBe('13B');
  });

  test('missing file exits with a message', () => {
    const result = noah(['import', path.join(work, 'nope.tar'), 'x']);
    expect(result.status).toBe(125);
    expect(result.stderr).toContain('nope.tar: no such file');
  });
});

describe('noah load', () => {
  test('docker save archive', async () => {
    const layer = await makeTar([{ name: 'greeting', content: 'hi from docker save' }]);
    const { createHash } = await import('node:crypto');
    const diffId = 'sha256:' + createHash('sha256').update(layer).digest('hex');
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-01T00:00:00Z',
        config: { Cmd: ['/greeting'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
    );
    const configHex = createHash('sha256').update(config).digest('hex');
    const manifest = JSON.stringify([
      { Config: `${configHex}.json`, RepoTags: ['saved:v1'], Layers: ['abc/layer.tar'] },
    ]);
    const archive = path.join(work, 'saved.tar');
    fs.writeFileSync(
      archive,
      await makeTar([
        { name: 'abc/', type: 'directory' },
        { name: 'abc/layer.tar', content: layer },
        { name: `${configHex}.json`, content: config },
        { name: 'manifest.json', content: manifest },
      ]),
    );
    const loaded = noah(['load', '-i', archive]);
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout).toBe('Loaded image: saved:v1\n');
    const image = inspect('saved:v1');
    expect(image.Id).toBe(`sha256:${configHex}`);
    expect(fs.readFileSync(path.join(image.GraphDriver.Data.RootFS, 'greeting'), 'utf8')).toBe(
      'hi from docker save',
    );
  });

  test('OCI layout archive made by umoci', () => {
    const layout = path.join(work, 'layout');
    const bundle = path.join(work, 'bundle');
    execFileSync('umoci', ['init', '--layout', layout]);
    execFileSync('umoci', ['new', '--image', `${layout}:v1`]);
    execFileSync('umoci', ['unpack', '--image', `${layout}:v1`, bundle]);
    fs.writeFileSync(path.join(bundle, 'rootfs', 'hello'), 'from umoci');
    execFileSync('umoci', ['repack', '--image', `${layout}:v1`, bundle]);
    const archive = path.join(work, 'layout.tar');
    execFileSync('tar', ['-C', layout, '-cf', archive, '.']);

    const loaded = noah(['load', '-i', archive]);
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
    // umoci names the image "v1" only, which is no repository, so it is loaded untagged.
    const id = loaded.stdout.match(/^Loaded image ID: (sha256:[0-9a-f]{64})\n$/)?.[1];
    expect(id).toBeDefined();
    const image = inspect(id!);
    expect(fs.readFileSync(path.join(image.GraphDriver.Data.RootFS, 'hello'), 'utf8')).toBe(
      'from umoci',
    );
  });

  test('archive without manifest is rejected', async () => {
    const archive = path.join(work, 'bad.tar');
    fs.writeFileSync(archive, await makeTar([{ name: 'x', content: 'x' }]));
    const result = noah(['load', '-i', archive]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('neither manifest.json');
  });
});

describe('image management', () => {
  async function importAs(name: string, content: string): Promise<string> {
    const file = path.join(work, `${content}.tar`);
    fs.writeFileSync(file, await makeTar([{ name: 'f', content }]));
    return noah(['import', file, name]).stdout.trim();
  }

  test('tag, rmi and prune', async () => {
    const id = await importAs('one:latest', 'a');
    expect(noah(['tag', 'one', 'two:x']).status).toBe(0);
    expect(noah(['images', '-q']).stdout).toBe(`${id.slice(7, 19)}\n`);

    const refused = noah(['rmi', id]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('referenced in multiple repositories');

    const untag = noah(['rmi', 'two:x']);
    expect(untag.stdout).toBe('Untagged: docker.io/library/two:x\n');
    const removed = noah(['rmi', 'one']);
    expect(removed.stdout).toContain(`Deleted: ${id}`);
    expect(noah(['images', '-q']).stdout).toBe('');
    expect(fs.readdirSync(path.join(home, 'tree'))).toEqual([]);
    expect(fs.readdirSync(path.join(home, 'blobs', 'sha256'))).toEqual([]);

    const dangling = await importAs('three', 'b');
    await importAs('three', 'c'); // moves the tag, leaving the first image untagged
    const pruned = noah(['image', 'prune', '-f']);
    expect(pruned.stdout).toContain(`deleted: ${dangling}`);
    expect(noah(['images', '--format', 'json']).stdout.trim().split('\n')).toHaveLength(1);
  });

  test('rmi of unknown image fails', () => {
    const result = noah(['rmi', 'nothing:here']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('No such image: nothing:here');
  });
});
