import { Digest, parseDigest } from './digest';
import { ManifestError } from './errors';

/** Media types of manifests, configs and layers in OCI and Docker schema 2 images. */
export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
} as const;

/** The `Accept` header for manifest requests: registry 2.8 answers 404 to a type not listed. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
].join(', ');

/** Manifests, indexes and configs larger than this are rejected before parsing. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  urls?: string[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

/** The parts of an image config that noah reads; the rest is kept as stored. */
export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs: { type: string; diff_ids: Digest[] };
}

const LAYER_TYPES = new Set<string>([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.dockerLayerGzip,
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(data: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (error) {
    throw new ManifestError(`${what}: invalid JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) throw new ManifestError(`${what}: expected a JSON object`);
  return value;
}

function parseDescriptor(value: unknown, what: string): Descriptor {
  if (!isObject(value)) throw new ManifestError(`${what}: descriptor is not an object`);
  const { mediaType, digest, size, platform, urls, annotations } = value;
  if (typeof mediaType !== 'string') throw new ManifestError(`${what}: missing mediaType`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ManifestError(`${what}: invalid size ${JSON.stringify(size)}`);
  }
  const descriptor: Descriptor = { mediaType, digest: parseManifestDigest(digest, what), size };
  if (isObject(platform)) {
    if (typeof platform.os !== 'string' || typeof platform.architecture !== 'string') {
      throw new ManifestError(`${what}: platform needs os and architecture`);
    }
    descriptor.platform = { os: platform.os, architecture: platform.architecture };
    if (typeof platform.variant === 'string') descriptor.platform.variant = platform.variant;
  }
  if (Array.isArray(urls)) descriptor.urls = urls.filter((u): u is string => typeof u === 'string');
  if (isObject(annotations)) descriptor.annotations = annotations as Record<string, string>;
  return descriptor;
}

function parseManifestDigest(value: unknown, what: string): Digest {
  try {
    return parseDigest(value, what);
  } catch (error) {
    throw new ManifestError((error as Error).message);
  }
}

/**
 * Parses a manifest or index. `contentType` is the registry's `Content-Type`, or undefined
 * for a manifest read from a file, where the body's `mediaType` decides.
 */
export function parseManifest(
  data: Uint8Array,
  contentType: string | undefined,
  what: string,
): ImageManifest | ImageIndex {
  if (data.length > MAX_MANIFEST_BYTES) {
    throw new ManifestError(`${what}: manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  const body = parseJson(data, what);
  const declared = contentType?.split(';')[0].trim();
  let mediaType = typeof body.mediaType === 'string' ? body.mediaType : undefined;
  if (declared && declared !== 'application/json' && declared !== 'text/plain') {
    mediaType = declared;
  }
  if (
    mediaType === MediaType.dockerSchema1 ||
    mediaType === MediaType.dockerSchema1Signed ||
    body.schemaVersion === 1
  ) {
    throw new ManifestError(
      `${what}: Docker image manifest schema 1 is not supported; push the image again with ` +
        'a current client so the registry stores schema 2 or OCI',
    );
  }
  if (mediaType === undefined) {
    // OCI allows mediaType to be left out: an index has "manifests", a manifest "config".
    mediaType = Array.isArray(body.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  }
  if (mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) {
    if (!Array.isArray(body.manifests)) throw new ManifestError(`${what}: index has no manifests`);
    return {
      kind: 'index',
      mediaType,
      manifests: body.manifests.map((m, i) => parseDescriptor(m, `${what}: manifests[${i}]`)),
    };
  }
  if (mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest) {
    if (!Array.isArray(body.layers)) throw new ManifestError(`${what}: manifest has no layers`);
    const config = parseDescriptor(body.config, `${what}: config`);
    const layers = body.layers.map((l, i) => parseDescriptor(l, `${what}: layers[${i}]`));
    for (const [i, layer] of layers.entries()) {
      if (layer.mediaType === MediaType.dockerLayerForeign) {
        throw new ManifestError(
          `${what}: layers[${i}] is a foreign layer, which noah cannot fetch`,
        );
      }
      if (!LAYER_TYPES.has(layer.mediaType) && !layer.mediaType.includes('nondistributable')) {
        throw new ManifestError(
          `${what}: layers[${i}] has unsupported media type "${layer.mediaType}"`,
        );
      }
    }
    return { kind: 'manifest', mediaType, config, layers };
  }
  throw new ManifestError(`${what}: unsupported manifest media type "${mediaType}"`);
}

/** Parses an image config and checks the fields noah uses. */
export function parseImageConfig(data: Uint8Array, what: string): ImageConfig {
  const body = parseJson(data, what);
  const rootfs = body.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids)) {
    throw new ManifestError(`${what}: image config has no rootfs.diff_ids`);
  }
  const diffIds = rootfs.diff_ids.map((d, i) => parseManifestDigest(d, `${what}: diff_ids[${i}]`));
  const config: ImageConfig = {
    architecture: typeof body.architecture === 'string' ? body.architecture : '',
    os: typeof body.os === 'string' ? body.os : '',
    rootfs: { type: String(rootfs.type), diff_ids: diffIds },
  };
  if (typeof body.variant === 'string') config.variant = body.variant;
  if (typeof body.created === 'string') config.created = body.created;
  if (isObject(body.config)) config.config = body.config;
  return config;
}

/** Parses `os/arch[/variant]`, as `--platform` takes it. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new ManifestError(`invalid platform "${text}": expected os/arch or os/arch/variant`);
  }
  const platform: Platform = { os: parts[0], architecture: parts[1] };
  if (parts[2] !== undefined) platform.variant = parts[2];
  return normalizePlatform(platform);
}

/** Maps architecture aliases to the names OCI uses (`x86_64` to `amd64`, `aarch64` to `arm64`). */
export function normalizePlatform(platform: Platform): Platform {
  const aliases: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64' };
  const architecture = aliases[platform.architecture] ?? platform.architecture;
  const result: Platform = { os: platform.os, architecture };
  if (platform.variant !== undefined) result.variant = platform.variant;
  if (architecture === 'arm64' && result.variant === 'v8') delete result.variant;
  return result;
}

export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

/**
 * Picks the manifest for `platform` from an index: os and architecture must match, and the
 * variant too when one is asked for. Throws naming the platforms the index offers.
 */
export function selectPlatform(index: ImageIndex, platform: Platform, what: string): Descriptor {
  const wanted = normalizePlatform(platform);
  const candidates = index.manifests.filter((m) => {
    if (m.platform === undefined) return false;
    const offered = normalizePlatform(m.platform);
    return (
      offered.os === wanted.os &&
      offered.architecture === wanted.architecture &&
      (wanted.variant === undefined || offered.variant === wanted.variant)
    );
  });
  if (candidates.length === 0) {
    const offered = index.manifests
      .filter((m) => m.platform !== undefined)
      .map((m) => formatPlatform(m.platform!));
    throw new ManifestError(
      `${what}: no manifest for platform ${formatPlatform(wanted)}; the index offers ` +
        (offered.length > 0 ? offered.join(', ') : 'no platforms') +
        ': choose one with --platform',
    );
  }
  return candidates[0];
}
