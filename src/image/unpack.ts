import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform, TransformCallback, Writable } from 'node:stream';
import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import * as tar from 'tar-stream';
import { Digest, hashDigest } from './digest';
import { UnsafeLayerError } from './errors';
import { TreeMetadata } from './metadata';
import { isErrno, removeTree } from './store';

/**
 * Applies layer tars to a root filesystem folder, as the OCI image spec describes: entries in
 * order, `.wh.NAME` whiteouts and `.wh..wh..opq` opaque directories hiding what lower layers
 * put there, hardlinks, symlinks, modes, times and ownership.
 *
 * Containment: an entry name with `..` or a leading `/` is rejected. Parent folders are
 * resolved one component at a time with lstat; a symbolic link among them is followed only
 * when its target is relative and stays inside the root (Debian's `bin -> usr/bin`), and an
 * absolute or escaping one is rejected, so no entry, hardlink or whiteout can reach a file
 * outside the root. The last component is never followed: whatever is there is replaced.
 * This holds because nothing else writes to the folder while it is unpacked.
 */

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;
const MAX_SYMLINK_HOPS = 40;
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_WHITEOUT = '.wh..wh..opq';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Detects the compression of a layer file from its first bytes. */
export async function detectCompression(file: string): Promise<Compression> {
  const handle = await fsp.open(file, 'r');
  try {
    const magic = Buffer.alloc(4);
    const { bytesRead } = await handle.read(magic, 0, 4, 0);
    if (bytesRead >= 2 && magic[0] === 0x1f && magic[1] === 0x8b) return 'gzip';
    if (bytesRead === 4 && magic.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
    return 'none';
  } finally {
    await handle.close();
  }
}

/** A zstd decompressing stream on the `fzstd` decoder. */
class ZstdDecompressor extends Transform {
  private readonly decoder = new Decompress((chunk) => {
    this.push(Buffer.from(chunk));
  });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      done();
    } catch (error) {
      done(new Error(`invalid zstd data: ${(error as Error).message}`));
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      done();
    } catch (error) {
      done(new Error(`invalid zstd data: ${(error as Error).message}`));
    }
  }
}

/** Returns a stream that decompresses `compression`, or undefined for an uncompressed tar. */
export function decompressor(compression: Compression): Transform | undefined {
  if (compression === 'gzip') return zlib.createGunzip();
  if (compression === 'zstd') return new ZstdDecompressor();
  return undefined;
}

/** Runtime fields of a tar-stream header that its type definitions leave out. */
type EntryHeader = Omit<tar.Header, 'type' | 'pax'> & {
  type: tar.Header['type'] | null; // null for a type tar-stream does not know
  pax?: Record<string, string> | null;
};

/** Directory attributes applied after all layers, so read-only folders can still be filled. */
interface DirectoryAttributes {
  mode: number;
  mtime?: Date;
}

export interface LayerResult {
  diffId: Digest; // sha256 of the uncompressed tar
  contentBytes: number; // bytes of regular file content in the layer
}

/**
 * Writes layers into one root folder. Call `applyLayer` for each layer, bottom first, then
 * `finish` once.
 */
export class TreeWriter {
  readonly metadata: TreeMetadata;
  private readonly directories = new Map<string, DirectoryAttributes>();
  private readonly verified = new Set<string>(); // relative paths known to be real folders
  private touched = new Set<string>(); // paths the current layer wrote, with their parents
  private entryName = '';
  private layerName = '';

  constructor(
    readonly root: string,
    readonly applyOwnership: boolean = process.getuid?.() === 0,
  ) {
    this.metadata = new TreeMetadata(applyOwnership ? 'host' : 'recorded');
  }

