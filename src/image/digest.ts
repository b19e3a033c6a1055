import { createHash, Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { DigestMismatchError, ImageError } from './errors';

/** A content digest in OCI form, `sha256:` followed by 64 lowercase hex digits. */
export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Whether `value` is a sha256 digest, the only algorithm noah stores. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST.test(value);
}

/** Checks `value` is a sha256 digest; `what` names it in the error. */
export function parseDigest(value: unknown, what: string): Digest {
  if (isDigest(value)) return value;
  if (typeof value === 'string' && /^[a-z0-9]+([+._-][a-z0-9]+)*:/.test(value)) {
    throw new ImageError(`${what}: unsupported digest "${value}": only sha256 is supported`);
  }
  throw new ImageError(`${what}: invalid digest ${JSON.stringify(value)}`);
}

/** The 64 hex digits of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** The sha256 digest of `data`. */
export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Finishes a running sha256 hash as a digest. */
export function hashDigest(hash: Hash): Digest {
  return `sha256:${hash.digest('hex')}`;
}

/** The sha256 digest of a file's content. */
export async function fileDigest(file: string): Promise<Digest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hashDigest(hash);
}

/** Throws unless `data` has digest `expected`. */
export function verifyBytes(data: Uint8Array, expected: Digest, what: string): void {
  const actual = sha256(data);
  if (actual !== expected) {
    throw new DigestMismatchError(`${what}: content has digest ${actual}, expected ${expected}`);
  }
}

/**
 * The chain ID of a layer stack, as the OCI image spec defines it: the first layer's diff ID,
 * then sha256 of "PARENT_CHAIN_ID DIFF_ID" for each further layer.
 */
export function chainId(diffIds: Digest[]): Digest {
  if (diffIds.length === 0) throw new ImageError('an image needs at least one layer');
  let chain = diffIds[0];
  for (const diffId of diffIds.slice(1)) chain = sha256(`${chain} ${diffId}`);
  return chain;
}
