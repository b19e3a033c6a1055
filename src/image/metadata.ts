import * as fsp from 'node:fs/promises';

/**
 * metadata.json beside an unpacked rootfs: what the layers set that the host file system did
 * not store. Node cannot set extended attributes or create device nodes and FIFOs, and a
 * non-root user cannot chown, so these are recorded here for the runtime to present.
 *
 * Paths are relative to rootfs, without a leading slash ("usr/bin/passwd").
 */
export interface TreeMetadataFile {
  version: 1;
  /**
   * "host": files carry their owners from the layers (the unpacking user was root).
   * "recorded": files belong to the unpacking user, and `owners` holds every owner other than
   * 0:0, so a path missing from it is owned by root. cloneTree writes each of these owners into
   * the user.noah.owner attribute of its file or directory, which the translator presents.
   * Symlinks cannot have that attribute.
   */
  ownership: 'host' | 'recorded';
  owners: Record<string, [number, number]>;
  /** Extended attributes from PAX `SCHILY.xattr.` and `LIBARCHIVE.xattr.` records, base64. */
  xattrs: Record<string, Record<string, string>>;
  /** Device nodes and FIFOs; each exists in rootfs as an empty regular file with the mode. */
  special: Record<string, SpecialFile>;
  /** Bytes of regular file content in all layers, the SIZE `noah images` shows. */
  contentBytes: number;
}

export interface SpecialFile {
  type: 'character-device' | 'block-device' | 'fifo';
  major: number;
  minor: number;
}

export class TreeMetadata {
  readonly owners = new Map<string, [number, number]>();
  readonly xattrs = new Map<string, Record<string, string>>();
  readonly special = new Map<string, SpecialFile>();

  constructor(readonly ownership: 'host' | 'recorded') {}

  /**
   * Forgets `target`, and everything under it when it was a directory, after a whiteout or a
   * replacement.
   */
  remove(target: string, wasDirectory: boolean): void {
    const prefix = target + '/';
    for (const map of [this.owners, this.xattrs, this.special] as Map<string, unknown>[]) {
      map.delete(target);
      if (!wasDirectory) continue;
      for (const key of map.keys()) if (key.startsWith(prefix)) map.delete(key);
    }
  }

  toJSON(contentBytes: number): TreeMetadataFile {
    return {
      contentBytes,
      version: 1,
      ownership: this.ownership,
      owners: Object.fromEntries([...this.owners].sort()),
      xattrs: Object.fromEntries([...this.xattrs].sort()),
      special: Object.fromEntries([...this.special].sort()),
    };
  }

  async write(file: string, contentBytes: number): Promise<void> {
    await fsp.writeFile(file, JSON.stringify(this.toJSON(contentBytes)) + '\n', { mode: 0o644 });
  }
}

/** Reads a tree's metadata.json. */
export async function readTreeMetadata(file: string): Promise<TreeMetadataFile> {
  return JSON.parse(await fsp.readFile(file, 'utf8')) as TreeMetadataFile;
}
