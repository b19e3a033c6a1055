import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import * as tar from 'tar-stream';
import { Digest, hashDigest, isDigest, sha256 } from './digest';
import { ImageError, ManifestError } from './errors';
import {
  addDigestReference,
  registerImage,
  storeManifest,
  tagImage,
  UnpackProgress,
} from './images';
import {
  DEFAULT_PLATFORM,
  Descriptor,
  ImageManifest,
  MediaType,
  parseManifest,
  Platform,
  selectPlatform,
} from './manifest';
import { parseReference, Reference } from './reference';
import { ImageRecord, Store } from './store';
import { Compression, decompressor, detectCompression } from './unpack';

/**
 * The offline ways into the store: `noah import` (a root filesystem tar as a one-layer image)
 * and `noah load` (a `docker save` tar or an OCI image layout tar).
 */

const LAYER_MEDIA_TYPE: Record<Compression, string> = {
  gzip: MediaType.ociLayerGzip,
  zstd: MediaType.ociLayerZstd,
  none: MediaType.ociLayer,
};

/** Copies `source` to a new file under tmp/ while hashing it. */
async function ingest(
  store: Store,
  source: AsyncIterable<Uint8Array>,
): Promise<{ file: string; digest: Digest; size: number }> {
  const file = store.temporaryPath('ingest');
  const hash = createHash('sha256');
  let size = 0;
  const handle = await fsp.open(file, 'wx', 0o600);
  try {
    for await (const chunk of source) {
      hash.update(chunk);
      size += chunk.length;
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return { file, digest: hashDigest(hash), size };
}

/** Moves an ingested file into the blob store, or drops it when the blob is there already. */
async function commitIngested(store: Store, file: string, digest: Digest): Promise<void> {
  if (store.hasBlob(digest)) await fsp.rm(file, { force: true });
  else await store.commitBlobFile(digest, file);
}

/** Magic numbers of compressions that noah detects but cannot decompress. */
const UNSUPPORTED_COMPRESSIONS: { name: string; magic: Buffer }[] = [
  { name: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { name: 'bzip2', magic: Buffer.from('BZh') },
];

/** Returns the compression of `head` (the first bytes of a file), including unsupported ones. */
function compressionOf(head: Buffer): Compression | string {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  const unsupported = UNSUPPORTED_COMPRESSIONS.find(
    ({ magic }) => head.length >= magic.length && head.subarray(0, magic.length).equals(magic),
  );
  return unsupported?.name ?? 'none';
}

/** Returns the supported compression of `head`, or raises an error that names `label`. */
function supportedCompression(head: Buffer, label: string): Compression {
  const compression = compressionOf(head);
  if (compression === 'gzip' || compression === 'zstd' || compression === 'none') {
    return compression;
  }
  throw new ImageError(
    `${label}: ${compression}-compressed tar is not supported: ` +
      'decompress it first, or compress it with gzip or zstd',
  );
}

async function readHead(file: string): Promise<Buffer> {
  const handle = await fsp.open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Returns `error` as an ImageError that names `label`, for a failure to read a tar or its
 * compression. System errors (disk full, permission denied) are returned unchanged.
 */
function describeArchiveError(error: unknown, label: string, what: string): unknown {
  if (error instanceof ImageError) return error;
  if (!(error instanceof Error)) return error;
  if (typeof (error as NodeJS.ErrnoException).syscall === 'string') return error;
  return new ImageError(`${label}: invalid ${what}: ${error.message}`);
}

/**
 * `noah import`: stores the root filesystem tar `source` (plain, gzip or zstd) as a one-layer
 * image for linux/amd64, tagged `name` when given, as `docker import` does. `source` is a file
 * name or a stream such as standard input. Errors name `label`, the name the user gave.
 */
export async function importRootfs(
  store: Store,
  source: string | Readable,
  name: string | undefined,
  label: string,
  progress: UnpackProgress = {},
): Promise<ImageRecord> {
  const ref = name === undefined ? undefined : parseReference(name);
  if (typeof source === 'string') supportedCompression(await readHead(source), label);
  const input = typeof source === 'string' ? fs.createReadStream(source) : source;
  const layer = await ingest(store, input);
  let compression: Compression = 'none';
  let diffId = layer.digest;
  try {
    compression = supportedCompression(await readHead(layer.file), label);
    // The diff ID is the digest of the uncompressed tar, known only after reading it once.
    if (compression !== 'none') diffId = await uncompressedDigest(layer.file, compression);
  } catch (error) {
    await fsp.rm(layer.file, { force: true });
    throw describeArchiveError(error, label, `${compression} data`);
  }
  await commitIngested(store, layer.file, layer.digest);
  const created = new Date().toISOString();
  const config = {
    architecture: DEFAULT_PLATFORM.architecture,
    os: DEFAULT_PLATFORM.os,
    created,
    config: {},
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: `noah import ${path.basename(label)}` }],
  };
  const configData = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configData);
  await store.writeBlob(configDigest, configData);
  const manifest: ImageManifest = {
    kind: 'manifest',
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configData.length },
    layers: [{ mediaType: LAYER_MEDIA_TYPE[compression], digest: layer.digest, size: layer.size }],
  };
  const manifestDigest = await storeManifest(store, manifest);
  let record: ImageRecord;
  try {
    record = await registerImage(store, { manifestDigest, manifest }, progress);
  } catch (error) {
    // Unpacking names the layer by digest, which means nothing to the user of `noah import`.
    const prefix = `layer ${layer.digest}: `;
    if (error instanceof ImageError && error.message.startsWith(prefix)) {
      throw new ImageError(`${label}: ${error.message.slice(prefix.length)}`, error.exitStatus);
    }
    throw describeArchiveError(error, label, 'root filesystem tar');
  }
  if (ref !== undefined) await tagImage(store, ref, record.id);
  return record;
}