  /**
   * Applies the layer in `file` (gzip, zstd or plain tar) and returns its diff ID.
   * `layerName` names the layer in errors; `onBytes` receives compressed bytes as read.
   */
  async applyLayer(
    file: string,
    layerName: string,
    onBytes?: (bytes: number) => void,
  ): Promise<LayerResult> {
    this.layerName = layerName;
    this.entryName = '';
    this.touched = new Set();
    const hash = createHash('sha256');
    let contentBytes = 0;
    const source = fs.createReadStream(file);
    const transforms: Transform[] = [];
    if (onBytes !== undefined) {
      transforms.push(
        new Transform({
          transform(chunk: Buffer, _encoding, done) {
            onBytes(chunk.length);
            done(null, chunk);
          },
        }),
      );
    }
    const decompress = decompressor(await detectCompression(file));
    if (decompress !== undefined) transforms.push(decompress);
    transforms.push(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
    );
    // Node's stream.pipeline reports a premature close for tar-stream's streamx Writable under
    // jest, so the stages are piped by hand and each error is passed on to the extractor.
    const extract = tar.extract();
    let tail: Readable = source;
    for (const transform of transforms) {
      tail.on('error', (error: Error) => transform.destroy(error));
      tail = tail.pipe(transform);
    }
    tail.on('error', (error: Error) => extract.destroy(error));
    tail.pipe(extract as unknown as Writable);
    try {
      for await (const entry of extract) {
        const header = entry.header as EntryHeader;
        this.entryName = header.name;
        if (header.type === 'file' || header.type === 'contiguous-file') {
          contentBytes += header.size ?? 0;
        }
        await this.applyEntry(header, entry as unknown as Readable);
      }
    } catch (error) {
      source.destroy();
      extract.destroy();
      throw this.describeFailure(error);
    }
    return { diffId: hashDigest(hash), contentBytes };
  }

  /** Sets the modes and times of folders, deepest first, once every layer is applied. */
  async finish(): Promise<void> {
    const folders = [...this.directories.keys()].sort((a, b) => b.length - a.length);
    for (const rel of folders) {
      const attributes = this.directories.get(rel)!;
      const target = this.absolute(rel);
      await fsp.chmod(target, attributes.mode);
      if (attributes.mtime !== undefined) {
        await fsp.utimes(target, attributes.mtime, attributes.mtime);
      }
    }
  }

  private describeFailure(error: unknown): Error {
    if (error instanceof UnsafeLayerError) return error;
    const message = error instanceof Error ? error.message : String(error);
    const where =
      this.entryName === '' ? 'before the first entry' : `at or after entry "${this.entryName}"`;
    return new UnsafeLayerError(`layer ${this.layerName}: invalid tar ${where}: ${message}`);
  }

  private unsafe(why: string): UnsafeLayerError {
    return new UnsafeLayerError(`layer ${this.layerName}: entry "${this.entryName}": ${why}`);
  }

  private absolute(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /** Splits an entry or hardlink name into components, rejecting `..` and absolute names. */
  private components(name: string, what: string): string[] {
    if (name.includes('\0')) throw this.unsafe(`${what} contains a NUL byte`);
    if (Buffer.byteLength(name) > MAX_PATH_BYTES) {
      throw this.unsafe(`${what} is longer than ${MAX_PATH_BYTES} bytes`);
    }
    if (name.startsWith('/')) throw this.unsafe(`${what} "${name}" is an absolute path`);
    const parts = name.split('/').filter((part) => part !== '' && part !== '.');
    for (const part of parts) {
      if (part === '..') throw this.unsafe(`${what} "${name}" contains ".."`);
      if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
        throw this.unsafe(`${what} has a component longer than ${MAX_NAME_BYTES} bytes`);
      }
    }
    return parts;
  }

  /**
   * Resolves folder `parts` inside the root to its real relative path, following only
   * symlinks whose relative targets stay inside. Missing folders are made when `create` is
   * set; otherwise undefined is returned for them.
   */
  private async resolveDirectory(parts: string[], create: boolean): Promise<string | undefined> {
    const current: string[] = [];
    const pending = [...parts];
    let hops = 0;
    while (pending.length > 0) {
      const name = pending.shift()!;
      if (name === '.' || name === '') continue;
      if (name === '..') {
        if (current.length === 0) {
          throw this.unsafe(`a symbolic link among its parents points outside the image root`);
        }
        current.pop();
        continue;
      }
      const rel = [...current, name].join('/');
      if (this.verified.has(rel)) {
        current.push(name);
        continue;
      }
      let stats: fs.Stats;
      try {
        stats = await fsp.lstat(this.absolute(rel));
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        if (!create) return undefined;
        await fsp.mkdir(this.absolute(rel), { mode: 0o700 });
        this.directories.set(rel, { mode: 0o755 });
        this.verified.add(rel);
        current.push(name);
        continue;
      }
      if (stats.isDirectory()) {
        this.verified.add(rel);
        current.push(name);
        continue;
      }
      if (!stats.isSymbolicLink()) throw this.unsafe(`parent "${rel}" is not a directory`);
      if (++hops > MAX_SYMLINK_HOPS) throw this.unsafe(`too many symbolic links in its parents`);
      const target = await fsp.readlink(this.absolute(rel));
      if (target.startsWith('/')) {
        throw this.unsafe(
          `parent "${rel}" is a symbolic link to the absolute path "${target}", which noah ` +
            'does not write through',
        );
      }
      pending.unshift(...target.split('/'));
    }
    return current.join('/');
  }

