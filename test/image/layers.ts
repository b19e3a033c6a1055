import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';

/** One entry of a test layer; `content` is the body of a regular file. */
export type TestEntry = tar.Header extends infer H
  ? Partial<H> & { name: string; content?: string | Buffer; pax?: Record<string, string> }
  : never;

/** Builds an uncompressed tar from `entries` with tar-stream. */
export async function makeTar(entries: TestEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = new Promise<Buffer>((resolve, reject) => {
    pack.on('data', (chunk) => chunks.push(chunk as Buffer));
    pack.on('end', () => resolve(Buffer.concat(chunks)));
    pack.on('error', reject);
  });
  for (const { content, ...header } of entries) {
    const full = {
      type: 'file' as const,
      mode: 0o644,
      mtime: new Date(1_700_000_000_000),
      ...header,
    };
    // A file entry needs a body, or tar-stream waits for one to be written.
    const body =
      content !== undefined || full.type === 'file' ? Buffer.from(content ?? '') : undefined;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (body !== undefined) pack.entry({ ...full, size: body.length }, body, done);
      else pack.entry(full, done);
    });
  }
  pack.finalize();
  return collected;
}

/** Writes `entries` as a layer file, compressed as asked, and returns its path. */
export async function writeLayer(
  dir: string,
  name: string,
  entries: TestEntry[],
  compression: 'gzip' | 'zstd' | 'none' = 'gzip',
): Promise<string> {
  const data = await makeTar(entries);
  const file = path.join(dir, name);
  if (compression === 'gzip') fs.writeFileSync(file, zlib.gzipSync(data));
  else if (compression === 'none') fs.writeFileSync(file, data);
  else fs.writeFileSync(file, execFileSync('zstd', ['-q', '-c', '-'], { input: data }));
  return file;
}

export function temporaryDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `noah-${label}-`));
}

/** Every path under `dir` with type, mode, size, content and link target, for comparisons. */
export function snapshotTree(dir: string): Map<string, string> {
  const result = new Map<string, string>();
  const walk = (rel: string) => {
    const full = path.join(dir, rel);
    const stats = fs.lstatSync(full);
    let description = `mode=${(stats.mode & 0o7777).toString(8)} mtime=${stats.mtimeMs}`;
    if (stats.isSymbolicLink()) description = `symlink ${fs.readlinkSync(full)}`;
    else if (stats.isFile()) description += ` file ${fs.readFileSync(full).toString('hex')}`;
    else if (stats.isDirectory()) description += ' dir';
    result.set(rel, description);
    if (stats.isDirectory()) for (const child of fs.readdirSync(full)) walk(path.join(rel, child));
  };
  walk('.');
  return result;
}