/** Returns the sha256 digest of the decompressed content of `file`. */
async function uncompressedDigest(file: string, compression: Compression): Promise<Digest> {
  const hash = createHash('sha256');
  const source = fs.createReadStream(file);
  const decompress = decompressor(compression);
  if (decompress === undefined) throw new Error(`${file} is not compressed`);
  source.on('error', (error: Error) => decompress.destroy(error));
  for await (const chunk of source.pipe(decompress)) hash.update(chunk as Buffer);
  return hashDigest(hash);
}

/** A file found in an archive, copied to tmp/ and hashed. */
interface ArchiveFile {
  file: string;
  digest: Digest;
  size: number;
  stored?: boolean; // moved into the blob store, so `file` is the blob and must stay
}

/** What `noah load` stored, per image. */
export interface LoadedImage {
  record: ImageRecord;
  tags: string[];
}

/**
 * `noah load`: stores every image in a `docker save` tar (manifest.json) or an OCI image
 * layout tar (index.json), tagged as the archive names them. The tar may be compressed with
 * gzip or zstd. For an OCI index with several platforms, `platform` picks one. Errors name
 * `label`, the file name the user gave.
 */
export async function loadArchive(
  store: Store,
  input: Readable,
  label: string,
  platform: Platform = DEFAULT_PLATFORM,
  progress: UnpackProgress = {},
): Promise<LoadedImage[]> {
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  try {
    const { tar: tarStream, compression } = await decompressedArchive(input, label);
    try {
      await readArchive(store, tarStream, files, links);
    } catch (error) {
      const what = compression === 'none' ? 'tar' : `${compression}-compressed tar`;
      throw describeArchiveError(error, label, what);
    }
    const lookup = (name: string): ArchiveFile | undefined => {
      let current = path.posix.normalize(name);
      for (let hops = 0; hops < 40 && links.has(current); hops++) current = links.get(current)!;
      return files.get(current);
    };
    if (lookup('manifest.json') !== undefined) {
      return await loadDockerArchive(store, lookup, progress);
    }
    if (lookup('index.json') !== undefined) {
      return await loadOciLayout(store, lookup, platform, progress);
    }
    throw new ImageError(
      `${label}: archive has neither manifest.json (docker save) nor index.json (OCI image layout)`,
    );
  } finally {
    for (const found of files.values()) {
      if (!found.stored) await fsp.rm(found.file, { force: true });
    }
  }
}

/**
 * Reads the first bytes of `input` to detect its compression, and returns a stream of the
 * decompressed tar.
 */
