import { downloadBlob } from './blobs';
import { Digest, sha256, verifyBytes } from './digest';
import { DigestMismatchError, ManifestError, NotFoundError, RegistryError } from './errors';
import { addDigestReference, registerImage, tagImage } from './images';
import {
  DEFAULT_PLATFORM,
  Descriptor,
  ImageManifest,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  formatPlatform,
  normalizePlatform,
  parseImageConfig,
  parseManifest,
  Platform,
  selectPlatform,
} from './manifest';
import { familiarReference, formatReference, parseReference, Reference } from './reference';
import { headerText, RegistryClient, RegistryOptions } from './registry';
import { ImageRecord, Store } from './store';

/** A progress report from a pull, one layer or the whole image at a time. */
export type PullEvent =
  | { kind: 'start'; reference: string }
  | { kind: 'layer'; id: string; status: LayerStatus; current?: number; total?: number }
  | { kind: 'done'; digest: Digest; reference: string; upToDate: boolean };

export type LayerStatus =
  | 'Pulling fs layer'
  | 'Waiting'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Extracting'
  | 'Pull complete'
  | 'Already exists';

export interface PullOptions extends Omit<RegistryOptions, 'home'> {
  platform?: Platform;
  concurrency?: number; // blobs downloaded at once, 3 as in Docker
  onEvent?: (event: PullEvent) => void;
}

export interface PullResult {
  record: ImageRecord;
  digest: Digest; // of the manifest or index the reference named
  reference: Reference;
}

/** Returns the 12-digit layer ID that Docker prints in its progress lines. */
export function layerId(digest: Digest): string {
  return digest.slice('sha256:'.length, 'sha256:'.length + 12);
}

/**
 * Pulls `text` into the store, as `docker pull` does: resolves the reference, picks the
 * platform from an index, downloads config and layers (a bounded number at a time, skipping
 * blobs already stored), unpacks them and tags the image.
 */
export async function pullImage(
  store: Store,
  text: string,
  options: PullOptions = {},
): Promise<PullResult> {
  const reference = parseReference(text);
  const emit = options.onEvent ?? (() => undefined);
  emit({ kind: 'start', reference: familiarReference(reference) });
  const client = new RegistryClient(reference.domain, { ...options, home: store.root });
  try {
    await client.ping();
    const top = await fetchManifest(client, reference, reference.digest ?? reference.tag!);
    let manifest: ImageManifest;
    let manifestDigest = top.digest;
    let manifestData = top.data;
    if (top.parsed.kind === 'index') {
      const platform = options.platform ?? DEFAULT_PLATFORM;
      const chosen = selectPlatform(top.parsed, platform, formatReference(reference));
      const inner = await fetchManifest(client, reference, chosen.digest, chosen);
      if (inner.parsed.kind !== 'manifest') {
        throw new ManifestError(
          `${formatReference(reference)}: index entry ${chosen.digest} is an index`,
        );
      }
      manifest = inner.parsed;
      manifestDigest = inner.digest;
      manifestData = inner.data;
      await store.writeBlob(top.digest, top.data);
    } else {
      manifest = top.parsed;
    }
    const previous = (await store.readRepositories()).tags[
      formatReference({ ...reference, digest: undefined })
    ];

    const repository = reference.path;
    const concurrency = Math.max(1, options.concurrency ?? 3);
    // Layers already stored print "Already exists" and nothing more, as in Docker, even when
    // their tree is unpacked again.
    const existing = new Set<Digest>();
    for (const layer of manifest.layers) {
      if (store.hasBlob(layer.digest)) existing.add(layer.digest);
      emit({
        kind: 'layer',
        id: layerId(layer.digest),
        status: existing.has(layer.digest) ? 'Already exists' : 'Pulling fs layer',
      });
    }
    await downloadBlob(client, store, repository, manifest.config, () => undefined);
    if (top.parsed.kind === 'manifest' && options.platform !== undefined) {
      await checkPlatform(store, manifest, options.platform, familiarReference(reference));
    }
    const downloads = runBounded(manifest.layers, concurrency, async (layer) => {
      const id = layerId(layer.digest);
      if (store.hasBlob(layer.digest)) return;
      const fetched = await downloadBlob(client, store, repository, layer, (current, total) =>
        emit({ kind: 'layer', id, status: 'Downloading', current, total }),
      );
      if (fetched) emit({ kind: 'layer', id, status: 'Download complete' });
    });
    await downloads;
    await store.writeBlob(manifestDigest, manifestData);

    const totals = new Map(manifest.layers.map((l) => [l.digest, l.size]));
    const extracted = new Map<Digest, number>();
    const record = await registerImage(
      store,
      { manifestDigest, manifest },
      {
        onStart: (digest) => {
          if (existing.has(digest)) return;
          emit({
            kind: 'layer',
            id: layerId(digest),
            status: 'Extracting',
            current: 0,
            total: totals.get(digest),
          });
        },
        onBytes: (digest, bytes) => {
          if (existing.has(digest)) return;
          const current = (extracted.get(digest) ?? 0) + bytes;
          extracted.set(digest, current);
          emit({
            kind: 'layer',
            id: layerId(digest),
            status: 'Extracting',
            current,
            total: totals.get(digest),
          });
        },
        onDone: (digest) => {
          if (!existing.has(digest)) {
            emit({ kind: 'layer', id: layerId(digest), status: 'Pull complete' });
          }
        },
      },
    );
    if (reference.tag !== undefined) await tagImage(store, reference, record.id);
    await addDigestReference(store, reference, top.digest, record.id);
    emit({
      kind: 'done',
      digest: top.digest,
      reference: familiarReference(reference),
      upToDate: previous === record.id,
    });
    return { record, digest: top.digest, reference };
  } finally {
    await client.close();
  }
}

