import * as path from 'node:path';
import { Digest } from './digest';
import { ConflictError } from './errors';
import { referencesOf, resolveImage } from './images';
import { formatReference, parseReference } from './reference';
import { ImageRecord, Store } from './store';

/** Tags untagged and images deleted by `removeImage`, in the order `docker rmi` prints them. */
export interface RemoveResult {
  untagged: string[];
  deleted: Digest[];
}

/**
 * Removes `text` (a tag, digest reference or image ID) as `docker rmi` does: a tag is untagged
 * and the image is deleted once nothing names it. An ID with several tags, or an image a
 * container uses, is removed only with `force`.
 */
export async function removeImage(
  store: Store,
  text: string,
  force: boolean,
): Promise<RemoveResult> {
  const record = await resolveImage(store, text);
  const users = await store.containersUsing(record.id);
  if (users.length > 0 && !force) {
    throw new ConflictError(
      `unable to remove ${text}: image ${shortId(record.id)} is used by container ` +
        `${users.join(', ')}: remove the container first, or use --force`,
    );
  }
  const result: RemoveResult = { untagged: [], deleted: [] };
  await store.withLock(async () => {
    await store.updateRepositoriesLocked(async (repositories) => {
      const refs = referencesOf(repositories, record.id);
      const tagName = tagNameOf(text);
      const byTag = tagName !== undefined && refs.tags.includes(tagName);
      if (byTag && refs.tags.length > 1) {
        delete repositories.tags[tagName];
        result.untagged.push(tagName);
        return;
      }
      if (!byTag && refs.tags.length > 1 && !force) {
        throw new ConflictError(
          `unable to delete ${shortId(record.id)} (must be forced): image is referenced in ` +
            `multiple repositories (${refs.tags.join(', ')})`,
        );
      }
      for (const tag of refs.tags) {
        delete repositories.tags[tag];
        result.untagged.push(tag);
      }
      for (const digest of refs.digests) {
        delete repositories.digests[digest];
        result.untagged.push(digest);
      }
      await store.deleteImageRecord(record.id);
      result.deleted.push(record.id);
    });
    if (result.deleted.length > 0) await store.collectGarbage();
  });
  return result;
}

/**
 * Removes images no tag names (`all`: also tagged ones no container uses), then unreferenced
 * blobs and trees, as `docker image prune` does. Returns the deleted IDs and the bytes
 * removed from disk, which leave out layers that remaining images still use.
 */
export async function pruneImages(
  store: Store,
  all: boolean,
): Promise<{ deleted: Digest[]; freedBytes: number }> {
  const deleted: Digest[] = [];
  let freedBytes = 0;
  await store.withLock(async () => {
    await store.updateRepositoriesLocked(async (repositories) => {
      for (const record of await store.listImages()) {
        const refs = referencesOf(repositories, record.id);
        if (refs.tags.length > 0 && !all) continue;
        if ((await store.containersUsing(record.id)).length > 0) continue;
        for (const tag of refs.tags) delete repositories.tags[tag];
        for (const digest of refs.digests) delete repositories.digests[digest];
        await store.deleteImageRecord(record.id);
        deleted.push(record.id);
      }
    });
    freedBytes = await store.collectGarbage();
  });
  return { deleted, freedBytes };
}

/** `docker image inspect` output for one image. */
export async function inspectImage(store: Store, record: ImageRecord): Promise<object> {
  const repositories = await store.readRepositories();
  const refs = referencesOf(repositories, record.id);
  const config = JSON.parse((await store.readBlob(record.id)).toString('utf8')) as Record<
    string,
    unknown
  >;
  return {
    Id: record.id,
    RepoTags: refs.tags.map(shortReference),
    RepoDigests: refs.digests.map(shortReference),
    Created: record.created ?? '',
    Architecture: record.platform.architecture,
    Os: record.platform.os,
    ...(record.platform.variant !== undefined ? { Variant: record.platform.variant } : {}),
    Config: config.config ?? {},
    Author: config.author ?? '',
    Size: record.size,
    RootFS: { Type: 'layers', Layers: record.layers.map((l) => l.diffId) },
    Manifest: { Digest: record.manifestDigest, MediaType: record.manifestMediaType },
    GraphDriver: {
      Name: 'noah',
      Data: {
        RootFS: store.rootfsPath(record.chainId),
        Metadata: path.join(store.treePath(record.chainId), 'metadata.json'),
      },
    },
  };
}

/** Returns the 12-digit image ID that `docker images` shows. */
export function shortId(id: Digest): string {
  return id.slice('sha256:'.length, 'sha256:'.length + 12);
}

/** `docker.io/library/debian:12` as Docker shows it, `debian:12`. */
export function shortReference(name: string): string {
  if (name.startsWith('docker.io/library/')) return name.slice('docker.io/library/'.length);
  if (name.startsWith('docker.io/')) return name.slice('docker.io/'.length);
  return name;
}

function tagNameOf(text: string): string | undefined {
  if (/^(sha256:)?[0-9a-f]{4,64}$/.test(text)) return undefined;
  try {
    const ref = parseReference(text);
    return ref.digest === undefined ? formatReference(ref) : undefined;
  } catch {
    return undefined;
  }
}
