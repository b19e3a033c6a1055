import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runNoah } from '../helpers/cli';
import { startRegistry, testRegistryImage } from '../helpers/registry';
import { temporaryDir } from './layers';

let home: string;
let work: string;
const noah = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runNoah(args, { env: { NOAH_HOME: home, DOCKER_CONFIG: path.join(work, 'docker'), ...env } });

beforeAll(() => {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: path.resolve(__dirname, '..', '..') });
});

beforeEach(() => {
  work = temporaryDir('pull');
  home = path.join(work, 'home');
});

afterEach(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

interface Inspected {
  Id: string;
  Architecture: string;
  Variant?: string;
  RepoDigests: string[];
  GraphDriver: { Data: { RootFS: string } };
}

function pull(reference: string, extra: string[] = []): Inspected {
  const result = noah(['pull', ...extra, reference]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const inspected = noah(['image', 'inspect', reference]);
  expect(inspected.status).toBe(0);
  return JSON.parse(inspected.stdout)[0];
}

/**
 * Type, mode, size, content hash and link target of every path, with hardlinked paths
 * sharing a group number, for comparing two unpacked trees.
 */
function describeTree(root: string): Map<string, string> {
  const result = new Map<string, string>();
  const inodes = new Map<number, string>();
  const walk = (rel: string) => {
    const full = path.join(root, rel);
    const stats = fs.lstatSync(full);
    const mode = (stats.mode & 0o7777).toString(8);
    if (stats.isSymbolicLink()) {
      result.set(rel, `symlink -> ${fs.readlinkSync(full)}`);
    } else if (stats.isDirectory()) {
      result.set(rel, `dir ${mode}`);
      for (const child of fs.readdirSync(full)) walk(rel === '' ? child : `${rel}/${child}`);
    } else if (stats.isFile()) {
      const hash = createHash('sha256').update(fs.readFileSync(full)).digest('hex');
      let link = '';
      if (stats.nlink > 1) {
        if (!inodes.has(stats.ino)) inodes.set(stats.ino, rel);
        link = ` linked with ${inodes.get(stats.ino)}`;
      }
      result.set(rel, `file ${mode} ${stats.size} ${hash}${link}`);
    } else {
      result.set(rel, `other ${mode}`);
    }
  };
  walk('');
  return result;
}

describe('noah pull from the test registry', () => {
  test.each(['busybox', 'busybox-docker', 'busybox-zstd'] as const)('%s', (name) => {
    const image = testRegistryImage(name);
    const inspected = pull(image.reference);
    const rootfs = inspected.GraphDriver.Data.RootFS;
    expect(fs.statSync(path.join(rootfs, 'bin', 'busybox')).isFile()).toBe(true);
    expect(inspected.RepoDigests).toEqual([
      `${image.reference.replace(/:latest$/, '')}@${image.digest}`,
    ]);
  });

  test('debian matches umoci unpack', () => {
    const image = testRegistryImage('debian');
    const inspected = pull(image.reference);
    const bundle = path.join(work, 'umoci');
    execFileSync('umoci', ['unpack', '--image', `${image.layout}:latest`, bundle]);
    const ours = describeTree(inspected.GraphDriver.Data.RootFS);
    const theirs = describeTree(path.join(bundle, 'rootfs'));
    const differences = [...new Set([...ours.keys(), ...theirs.keys()])]
      .filter((key) => ours.get(key) !== theirs.get(key))
      .map((key) => `${key}: noah ${ours.get(key)} umoci ${theirs.get(key)}`);
    expect(differences).toEqual([]);
    expect(ours.size).toBeGreaterThan(1000);
  });

  test.each(['multiarch', 'multiarch-docker'] as const)('%s picks the platform', (name) => {
    const image = testRegistryImage(name);
    expect(pull(image.reference).Architecture).toBe('amd64');
    const arm = pull(image.reference, ['--platform', 'linux/arm64']);
    expect(arm.Architecture).toBe('arm64');
    const missing = noah(['pull', '--platform', 'linux/s390x', image.reference]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no manifest for platform linux/s390x');
  });

  test('pull by digest and again is up to date', () => {
    const image = testRegistryImage('busybox');
    const byDigest = `${image.reference.replace(/:latest$/, '')}@${image.digest}`;
    pull(byDigest);
    const again = noah(['pull', byDigest]);
    expect(again.stdout).toContain(`Digest: ${image.digest}`);
    const byTag = noah(['pull', image.reference]);
    expect(byTag.stdout).toContain('Already exists');
  });

  test('unknown tag and repository', () => {
    const image = testRegistryImage('busybox');
    const tag = noah(['pull', image.reference.replace(/:latest$/, ':nope')]);
    expect(tag.status).toBe(1);
    expect(tag.stderr).toContain(':nope not found: manifest unknown');
    const repository = noah(['pull', image.reference.replace('/busybox:', '/missing:')]);
    expect(repository.status).toBe(1);
    expect(repository.stderr).toMatch(/missing.*not found/);
  });
});

describe('noah pull against broken registries', () => {
  async function ownRegistry(options: Partial<Parameters<typeof startRegistry>[0]> = {}) {
    const directory = path.join(work, 'registry');
    fs.mkdirSync(directory, { recursive: true });
    return startRegistry({ directory, ...options });
  }

  function push(address: string, name: 'busybox' | 'debian', tlsVerify = false) {
    const image = testRegistryImage(name);
    execFileSync('skopeo', [
      'copy',
      '--quiet',
      `--dest-tls-verify=${tlsVerify}`,
      '--preserve-digests',
      `oci:${image.layout}:latest`,
      `docker://${address}/${name}:latest`,
    ]);
  }

  /** Returns the registry's data file of the largest blob, which is the layer. */
  function largestBlob(directory: string): string {
    const blobs = path.join(directory, 'storage', 'docker', 'registry', 'v2', 'blobs', 'sha256');
    let best = '';
    let bestSize = -1;
    for (const prefix of fs.readdirSync(blobs)) {
      for (const hex of fs.readdirSync(path.join(blobs, prefix))) {
        const file = path.join(blobs, prefix, hex, 'data');
        const size = fs.statSync(file).size;
        if (size > bestSize) [best, bestSize] = [file, size];
      }
    }
    return best;
  }

  test('corrupt blob is rejected', async () => {
    const server = await ownRegistry();
    try {
      push(server.address, 'busybox');
      const blob = largestBlob(server.directory);
      const data = fs.readFileSync(blob);
      data[1000] ^= 0xff;
      fs.writeFileSync(blob, data);
      const result = noah(['pull', `${server.address}/busybox`]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('the registry sent corrupt data');
      expect(fs.readdirSync(path.join(home, 'images'))).toEqual([]);
      expect(fs.readdirSync(path.join(home, 'ingest'))).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test('truncated blob is rejected', async () => {
    const server = await ownRegistry();
    try {
      push(server.address, 'busybox');
      const blob = largestBlob(server.directory);
      fs.truncateSync(blob, 1000);
      const result = noah(['pull', `${server.address}/busybox`]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/truncated|kept breaking off/);
      expect(fs.readdirSync(path.join(home, 'images'))).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  test('registry stopped mid-pull, then SIGKILL and pull again', async () => {
    const server = await ownRegistry();
    let stopped = false;
    try {
      push(server.address, 'debian');
      const reference = `${server.address}/debian`;
      // Kill a pull part-way through the download, leaving a partial blob.
      const child = spawn(path.resolve(__dirname, '..', '..', 'bin', 'noah'), ['pull', reference], {
        env: { ...process.env, NOAH_HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('Downloading')) resolve();
        });
        child.on('exit', () => resolve());
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      expect(fs.readdirSync(path.join(home, 'images'))).toEqual([]);

      await server.stop();
      stopped = true;
      const unreachable = noah(['pull', reference]);
      expect(unreachable.status).toBe(1);
      expect(unreachable.stderr).toContain(`cannot reach registry ${server.address}`);

      const again = await startRegistry({ directory: server.directory });
      try {
        const moved = `${again.address}/debian`;
        const result = noah(['pull', moved]);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(noah(['images', '-q']).stdout.trim()).toMatch(/^[0-9a-f]{12}$/);
        expect(fs.readdirSync(path.join(home, 'ingest'))).toEqual([]);
      } finally {
        await again.stop();
      }
    } finally {
      if (!stopped) await server.stop();
    }
  });

  test('basic auth with login, wrong password and logout', async () => {
    const htpasswd = path.join(work, 'htpasswd');
    fs.writeFileSync(htpasswd, execFileSync('htpasswd', ['-Bbn', 'alice', 's3cret']));
    const server = await ownRegistry({ htpasswd: { realm: 'test', path: htpasswd } });
    try {
      const config = path.join(work, 'docker', 'config.json');
      fs.mkdirSync(path.dirname(config), { recursive: true });
      const auth = Buffer.from('alice:s3cret').toString('base64');
      fs.writeFileSync(config, JSON.stringify({ auths: { [server.address]: { auth } } }));
      execFileSync('skopeo', [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        '--dest-creds=alice:s3cret',
        '--preserve-digests',
        `oci:${testRegistryImage('busybox').layout}:latest`,
        `docker://${server.address}/busybox:latest`,
      ]);
      fs.rmSync(config);
      const anonymous = noah(['pull', `${server.address}/busybox`]);
      expect(anonymous.status).toBe(1);
      expect(anonymous.stderr).toContain(`run "noah login ${server.address}"`);

      const wrong = noah(['login', '-u', 'alice', '-p', 'wrong', server.address]);
      expect(wrong.status).toBe(1);
      expect(wrong.stderr).toContain('rejected the credentials');

      const login = noah(['login', '-u', 'alice', '-p', 's3cret', server.address]);
      expect(login.stderr).toBe('');
      expect(login.stdout).toContain('Login Succeeded');
      expect(JSON.parse(fs.readFileSync(config, 'utf8')).auths[server.address].auth).toBe(auth);

      const pulled = noah(['pull', `${server.address}/busybox`]);
      expect(pulled.stderr).toBe('');
      expect(pulled.status).toBe(0);

      expect(noah(['logout', server.address]).stdout).toContain('Removing login credentials');
      expect(JSON.parse(fs.readFileSync(config, 'utf8')).auths).toEqual({});
    } finally {
      await server.stop();
    }
  });

  test('TLS with a private CA from certs.d', async () => {
    const certs = path.join(work, 'certs');
    fs.mkdirSync(certs);
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: certs, stdio: 'pipe' });
    run([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=noah test CA',
    ]);
    run([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    fs.writeFileSync(path.join(certs, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    run([
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.crt',
      '-days',
      '2',
      '-extfile',
      'ext.cnf',
    ]);
    const server = await ownRegistry({
      tls: { certificate: path.join(certs, 'server.crt'), key: path.join(certs, 'server.key') },
    });
    try {
      push(server.address, 'busybox');
      const untrusted = noah(['pull', `${server.address}/busybox`]);
      expect(untrusted.status).toBe(1);
      expect(untrusted.stderr).toContain('failed verification');
      expect(untrusted.stderr).toContain(path.join('certs.d', server.address, 'ca.crt'));

      const trusted = path.join(home, 'certs.d', server.address);
      fs.mkdirSync(trusted, { recursive: true });
      fs.copyFileSync(path.join(certs, 'ca.crt'), path.join(trusted, 'ca.crt'));
      const pulled = noah(['pull', `${server.address}/busybox`]);
      expect(pulled.stderr).toBe('');
      expect(pulled.status).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