/**
 * Checks that the config of a single-platform image matches `platform`, as `docker pull
 * --platform` does. The variant is compared only when `platform` has one.
 */
async function checkPlatform(
  store: Store,
  manifest: ImageManifest,
  platform: Platform,
  name: string,
): Promise<void> {
  const config = parseImageConfig(await store.readBlob(manifest.config.digest), `${name}: config`);
  const actual = normalizePlatform({
    os: config.os,
    architecture: config.architecture,
    ...(config.variant !== undefined ? { variant: config.variant } : {}),
  });
  const expected = normalizePlatform(platform);
  const matches =
    actual.os === expected.os &&
    actual.architecture === expected.architecture &&
    (expected.variant === undefined || actual.variant === expected.variant);
  if (!matches) {
    throw new ManifestError(
      `image with reference ${name} was found but does not match the specified platform: ` +
        `wanted ${formatPlatform(expected)}, actual: ${formatPlatform(actual)}`,
    );
  }
}

interface FetchedManifest {
  data: Buffer;
  digest: Digest;
  parsed: ReturnType<typeof parseManifest>;
}

/** GETs a manifest, checks its digest against the request and `Docker-Content-Digest`. */
async function fetchManifest(
  client: RegistryClient,
  reference: Reference,
  tagOrDigest: string,
  expected?: Descriptor,
): Promise<FetchedManifest> {
  const name = `${reference.domain}/${reference.path}:${tagOrDigest}`.replace(
    ':sha256:',
    '@sha256:',
  );
  const response = await client.fetch(
    'GET',
    `/v2/${reference.path}/manifests/${tagOrDigest}`,
    reference.path,
    {
      accept: MANIFEST_ACCEPT,
    },
  );
  if (response.status === 404) {
    const body = await response.body.text();
    const code = registryErrorCode(body);
    if (code === 'NAME_UNKNOWN') {
      throw new NotFoundError(
        `repository ${reference.domain}/${reference.path} not found: check the name`,
      );
    }
    throw new NotFoundError(`manifest for ${name} not found: manifest unknown`);
  }
  if (response.status !== 200) {
    const body = await response.body.text();
    throw new RegistryError(
      `${name}: registry ${client.host} returned HTTP ${response.status}: ${body.slice(0, 200)}`,
      response.status,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_MANIFEST_BYTES) {
      throw new ManifestError(`${name}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const data = Buffer.concat(chunks);
  const digest = sha256(data);
  if (tagOrDigest.startsWith('sha256:')) verifyBytes(data, tagOrDigest as Digest, name);
  const declared = headerText(response.headers['docker-content-digest']);
  if (declared !== undefined && declared.startsWith('sha256:') && declared !== digest) {
    throw new DigestMismatchError(
      `${name}: manifest has digest ${digest}, but the registry sent Docker-Content-Digest ${declared}`,
    );
  }
  if (expected !== undefined && data.length !== expected.size) {
    throw new DigestMismatchError(
      `${name}: manifest has ${data.length} bytes, but the index lists ${expected.size}`,
    );
  }
  const contentType = headerText(response.headers['content-type']);
  return { data, digest, parsed: parseManifest(data, contentType, name) };
}

function registryErrorCode(body: string): string | undefined {
  try {
    return (JSON.parse(body) as { errors?: { code?: string }[] }).errors?.[0]?.code;
  } catch {
    return undefined;
  }
}

/** Runs `work` on every item with at most `limit` running at once; fails on the first error. */
async function runBounded<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
