import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { chainId, Digest, isDigest, sha256 } from './digest';
import { ManifestError, NotFoundError } from './errors';
import { ImageManifest, parseImageConfig, Platform } from './manifest';
import { readTreeMetadata } from './metadata';
import { formatReference, parseReference, Reference, repositoryName } from './reference';
import { ImageRecord, Store } from './store';
import { buildTree, LayerSource } from './tree';

/** Callbacks for each layer while an image's tree is unpacked. */
export interface UnpackProgress {
  onStart?(layer: Digest): void;
  onBytes?(layer: Digest, bytes: number): void;
  onDone?(layer: Digest): void;
}

/** A manifest whose config and layer blobs are all in the store. */
export interface StoredManifest {
  manifestDigest: Digest;
  manifest: ImageManifest;
}

/**
 * Unpacks an image whose blobs are stored (unless its tree already exists) and writes its
 * record. The config's diff IDs are checked against the layers while they unpack.
 */
export async function registerImage(
  store: Store,
  { manifestDigest, manifest }: StoredManifest,
  progress: UnpackProgress = {},
): Promise<ImageRecord> {
  const what = `image ${manifestDigest}`;
  const config = parseImageConfig(await store.readBlob(manifest.config.digest), `${what}: config`);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new ManifestError(
      `${what}: manifest has ${manifest.layers.length} layers but its config lists ` +
        `${diffIds.length} diff IDs`,
    );
  }
  const chain = chainId(diffIds);
  let contentBytes: number;
  if (store.hasTree(chain)) {
    const metadata = await readTreeMetadata(path.join(store.treePath(chain), 'metadata.json'));
    contentBytes = metadata.contentBytes;
    for (const layer of manifest.layers) progress.onDone?.(layer.digest);
  } else {
    const sources: LayerSource[] = manifest.layers.map((layer, i) => ({
      file: store.blobPath(layer.digest),
      name: layer.digest,
      diffId: diffIds[i],
      onStart: () => progress.onStart?.(layer.digest),
      onBytes: (bytes) => progress.onBytes?.(layer.digest, bytes),
      onDone: () => progress.onDone?.(layer.digest),
    }));
    contentBytes = (await buildTree(store, chain, sources)).contentBytes;
  }
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant !== undefined) platform.variant = config.variant;
  const record: ImageRecord = {
    id: manifest.config.digest,
    manifestDigest,
    manifestMediaType: manifest.mediaType,
    platform,
    layers: manifest.layers.map((layer, i) => ({
      digest: layer.digest,
      diffId: diffIds[i],
      size: layer.size,
      mediaType: layer.mediaType,
    })),
    chainId: chain,
    size: contentBytes,
    created: config.created,
    stored: new Date().toISOString(),
  };
  await store.withLock(() => store.writeImage(record));
  return record;
}

/** Stores a manifest blob built by noah (for `load` and `import`) and returns its digest. */
export async function storeManifest(store: Store, manifest: ImageManifest): Promise<Digest> {
  const body = {
    schemaVersion: 2,
    mediaType: manifest.mediaType,
    config: manifest.config,
    layers: manifest.layers,
  };
  const data = Buffer.from(JSON.stringify(body));
  const digest = sha256(data);
  await store.writeBlob(digest, data);
  return digest;
}

/** Points tag `ref` at image `id`, moving it from any image it named before. */
export async function tagImage(store: Store, ref: Reference, id: Digest): Promise<void> {
  const name = formatReference({ ...ref, digest: undefined });
  await store.updateRepositories((repositories) => {
    repositories.tags[name] = id;
  });
}

/** Records that `repository@digest` names image `id`, as RepoDigests in `docker inspect`. */
export async function addDigestReference(
  store: Store,
  ref: Reference,
  digest: Digest,
  id: Digest,
): Promise<void> {
  await store.updateRepositories((repositories) => {
    repositories.digests[`${repositoryName(ref)}@${digest}`] = id;
  });
}

/**
 * Finds a stored image by reference (`debian`, `debian:12`, `name@sha256:...`), by full ID
 * (`sha256:...`) or by an ID prefix of at least 4 hex digits, as `docker image inspect` does.
 */
export async function resolveImage(store: Store, text: string): Promise<ImageRecord> {
  const repositories = await store.readRepositories();
  let id: Digest | undefined;
  const hex = text.startsWith('sha256:') ? text.slice(7) : text;
  if (/^[0-9a-f]{4,64}$/.test(hex)) {
    const matches = (await fsp.readdir(store.imagesDir))
      .filter((name) => name.startsWith(hex) && name.endsWith('.json'))
      .map((name) => `sha256:${name.slice(0, -'.json'.length)}`);
    if (matches.length > 1) {
      throw new NotFoundError(`image ID prefix "${text}" is ambiguous: give more digits`);
    }
    if (matches.length === 1 && isDigest(matches[0])) id = matches[0];
  }
  if (id === undefined && !text.startsWith('sha256:')) {
    let ref: Reference | undefined;
    try {
      ref = parseReference(text);
    } catch {
      ref = undefined;
    }
    if (ref !== undefined) {
      id =
        ref.digest !== undefined
          ? repositories.digests[`${repositoryName(ref)}@${ref.digest}`]
          : repositories.tags[formatReference(ref)];
      if (id === undefined && ref.digest !== undefined) {
        // A digest reference also matches an image whose manifest has that digest.
        const byManifest = (await store.listImages()).find((r) => r.manifestDigest === ref!.digest);
        id = byManifest?.id;
      }
    }
  }
  const record = id === undefined ? undefined : await store.readImage(id);
  if (record === undefined) throw new NotFoundError(`No such image: ${text}`);
  return record;
}

/** Tags and digest references that name image `id`. */
export function referencesOf(
  repositories: { tags: Record<string, Digest>; digests: Record<string, Digest> },
  id: Digest,
): { tags: string[]; digests: string[] } {
  return {
    tags: Object.keys(repositories.tags)
      .filter((name) => repositories.tags[name] === id)
      .sort(),
    digests: Object.keys(repositories.digests)
      .filter((name) => repositories.digests[name] === id)
      .sort(),
  };
}
