/**
 * A real registry for tests: Debian's docker-registry (the CNCF distribution registry 2.8) on
 * 127.0.0.1, with the fixture images of test/fixtures/images.ts pushed into it by skopeo.
 *
 * The jest global setup starts one for the whole run and pushes every image; tests find it with
 * `testRegistry()`. A test that needs its own registry (with authentication, TLS, or a storage
 * it may damage) calls `startRegistry` and `pushFixtures` with only the images it needs.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { runCommand } from '../fixtures/command';
import { FixtureImageName, fixtureImage } from '../fixtures/images';
import { mediaTypes } from '../fixtures/oci';

/** Environment variable with the `127.0.0.1:PORT` address of the registry of the jest run. */
export const registryAddressVariable = 'NOAH_TEST_REGISTRY';
/** Environment variable with the path of the JSON file that lists the pushed images. */
export const registryInfoVariable = 'NOAH_TEST_REGISTRY_INFO';
/** Environment variable with the process id of the registry, which the global teardown stops. */
export const registryPidVariable = 'NOAH_TEST_REGISTRY_PID';
/**
 * Optional comma-separated list of registry image names for the global setup to build and push,
 * for example `busybox,busybox-docker`, so a run that needs no Debian root skips mmdebstrap.
 * Unset means every image.
 */
export const registryImagesVariable = 'NOAH_TEST_IMAGES';

/**
 * The images in the test registry, by repository name. Every one is tagged `latest`.
 * - `busybox`: the OCI busybox layout, pushed byte for byte.
 * - `busybox-docker`: the same image converted by skopeo to Docker schema-2 media types.
 * - `busybox-zstd`: the OCI busybox image with a zstd layer, pushed byte for byte.
 * - `debian`: the two-layer Debian image, pushed byte for byte.
 * - `multiarch`: the OCI image index for linux/amd64 and linux/arm64/v8 with both manifests.
 * - `multiarch-docker`: the same index converted by skopeo to a Docker manifest list.
 */
export type RegistryImageName =
  'busybox' | 'busybox-docker' | 'busybox-zstd' | 'debian' | 'multiarch' | 'multiarch-docker';

interface PushRecipe {
  fixture: FixtureImageName;
  /** The media type of the top-level manifest in the registry after the push. */
  mediaType: string;
  skopeoArgs: string[];
}

// --preserve-digests makes skopeo fail rather than rewrite a manifest, so the registry stores
// the layout's exact bytes. --format v2s2 converts to Docker media types instead.
const pushRecipes: Record<RegistryImageName, PushRecipe> = {
  busybox: {
    fixture: 'busybox',
    mediaType: mediaTypes.ociManifest,
    skopeoArgs: ['--preserve-digests'],
  },
  'busybox-docker': {
    fixture: 'busybox',
    mediaType: mediaTypes.dockerManifest,
    skopeoArgs: ['--format', 'v2s2'],
  },
  'busybox-zstd': {
    fixture: 'busybox-zstd',
    mediaType: mediaTypes.ociManifest,
    skopeoArgs: ['--preserve-digests'],
  },
  debian: {
    fixture: 'debian',
    mediaType: mediaTypes.ociManifest,
    skopeoArgs: ['--preserve-digests'],
  },
  multiarch: {
    fixture: 'multiarch',
    mediaType: mediaTypes.ociIndex,
    skopeoArgs: ['--all', '--preserve-digests'],
  },
  'multiarch-docker': {
    fixture: 'multiarch',
    mediaType: mediaTypes.dockerManifestList,
    skopeoArgs: ['--all', '--format', 'v2s2'],
  },
};

export const registryImageNames = Object.keys(pushRecipes) as RegistryImageName[];

/** Returns the fixture images that the registry images `names` are pushed from. */
export function fixturesFor(names: readonly RegistryImageName[]): FixtureImageName[] {
  return [...new Set(names.map((name) => pushRecipes[name].fixture))];
}

/** An image in the registry. */
export interface PushedImage {
  repository: string;
  tag: string;
  /** `ADDRESS/REPOSITORY:TAG`, as `noah pull` takes it. */
  reference: string;
  /** Digest of the top-level manifest or index in the registry, as skopeo reported it. */
  digest: string;
  /** Media type of the top-level manifest or index. */
  mediaType: string;
  /** The OCI layout the image was pushed from. */
  layout: string;
}

/** The registry of a jest run, as the global setup writes it to the info file. */
export interface TestRegistryInfo {
  /** `127.0.0.1:PORT`. The registry serves plain HTTP without authentication. */
  address: string;
  images: Partial<Record<RegistryImageName, PushedImage>>;
}

