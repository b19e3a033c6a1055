import { Digest, isDigest } from './digest';
import { InvalidReferenceError } from './errors';

/**
 * Image references parsed and normalized as Docker's `distribution/reference` package does:
 * `debian` is `docker.io/library/debian:latest`, a first component with a dot, a colon or equal
 * to `localhost` is a registry host, and a reference may carry a tag, a digest or both.
 */

/** A parsed, normalized image reference. */
export interface Reference {
  domain: string; // registry host with optional port, "docker.io" for Docker Hub
  path: string; // repository path inside the registry, "library/debian"
  tag?: string;
  digest?: Digest;
}

export const DOCKER_HUB_DOMAIN = 'docker.io';
/** The host that serves Docker Hub's registry API. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';
export const DEFAULT_TAG = 'latest';

const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]+)?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * Parses `text` into a normalized reference. Without tag and digest the tag is `latest`;
 * with only a digest no tag is added.
 */
export function parseReference(text: string): Reference {
  const fail = (why: string): never => {
    throw new InvalidReferenceError(`invalid reference format "${text}": ${why}`);
  };
  if (text === '') fail('empty reference');

  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const value = rest.slice(at + 1);
    if (!isDigest(value)) {
      fail(`"${value}" is not a digest of the form sha256:<64 lowercase hex digits>`);
    }
    digest = value as Digest;
    rest = rest.slice(0, at);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) fail(`invalid tag "${tag}"`);
  }

  let domain = DOCKER_HUB_DOMAIN;
  let path = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (
      first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.startsWith('[')
    ) {
      domain = first;
      path = rest.slice(firstSlash + 1);
      if (!DOMAIN.test(domain)) fail(`invalid registry host "${domain}"`);
    } else if (first !== first.toLowerCase()) {
      fail('repository name must be lowercase');
    }
  }
  if (domain === 'index.docker.io') domain = DOCKER_HUB_DOMAIN;
  if (domain === DOCKER_HUB_DOMAIN && !path.includes('/')) path = `library/${path}`;

  if (path === '') fail('missing repository name');
  for (const component of path.split('/')) {
    if (component !== component.toLowerCase()) fail('repository name must be lowercase');
    if (!PATH_COMPONENT.test(component)) {
      fail(`invalid repository name component "${component}"`);
    }
  }
  if (`${domain}/${path}`.length > MAX_NAME_LENGTH) {
    fail(`repository name longer than ${MAX_NAME_LENGTH} characters`);
  }

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { domain, path, tag, digest };
}

/** The full repository name, `docker.io/library/debian`. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The name Docker shows: `debian` for official images, `user/app` for other Docker Hub ones. */
export function familiarName(ref: Pick<Reference, 'domain' | 'path'>): string {
  if (ref.domain !== DOCKER_HUB_DOMAIN) return `${ref.domain}/${ref.path}`;
  return ref.path.startsWith('library/') ? ref.path.slice('library/'.length) : ref.path;
}

/** The full normalized reference, `docker.io/library/debian:latest` or `NAME@sha256:...`. */
export function formatReference(ref: Reference): string {
  return (
    repositoryName(ref) +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest !== undefined ? `@${ref.digest}` : '')
  );
}

/** The reference in Docker's short form, `debian:latest`. */
export function familiarReference(ref: Reference): string {
  return (
    familiarName(ref) +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest !== undefined ? `@${ref.digest}` : '')
  );
}

/** The host that serves the registry API for `domain`. */
export function registryHost(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_REGISTRY : domain;
}
