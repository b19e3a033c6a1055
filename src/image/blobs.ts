import { createHash, Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Descriptor } from './manifest';
import { hashDigest } from './digest';
import { DigestMismatchError, RegistryError } from './errors';
import { headerText, RegistryClient } from './registry';
import { isErrno, Store } from './store';

/**
 * Downloads a blob into the store: streamed to ingest/HEX.partial while hashing, resumed
 * with `Range` after a dropped connection or a killed pull, verified against the descriptor's
 * size and digest, then renamed into blobs/. Returns false when the blob was stored already.
 */
export async function downloadBlob(
  client: RegistryClient,
  store: Store,
  repository: string,
  descriptor: Descriptor,
  onBytes: (done: number, total: number) => void,
  attempts = 5,
): Promise<boolean> {
  if (store.hasBlob(descriptor.digest)) return false;
  const partial = store.partialPath(descriptor.digest);
  const what = `blob ${descriptor.digest}`;
  for (let attempt = 1; ; attempt++) {
    const hash = createHash('sha256');
    const offset = await hashExisting(partial, hash, descriptor.size);
    onBytes(offset, descriptor.size);
    if (offset === descriptor.size && offset > 0) break;
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    const response = await client.fetch(
      'GET',
      `/v2/${repository}/blobs/${descriptor.digest}`,
      repository,
      headers,
    );
    if (response.status === 404) {
      await response.body.dump();
      throw new RegistryError(`${what} not found in ${client.host}/${repository} (HTTP 404)`, 404);
    }
    if (response.status === 416 && offset > 0) {
      // The partial file is longer than what the registry has, so start over.
      await response.body.dump();
      await fsp.rm(partial, { force: true });
      continue;
    }
    if (response.status !== 200 && response.status !== 206) {
      const text = await response.body.text();
      throw new RegistryError(
        `${what}: registry ${client.host} returned HTTP ${response.status}: ${text.slice(0, 200)}`,
        response.status,
      );
    }
    const range = headerText(response.headers['content-range']);
    if (response.status === 200 || !range?.startsWith(`bytes ${offset}-`)) {
      // The registry sent the whole blob: drop what was there.
      return downloadFresh(
        client,
        store,
        repository,
        descriptor,
        onBytes,
        response,
        attempts - attempt,
      );
    }
    const complete = await appendBody(
      response.body,
      partial,
      hash,
      offset,
      descriptor.size,
      onBytes,
    );
    if (complete || attempt >= attempts) {
      if (!complete) {
        throw new RegistryError(
          `${what}: download from ${client.host} kept breaking off; run the pull again to resume`,
        );
      }
      return finish(store, descriptor, partial, hash);
    }
  }
  const hash = createHash('sha256');
  await hashExisting(partial, hash, descriptor.size);
  return finish(store, descriptor, partial, hash);
}

async function downloadFresh(
  client: RegistryClient,
  store: Store,
  repository: string,
  descriptor: Descriptor,
  onBytes: (done: number, total: number) => void,
  response: Awaited<ReturnType<RegistryClient['fetch']>>,
  attemptsLeft: number,
): Promise<boolean> {
  const partial = store.partialPath(descriptor.digest);
  await fsp.rm(partial, { force: true });
  const hash = createHash('sha256');
  const complete = await appendBody(response.body, partial, hash, 0, descriptor.size, onBytes);
  if (complete) return finish(store, descriptor, partial, hash);
  if (attemptsLeft <= 0) {
    throw new RegistryError(
      `blob ${descriptor.digest}: download from ${client.host} kept breaking off; run the pull ` +
        'again to resume',
    );
  }
  return downloadBlob(client, store, repository, descriptor, onBytes, attemptsLeft);
}

/** Hashes what a partial file already holds; discards it when larger than the blob. */
async function hashExisting(partial: string, hash: Hash, size: number): Promise<number> {
  let stats: fs.Stats;
  try {
    stats = await fsp.stat(partial);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 0;
    throw error;
  }
  if (stats.size > size) {
    await fsp.rm(partial, { force: true });
    return 0;
  }
  for await (const chunk of fs.createReadStream(partial)) hash.update(chunk as Buffer);
  return stats.size;
}

/**
 * Appends a response body to the partial file. Returns true when the body ended normally,
 * false when the connection broke (what arrived is kept for the next Range request).
 */
async function appendBody(
  body: AsyncIterable<Uint8Array>,
  partial: string,
  hash: Hash,
  offset: number,
  size: number,
  onBytes: (done: number, total: number) => void,
): Promise<boolean> {
  const handle = await fsp.open(partial, 'a', 0o600);
  let done = offset;
  try {
    for await (const chunk of body) {
      done += chunk.length;
      if (done > size) {
        throw new DigestMismatchError(`blob is larger than the ${size} bytes in its descriptor`);
      }
      hash.update(chunk);
      await handle.write(chunk);
      onBytes(done, size);
    }
    return true;
  } catch (error) {
    if (error instanceof DigestMismatchError) {
      await fsp.rm(partial, { force: true });
      throw error;
    }
    return false;
  } finally {
    await handle.close();
  }
}

async function finish(store: Store, descriptor: Descriptor, partial: string, hash: Hash) {
  const size = (await fsp.stat(partial)).size;
  const digest = hashDigest(hash);
  if (size !== descriptor.size || digest !== descriptor.digest) {
    await fsp.rm(partial, { force: true });
    throw new DigestMismatchError(
      size !== descriptor.size
        ? `blob ${descriptor.digest}: received ${size} bytes, expected ${descriptor.size}: the ` +
            'registry sent a truncated blob'
        : `blob ${descriptor.digest}: received content has digest ${digest}: the registry ` +
            'sent corrupt data',
    );
  }
  await store.commitBlobFile(descriptor.digest, partial);
  return true;
}