  /** Resolves the parent of `parts` and returns the real relative path of the entry itself. */
  private async resolveEntry(parts: string[], create: boolean): Promise<string | undefined> {
    const parent = await this.resolveDirectory(parts.slice(0, -1), create);
    if (parent === undefined) return undefined;
    const base = parts[parts.length - 1];
    return parent === '' ? base : `${parent}/${base}`;
  }

  private markTouched(rel: string): void {
    let current = rel;
    while (current !== '' && !this.touched.has(current)) {
      this.touched.add(current);
      const slash = current.lastIndexOf('/');
      current = slash < 0 ? '' : current.slice(0, slash);
    }
  }

  private async lstatOrUndefined(rel: string): Promise<fs.Stats | undefined> {
    try {
      return await fsp.lstat(this.absolute(rel));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  /** Removes whatever is at `rel`, without following a symbolic link there. */
  private async removeExisting(rel: string, stats?: fs.Stats): Promise<void> {
    const existing = stats ?? (await this.lstatOrUndefined(rel));
    if (existing === undefined) return;
    if (existing.isDirectory()) {
      await removeTree(this.absolute(rel));
      const prefix = rel + '/';
      for (const key of this.verified)
        if (key === rel || key.startsWith(prefix)) this.verified.delete(key);
      for (const key of this.directories.keys()) {
        if (key === rel || key.startsWith(prefix)) this.directories.delete(key);
      }
      this.metadata.remove(rel, true);
    } else {
      await fsp.unlink(this.absolute(rel));
      this.metadata.remove(rel, false);
    }
  }

  private async applyEntry(header: EntryHeader, entry: Readable): Promise<void> {
    const parts = this.components(header.name, 'name');
    const base = parts[parts.length - 1] ?? '';
    if (base.startsWith(WHITEOUT_PREFIX)) {
      await drain(entry);
      await this.applyWhiteout(parts);
      return;
    }
    if (parts.length === 0) {
      // The root folder itself ("./"): only its attributes apply.
      await drain(entry);
      if (header.type === 'directory') {
        this.directories.set('', { mode: (header.mode ?? 0o755) & 0o7777, mtime: header.mtime });
        await this.setOwner('', header, true);
      }
      return;
    }
    const rel = (await this.resolveEntry(parts, true))!;
    const existing = await this.lstatOrUndefined(rel);
    const mode = (header.mode ?? 0o644) & 0o7777;
    switch (header.type) {
      case 'directory':
        await drain(entry);
        if (existing === undefined || !existing.isDirectory()) {
          await this.removeExisting(rel, existing);
          await fsp.mkdir(this.absolute(rel), { mode: 0o700 });
        }
        this.verified.add(rel);
        this.directories.set(rel, { mode, mtime: header.mtime });
        await this.setOwner(rel, header, true);
        break;
      case 'file':
      case 'contiguous-file':
        await this.removeExisting(rel, existing);
        await this.writeFile(rel, header, entry, mode);
        break;
      case 'symlink':
        await drain(entry);
        await this.removeExisting(rel, existing);
        await fsp.symlink(header.linkname ?? '', this.absolute(rel));
        await this.setOwner(rel, header, false);
        if (header.mtime !== undefined) {
          await fsp.lutimes(this.absolute(rel), header.mtime, header.mtime);
        }
        break;
      case 'link':
        await drain(entry);
        await this.writeHardlink(rel, existing, header);
        break;
      case 'character-device':
      case 'block-device':
      case 'fifo':
        await drain(entry);
        await this.removeExisting(rel, existing);
        await this.writeSpecial(rel, header, mode);
        break;
      default:
        throw this.unsafe(`unsupported entry type ${JSON.stringify(header.type)}`);
    }
    this.recordXattrs(rel, header);
    this.markTouched(rel);
  }

  private async writeFile(rel: string, header: EntryHeader, entry: Readable, mode: number) {
    const flags =
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
    const handle = await fsp.open(this.absolute(rel), flags, 0o600);
    try {
      for await (const chunk of entry) await handle.write(chunk as Buffer);
      if (this.applyOwnership) await handle.chown(header.uid ?? 0, header.gid ?? 0);
      else this.recordOwner(rel, header);
      await handle.chmod(mode);
      if (header.mtime !== undefined) await handle.utimes(header.mtime, header.mtime);
    } finally {
      await handle.close();
    }
  }

  private async writeHardlink(rel: string, existing: fs.Stats | undefined, header: EntryHeader) {
    const targetParts = this.components(header.linkname ?? '', 'hardlink target');
    if (targetParts.length === 0) throw this.unsafe('hardlink to the image root');
    const target = await this.resolveEntry(targetParts, false);
    const targetStats = target === undefined ? undefined : await this.lstatOrUndefined(target);
    if (target === undefined || targetStats === undefined) {
      throw this.unsafe(`hardlink target "${header.linkname}" does not exist in the image`);
    }
    if (targetStats.isDirectory()) {
      throw this.unsafe(`hardlink target "${header.linkname}" is a directory`);
    }
    if (
      existing !== undefined &&
      existing.ino === targetStats.ino &&
      existing.dev === targetStats.dev
    ) {
      return;
    }
    await this.removeExisting(rel, existing);
    await fsp.link(this.absolute(target), this.absolute(rel));
    for (const map of [this.metadata.owners, this.metadata.xattrs, this.metadata.special]) {
      const value = (map as Map<string, unknown>).get(target);
      if (value !== undefined) (map as Map<string, unknown>).set(rel, value);
    }
  }

  private async writeSpecial(rel: string, header: EntryHeader, mode: number) {
    // NOTE: Node has no mknod or mkfifo, so a device node or FIFO becomes an empty regular
    // file with its mode, and metadata.json records what it is for the runtime.
    const handle = await fsp.open(this.absolute(rel), 'wx', 0o600);
    try {
      if (this.applyOwnership) await handle.chown(header.uid ?? 0, header.gid ?? 0);
      else this.recordOwner(rel, header);
      await handle.chmod(mode);
      if (header.mtime !== undefined) await handle.utimes(header.mtime, header.mtime);
    } finally {
      await handle.close();
    }
    const type = header.type as 'character-device' | 'block-device' | 'fifo';
    this.metadata.special.set(rel, {
      type,
      major: header.devmajor ?? 0,
      minor: header.devminor ?? 0,
    });
  }

  private async setOwner(rel: string, header: EntryHeader, isDirectory: boolean) {
    if (!this.applyOwnership) {
      this.recordOwner(rel, header);
      return;
    }
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;
    if (isDirectory) await fsp.chown(this.absolute(rel), uid, gid);
    else await fsp.lchown(this.absolute(rel), uid, gid);
  }

  private recordOwner(rel: string, header: EntryHeader) {
    const uid = header.uid ?? 0;
    const gid = header.gid ?? 0;
    if (uid !== 0 || gid !== 0) this.metadata.owners.set(rel, [uid, gid]);
    else this.metadata.owners.delete(rel);
  }

  private recordXattrs(rel: string, header: EntryHeader) {
    const xattrs: Record<string, string> = {};
    for (const [key, value] of Object.entries(header.pax ?? {})) {
      // NOTE: tar-stream decodes PAX values as UTF-8, so binary SCHILY values (such as
      // security.capability) can lose bytes; LIBARCHIVE values are base64 and survive.
      if (key.startsWith('SCHILY.xattr.')) {
        xattrs[key.slice('SCHILY.xattr.'.length)] = Buffer.from(value, 'utf8').toString('base64');
      } else if (key.startsWith('LIBARCHIVE.xattr.')) {
        xattrs[decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length))] = value;
      }
    }
    if (Object.keys(xattrs).length > 0) this.metadata.xattrs.set(rel, xattrs);
    else this.metadata.xattrs.delete(rel);
  }

  private async applyWhiteout(parts: string[]): Promise<void> {
    const base = parts[parts.length - 1];
    if (base === OPAQUE_WHITEOUT) {
      const folder = (await this.resolveDirectory(parts.slice(0, -1), true))!;
      this.markTouched(folder);
      await this.hideLowerEntries(folder);
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) return; // other AUFS metadata
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') {
      throw this.unsafe(`invalid whiteout name "${base}"`);
    }
    const parent = await this.resolveDirectory(parts.slice(0, -1), false);
    if (parent === undefined) return;
    await this.removeExisting(parent === '' ? hidden : `${parent}/${hidden}`);
  }

  /** Removes everything under `folder` that the current layer did not write. */
  private async hideLowerEntries(folder: string): Promise<void> {
    for (const child of await fsp.readdir(this.absolute(folder), { withFileTypes: true })) {
      const rel = folder === '' ? child.name : `${folder}/${child.name}`;
      if (!this.touched.has(rel)) {
        await this.removeExisting(rel);
      } else if (child.isDirectory()) {
        await this.hideLowerEntries(rel);
      }
    }
  }
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const chunk of entry) void chunk;
}