/** A running docker-registry process. */
export interface RegistryServer {
  address: string;
  pid: number;
  /** Folder with config.yml, registry.log and storage/. */
  directory: string;
  /** Stops the process with SIGTERM, or SIGKILL after 5 seconds, and waits for its exit. */
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** An empty folder that receives config.yml, registry.log and storage/. */
  directory: string;
  /** Basic authentication: docker-registry's `auth.htpasswd` (bcrypt entries only). */
  htpasswd?: { realm: string; path: string };
  /** HTTPS instead of HTTP: docker-registry's `http.tls`, PEM file paths. */
  tls?: { certificate: string; key: string };
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function logTail(logFile: string): string {
  try {
    return fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitForExit(child: ChildProcess, milliseconds: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), milliseconds);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts `docker-registry serve` on a free port of 127.0.0.1 with its storage in
 * `options.directory`, and resolves once the port accepts connections. Retries with another
 * port if the chosen one was taken in the meantime.
 */
export async function startRegistry(options: RegistryOptions): Promise<RegistryServer> {
  const configFile = path.join(options.directory, 'config.yml');
  const logFile = path.join(options.directory, 'registry.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    // JSON is valid YAML, so the config needs no YAML library.
    const config = {
      version: '0.1',
      log: { level: 'info', formatter: 'text' },
      storage: {
        filesystem: { rootdirectory: path.join(options.directory, 'storage') },
        delete: { enabled: true },
      },
      http: {
        addr: `127.0.0.1:${port}`,
        secret: randomBytes(16).toString('hex'),
        ...(options.tls === undefined ? {} : { tls: options.tls }),
      },
      ...(options.htpasswd === undefined ? {} : { auth: { htpasswd: options.htpasswd } }),
    };
    fs.writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    const log = fs.openSync(logFile, 'a');
    const child = spawn('docker-registry', ['serve', configFile], {
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    child.unref();
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

    const started = Date.now();
    let ready = false;
    while (!ready && child.exitCode === null && Date.now() - started < 10000) {
      const error = await Promise.race([spawnError, new Promise((wake) => setTimeout(wake, 50))]);
      if (error instanceof Error) {
        throw new Error(
          `failed to start docker-registry: ${error.message}. ` +
            'Install the Debian package docker-registry.',
        );
      }
      ready = await canConnect(port);
    }
    if (ready) {
      return {
        address: `127.0.0.1:${port}`,
        pid: child.pid as number,
        directory: options.directory,
        stop: async () => {
          child.kill('SIGTERM');
          if (!(await waitForExit(child, 5000))) {
            child.kill('SIGKILL');
            await waitForExit(child, 5000);
          }
        },
      };
    }
    child.kill('SIGKILL');
    await waitForExit(child, 5000);
    const tail = logTail(logFile);
    if (!tail.includes('address already in use') || attempt === 3) {
      throw new Error(`docker-registry did not start on 127.0.0.1:${port}:\n${tail}`);
    }
  }
}

/**
 * Builds (or finds cached) the fixture images behind `names` and pushes them into the registry
 * at `address` with `skopeo copy`, each as `NAME:latest`.
 */
export async function pushFixtures(
  address: string,
  names: readonly RegistryImageName[] = registryImageNames,
): Promise<Partial<Record<RegistryImageName, PushedImage>>> {
  const pushed: Partial<Record<RegistryImageName, PushedImage>> = {};
  for (const name of names) {
    const recipe = pushRecipes[name];
    const image = await fixtureImage(recipe.fixture);
    const reference = `${address}/${name}:latest`;
    const digestFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-push-'));
    const digestFile = path.join(digestFolder, 'digest');
    try {
      await runCommand('skopeo', [
        'copy',
        '--quiet',
        '--dest-tls-verify=false',
        ...recipe.skopeoArgs,
        '--digestfile',
        digestFile,
        `oci:${image.layout}:${image.tag}`,
        `docker://${reference}`,
      ]);
      const digest = fs.readFileSync(digestFile, 'utf8').trim();
      pushed[name] = {
        repository: name,
        tag: 'latest',
        reference,
        digest,
        mediaType: recipe.mediaType,
        layout: image.layout,
      };
    } finally {
      fs.rmSync(digestFolder, { recursive: true, force: true });
    }
  }
  return pushed;
}

/**
 * Returns the registry that the jest global setup started for this run. Throws when the tests
 * run without it, for example when a test file is loaded outside jest.
 */
export function testRegistry(): TestRegistryInfo {
  const infoFile = process.env[registryInfoVariable];
  if (infoFile === undefined || process.env[registryAddressVariable] === undefined) {
    throw new Error(
      `${registryInfoVariable} is not set: run the tests with jest, whose global setup ` +
        '(test/global-setup.ts) starts the test registry',
    );
  }
  return JSON.parse(fs.readFileSync(infoFile, 'utf8')) as TestRegistryInfo;
}

/** Returns an image of the test registry, or throws if the global setup did not push it. */
export function testRegistryImage(name: RegistryImageName): PushedImage {
  const image = testRegistry().images[name];
  if (image === undefined) {
    throw new Error(
      `the test registry has no image ${name}: ${registryImagesVariable}=` +
        `${process.env[registryImagesVariable]} leaves it out`,
    );
  }
  return image;
}