async function decompressedArchive(
  input: Readable,
  label: string,
): Promise<{ tar: Readable; compression: Compression }> {
  const iterator: AsyncIterator<Buffer> = input[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < 8) {
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    length += next.value.length;
  }
  const head = Buffer.concat(chunks);
  const compression = supportedCompression(head, label);
  async function* whole(): AsyncGenerator<Buffer> {
    yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  const raw = Readable.from(whole(), { objectMode: false });
  const decompress = decompressor(compression);
  if (decompress === undefined) return { tar: raw, compression };
  raw.on('error', (error: Error) => decompress.destroy(error));
  return { tar: raw.pipe(decompress), compression };
}

async function readArchive(
  store: Store,
  input: Readable,
  files: Map<string, ArchiveFile>,
  links: Map<string, string>,
): Promise<void> {
  const extract = tar.extract();
  input.on('error', (error: Error) => extract.destroy(error));
  input.pipe(extract as unknown as Writable);
  for await (const entry of extract) {
    const name = path.posix.normalize(entry.header.name);
    if (entry.header.type === 'file' || entry.header.type === 'contiguous-file') {
      files.set(name, await ingest(store, entry as AsyncIterable<Uint8Array>));
      continue;
    }
    if (entry.header.type === 'symlink' || entry.header.type === 'link') {
      const target = entry.header.linkname ?? '';
      const resolved =
        entry.header.type === 'symlink'
          ? path.posix.join(path.posix.dirname(name), target)
          : path.posix.normalize(target);
      links.set(name, resolved);
    }
    for await (const chunk of entry) void chunk;
  }
}

async function readJson(file: ArchiveFile, what: string): Promise<unknown> {
  try {
    return JSON.parse(await fsp.readFile(file.file, 'utf8'));
  } catch (error) {
    throw new ManifestError(`${what}: invalid JSON: ${(error as Error).message}`);
  }
}

/** Moves archive file `name` into the blob store and returns its descriptor. */
async function storeArchiveBlob(
  store: Store,
  lookup: (name: string) => ArchiveFile | undefined,
  name: string,
  mediaType: string,
): Promise<Descriptor> {
  const found = lookup(name);
  if (found === undefined) throw new ManifestError(`archive: file "${name}" is missing`);
  if (!found.stored) {
    await commitIngested(store, found.file, found.digest);
    found.file = store.blobPath(found.digest);
    found.stored = true;
  }
  return { mediaType, digest: found.digest, size: found.size };
}

async function loadDockerArchive(
  store: Store,
  lookup: (name: string) => ArchiveFile | undefined,
  progress: UnpackProgress,
): Promise<LoadedImage[]> {
  const entries = await readJson(lookup('manifest.json')!, 'archive manifest.json');
  if (!Array.isArray(entries)) throw new ManifestError('archive manifest.json: expected a list');
  const loaded: LoadedImage[] = [];
  for (const [i, entry] of entries.entries()) {
    const what = `archive manifest.json[${i}]`;
    const item = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof item.Config !== 'string' || !Array.isArray(item.Layers)) {
      throw new ManifestError(`${what}: needs Config and Layers`);
    }
    const config = await storeArchiveBlob(store, lookup, item.Config, MediaType.dockerConfig);
    const layers: Descriptor[] = [];
    for (const layerName of item.Layers) {
      if (typeof layerName !== 'string') throw new ManifestError(`${what}: invalid layer name`);
      const found = lookup(layerName);
      if (found === undefined) throw new ManifestError(`${what}: layer "${layerName}" is missing`);
      const compression = await detectCompression(found.file);
      layers.push(await storeArchiveBlob(store, lookup, layerName, LAYER_MEDIA_TYPE[compression]));
    }
    const manifest: ImageManifest = {
      kind: 'manifest',
      mediaType: MediaType.ociManifest,
      config,
      layers,
    };
    const manifestDigest = await storeManifest(store, manifest);
    const record = await registerImage(store, { manifestDigest, manifest }, progress);
    const tags = Array.isArray(item.RepoTags)
      ? item.RepoTags.filter((t) => typeof t === 'string')
      : [];
    for (const tag of tags) await tagImage(store, parseReference(tag), record.id);
    loaded.push({ record, tags });
  }
  return loaded;
}

async function loadOciLayout(
  store: Store,
  lookup: (name: string) => ArchiveFile | undefined,
  platform: Platform,
  progress: UnpackProgress,
): Promise<LoadedImage[]> {
  const blob = async (descriptor: Descriptor, what: string): Promise<Buffer> => {
    const hex = descriptor.digest.slice('sha256:'.length);
    const found = lookup(`blobs/sha256/${hex}`);
    if (found === undefined)
      throw new ManifestError(`${what}: blob ${descriptor.digest} is missing`);
    if (found.digest !== descriptor.digest) {
      throw new ManifestError(`${what}: blob ${descriptor.digest} has digest ${found.digest}`);
    }
    return fsp.readFile(found.file);
  };
  const indexFile = lookup('index.json')!;
  const index = parseManifest(await fsp.readFile(indexFile.file), undefined, 'archive index.json');
  if (index.kind !== 'index') throw new ManifestError('archive index.json is not an image index');
  const loaded: LoadedImage[] = [];
  for (const [i, top] of index.manifests.entries()) {
    const what = `archive index.json manifests[${i}]`;
    let descriptor = top;
    let parsed = parseManifest(await blob(descriptor, what), descriptor.mediaType, what);
    if (parsed.kind === 'index') {
      descriptor = selectPlatform(parsed, platform, what);
      parsed = parseManifest(await blob(descriptor, what), descriptor.mediaType, what);
      if (parsed.kind !== 'manifest') throw new ManifestError(`${what}: nested index`);
    }
    const manifest = parsed;
    for (const part of [manifest.config, ...manifest.layers]) {
      await storeArchiveBlob(store, lookup, `blobs/sha256/${part.digest.slice(7)}`, part.mediaType);
    }
    const manifestData = await blob(descriptor, what);
    await store.writeBlob(descriptor.digest, manifestData);
    const record = await registerImage(
      store,
      { manifestDigest: descriptor.digest, manifest },
      progress,
    );
    const tags: string[] = [];
    const annotations = top.annotations ?? {};
    const name =
      annotations['io.containerd.image.name'] ?? annotations['org.opencontainers.image.ref.name'];
    if (name !== undefined && (name.includes('/') || name.includes(':'))) {
      const ref: Reference = parseReference(name);
      await tagImage(store, ref, record.id);
      if (isDigest(top.digest)) await addDigestReference(store, ref, top.digest, record.id);
      tags.push(name);
    }
    loaded.push({ record, tags });
  }
  return loaded;
}
