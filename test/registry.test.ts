import { createHash } from 'node:crypto';
import { request } from 'undici';

import {
  findTaggedManifest,
  ImageConfig,
  ImageIndex,
  ImageManifest,
  mediaTypes,
} from './fixtures/oci';
import { PushedImage, testRegistry, testRegistryImage } from './helpers/registry';

/** Every manifest media type, because docker-registry 2.8 returns 404 for a type left out. */
const manifestAccept = [
  mediaTypes.ociManifest,
  mediaTypes.ociIndex,
  mediaTypes.dockerManifest,
  mediaTypes.dockerManifestList,
].join(', ');

interface FetchedContent {
  status: number;
  contentType: string | undefined;
  dockerContentDigest: string | undefined;
  body: Buffer;
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

async function fetchFromRegistry(
  urlPath: string,
  headers: Record<string, string>,
): Promise<FetchedContent> {
  const response = await request(`http://${testRegistry().address}${urlPath}`, { headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return {
    status: response.statusCode,
    contentType: header(response.headers['content-type']),
    dockerContentDigest: header(response.headers['docker-content-digest']),
    body,
  };
}

function fetchManifest(repository: string, reference: string, accept = manifestAccept) {
  return fetchFromRegistry(`/v2/${repository}/manifests/${reference}`, { accept });
}

function fetchBlob(repository: string, digest: string, headers: Record<string, string> = {}) {
  return fetchFromRegistry(`/v2/${repository}/blobs/${digest}`, headers);
}

/** Fetches the tagged manifest of `image` and checks status, type and digest on the way. */
async function fetchTaggedJson<T>(image: PushedImage): Promise<T> {
  const fetched = await fetchManifest(image.repository, image.tag);
  expect(fetched.status).toBe(200);
  expect(fetched.contentType).toBe(image.mediaType);
  expect(fetched.dockerContentDigest).toBe(image.digest);
  expect(sha256(fetched.body)).toBe(image.digest);
  return JSON.parse(fetched.body.toString('utf8')) as T;
}

async function fetchConfig(repository: string, manifest: ImageManifest): Promise<ImageConfig> {
  const fetched = await fetchBlob(repository, manifest.config.digest);
  expect(fetched.status).toBe(200);
  expect(sha256(fetched.body)).toBe(manifest.config.digest);
  return JSON.parse(fetched.body.toString('utf8')) as ImageConfig;
}

describe('test registry', () => {
  test('address is on loopback', () => {
    expect(process.env.NOAH_TEST_REGISTRY).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(testRegistry().address).toBe(process.env.NOAH_TEST_REGISTRY);
  });

  test('busybox is the OCI layout byte for byte', async () => {
    const image = testRegistryImage('busybox');
    const layoutDigest = findTaggedManifest(image.layout, image.tag).digest;
    expect(image.digest).toBe(layoutDigest);

    const manifest = await fetchTaggedJson<ImageManifest>(image);
    expect(manifest.mediaType).toBe(mediaTypes.ociManifest);
    expect(manifest.config.mediaType).toBe(mediaTypes.ociConfig);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe(mediaTypes.ociLayerGzip);

    const byDigest = await fetchManifest(image.repository, image.digest);
    expect(byDigest.status).toBe(200);
    expect(sha256(byDigest.body)).toBe(image.digest);
  });

  test('busybox config runs sh without entrypoint', async () => {
    const image = testRegistryImage('busybox');
    const manifest = await fetchTaggedJson<ImageManifest>(image);
    const config = await fetchConfig(image.repository, manifest);
    expect(config.architecture).toBe('amd64');
    expect(config.os).toBe('linux');
    expect(config.config.Cmd).toEqual(['sh']);
    expect(config.config.Entrypoint).toBeUndefined();
    expect(config.rootfs.diff_ids).toHaveLength(1);
  });

  test('busybox layer blob matches its digest', async () => {
    const image = testRegistryImage('busybox');
    const manifest = await fetchTaggedJson<ImageManifest>(image);
    const layer = manifest.layers[0];
    const fetched = await fetchBlob(image.repository, layer.digest);
    expect(fetched.status).toBe(200);
    expect(fetched.body.length).toBe(layer.size);
    expect(sha256(fetched.body)).toBe(layer.digest);
    // gzip magic number
    expect(fetched.body.subarray(0, 2).toString('hex')).toBe('1f8b');
  });

  test('OCI manifest needs its Accept type', async () => {
    const image = testRegistryImage('busybox');
    const fetched = await fetchManifest(image.repository, image.tag, mediaTypes.dockerManifest);
    expect(fetched.status).toBe(404);
  });

  test('busybox-docker has Docker media types', async () => {
    const image = testRegistryImage('busybox-docker');
    const manifest = await fetchTaggedJson<ImageManifest>(image);
    expect(manifest.mediaType).toBe(mediaTypes.dockerManifest);
    expect(manifest.config.mediaType).toBe(mediaTypes.dockerConfig);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe(mediaTypes.dockerLayerGzip);

    const oci = await fetchTaggedJson<ImageManifest>(testRegistryImage('busybox'));
    expect(manifest.layers[0].digest).toBe(oci.layers[0].digest);
    expect(image.digest).not.toBe(testRegistryImage('busybox').digest);
  });

  test('busybox-zstd layer is zstd', async () => {
    const image = testRegistryImage('busybox-zstd');
    const manifest = await fetchTaggedJson<ImageManifest>(image);
    expect(manifest.layers).toHaveLength(1);
    expect(manifest.layers[0].mediaType).toBe(mediaTypes.ociLayerZstd);

    const start = await fetchBlob(image.repository, manifest.layers[0].digest, {
      range: 'bytes=0-3',
    });
    expect(start.status).toBe(206);
    // zstd frame magic number 0xFD2FB528, little-endian
    expect(start.body.toString('hex')).toBe('28b52ffd');
  });

  test('debian has two layers and a full config', async () => {
    const image = testRegistryImage('debian');
    const manifest = await fetchTaggedJson<ImageManifest>(image);
    expect(manifest.mediaType).toBe(mediaTypes.ociManifest);
    expect(manifest.layers).toHaveLength(2);
    for (const layer of manifest.layers) {
      expect(layer.mediaType).toBe(mediaTypes.ociLayerGzip);
    }
    // The minbase root is tens of megabytes compressed, and layer two a few hundred bytes.
    expect(manifest.layers[0].size).toBeGreaterThan(20 * 1024 * 1024);
    expect(manifest.layers[1].size).toBeLessThan(64 * 1024);

    const config = await fetchConfig(image.repository, manifest);
    expect(config.rootfs.diff_ids).toHaveLength(2);
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/fixture-entrypoint']);
    expect(config.config.Cmd).toEqual(['from-cmd']);
    expect(config.config.WorkingDir).toBe('/usr/local/share/fixture');
    expect(config.config.Env).toContain('NOAH_FIXTURE=debian');
  });

  test('multiarch index lists amd64 and arm64', async () => {
    const image = testRegistryImage('multiarch');
    const index = await fetchTaggedJson<ImageIndex>(image);
    expect(index.mediaType).toBe(mediaTypes.ociIndex);
    const platforms = index.manifests.map((entry) => entry.platform);
    expect(platforms).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);

    for (const entry of index.manifests) {
      expect(entry.mediaType).toBe(mediaTypes.ociManifest);
      const fetched = await fetchManifest(image.repository, entry.digest);
      expect(fetched.status).toBe(200);
      expect(sha256(fetched.body)).toBe(entry.digest);
      const manifest = JSON.parse(fetched.body.toString('utf8')) as ImageManifest;
      const config = await fetchConfig(image.repository, manifest);
      expect(config.architecture).toBe(entry.platform?.architecture);
    }
  });

  test('multiarch-docker is a Docker manifest list', async () => {
    const image = testRegistryImage('multiarch-docker');
    const list = await fetchTaggedJson<ImageIndex>(image);
    expect(list.mediaType).toBe(mediaTypes.dockerManifestList);
    const architectures = list.manifests.map((entry) => entry.platform?.architecture);
    expect(architectures).toEqual(['amd64', 'arm64']);
    for (const entry of list.manifests) {
      expect(entry.mediaType).toBe(mediaTypes.dockerManifest);
      const fetched = await fetchManifest(image.repository, entry.digest);
      expect(fetched.status).toBe(200);
      expect(fetched.contentType).toBe(mediaTypes.dockerManifest);
    }
  });

  test('unknown blob is 404', async () => {
    const missing = `sha256:${'0'.repeat(64)}`;
    const fetched = await fetchBlob('busybox', missing);
    expect(fetched.status).toBe(404);
    expect(fetched.body.toString('utf8')).toContain('BLOB_UNKNOWN');
  });
});
