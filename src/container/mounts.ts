import * as fs from 'node:fs';
import * as path from 'node:path';
import { TranslatorMount } from '../runtime/translator';
import { ContainerError } from './errors';

/** Mount requests from `-v`, `--mount` and `--tmpfs`, before tmpfs folders exist. */
export interface MountRequest {
  type: 'bind' | 'tmpfs';
  source: string; // absolute host path for bind, "" for tmpfs
  target: string;
  readonly: boolean;
  mode?: number; // permission bits of a tmpfs folder, from tmpfs-mode or mode=
}

/** A mount as the container record stores it: the translator's entry and a tmpfs mode. */
export interface ContainerMount extends TranslatorMount {
  mode?: number; // permission bits of the tmpfs folder; 0o1777 when absent
}

/**
 * -v options that have no effect here but that Docker accepts. z and Z relabel the source for
 * SELinux, and noah sets no SELinux labels. cached, delegated and consistent tune file sharing
 * on macOS, and Docker on Linux ignores them.
 */
const IGNORED_VOLUME_OPTIONS = new Set(['z', 'Z', 'cached', 'delegated', 'consistent']);

/**
 * Mount propagation modes that Docker accepts. They have no effect because every mount is in
 * the translator's single mount table, with no other mount namespace to propagate to or from.
 */
const PROPAGATION_MODES = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/**
 * Parses `-v HOST:CONTAINER[:OPTIONS]`. HOST must be absolute, since named volumes are not
 * supported, and is created as a folder when missing, as Docker does for -v.
 */
export function parseVolume(spec: string): MountRequest {
  const parts = spec.split(':');
  if (parts.length < 2 || parts.length > 3) {
    throw new ContainerError(`invalid volume specification "${spec}": use HOST:CONTAINER[:ro]`);
  }
  const [source, target, options = ''] = parts;
  checkNoComma(source, spec);
  if (!path.isAbsolute(source)) {
    throw new ContainerError(
      `invalid volume specification "${spec}": the host path must be absolute ` +
        '(named volumes are not supported)',
    );
  }
  let readonly = false;
  for (const option of options.split(',').filter((o) => o !== '')) {
    if (option === 'ro') readonly = true;
    else if (option === 'rw') readonly = false;
    else if (!IGNORED_VOLUME_OPTIONS.has(option) && !PROPAGATION_MODES.has(option)) {
      throw new ContainerError(
        `invalid volume option "${option}" in "${spec}": use ro or rw, optionally with ` +
          'z, Z, cached, delegated, consistent or a propagation mode such as rprivate',
      );
    }
  }
  if (!fs.existsSync(source)) {
    try {
      fs.mkdirSync(source, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw new ContainerError(
        `cannot create volume source ${source}: ${(error as Error).message}`,
      );
    }
  }
  return {
    type: 'bind',
    source: fs.realpathSync(source),
    target: checkTarget(target, spec),
    readonly,
  };
}

/**
 * Parses `--mount type=bind|tmpfs,source=...,target=...[,readonly]` with Docker's key names
 * and aliases, bind-propagation for bind and tmpfs-size and tmpfs-mode for tmpfs. Unlike -v,
 * a bind source that does not exist is an error.
 */
export function parseMount(spec: string): MountRequest {
  let type = 'volume'; // Docker's default type, which noah does not support
  let source = '';
  let target = '';
  let readonly = false;
  let propagation: string | undefined;
  let tmpfsOption = false;
  let mode: number | undefined;
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? undefined : field.slice(eq + 1);
    switch (key) {
      case 'type':
        type = value ?? '';
        break;
      case 'source':
      case 'src':
        source = value ?? '';
        break;
      case 'target':
      case 'destination':
      case 'dst':
        target = value ?? '';
        break;
      case 'readonly':
      case 'ro':
        readonly = parseBoolean(value, spec);
        break;
      case 'bind-propagation':
        propagation = value ?? '';
        if (!PROPAGATION_MODES.has(propagation)) {
          throw new ContainerError(
            `invalid --mount "${spec}": bind-propagation must be one of ` +
              [...PROPAGATION_MODES].join(', '),
          );
        }
        break;
      case 'tmpfs-size':
        // TODO: tmpfs-size is checked and then ignored, because the folder behind the mount
        // is on the store's file system, without a size limit of its own.
        checkTmpfsSize(value ?? '', spec);
        tmpfsOption = true;
        break;
      case 'tmpfs-mode':
        mode = parseMode(value ?? '', spec);
        tmpfsOption = true;
        break;
      default:
        throw new ContainerError(`invalid field "${key}" in --mount "${spec}"`);
    }
  }
  if (type !== 'bind' && type !== 'tmpfs') {
    throw new ContainerError(`invalid --mount "${spec}": type must be bind or tmpfs`);
  }
  if (target === '') throw new ContainerError(`invalid --mount "${spec}": target is missing`);
  if (type === 'tmpfs') {
    if (source !== '') {
      throw new ContainerError(`invalid --mount "${spec}": a tmpfs mount takes no source`);
    }
    if (propagation !== undefined) {
      throw new ContainerError(`invalid --mount "${spec}": bind-propagation is for type=bind`);
    }
    return { type, source: '', target: checkTarget(target, spec), readonly, mode };
  }
  if (tmpfsOption) {
    throw new ContainerError(
      `invalid --mount "${spec}": tmpfs-size and tmpfs-mode are for type=tmpfs`,
    );
  }
  if (source === '') throw new ContainerError(`invalid --mount "${spec}": source is missing`);
  if (!path.isAbsolute(source)) {
    throw new ContainerError(`invalid --mount "${spec}": the source must be an absolute path`);
  }
  if (!fs.existsSync(source)) {
    throw new ContainerError(
      `invalid mount config for type "bind": bind source path does not exist: ${source}`,
    );
  }
  return { type, source: fs.realpathSync(source), target: checkTarget(target, spec), readonly };
}

/** Parses `--tmpfs PATH[:OPTIONS]`; of the options only `ro` and `mode=` have an effect. */
export function parseTmpfs(spec: string): MountRequest {
  const colon = spec.indexOf(':');
  const target = colon < 0 ? spec : spec.slice(0, colon);
  const options = colon < 0 ? [] : spec.slice(colon + 1).split(',');
  // TODO: size=, noexec and the other tmpfs options are accepted and ignored, because the
  // folder behind the mount is on the store's file system, without a size limit of its own.
  const modeOption = options.filter((o) => o.startsWith('mode=')).pop();
  return {
    type: 'tmpfs',
    source: '',
    target: checkTarget(target, spec),
    readonly: options.includes('ro'),
    mode: modeOption === undefined ? undefined : parseMode(modeOption.slice(5), spec),
  };
}

/** Checks a tmpfs size as Docker reads one: bytes, or a number with a unit such as 64m or 1g. */
function checkTmpfsSize(value: string, spec: string): void {
  if (!/^[0-9]+(\.[0-9]+)?\s*([kmgtp]i?b?|b)?$/i.test(value)) {
    throw new ContainerError(
      `invalid --mount "${spec}": tmpfs-size "${value}" is not a size such as 65536 or 64m`,
    );
  }
}

/** Parses an octal permission mode such as 1770, as tmpfs-mode and mode= take it. */
function parseMode(value: string, spec: string): number {
  const mode = /^[0-7]{1,4}$/.test(value) ? parseInt(value, 8) : NaN;
  if (Number.isNaN(mode)) {
    throw new ContainerError(
      `invalid mount "${spec}": the mode "${value}" is not an octal mode such as 1777`,
    );
  }
  return mode;
}

function parseBoolean(value: string | undefined, spec: string): boolean {
  if (value === undefined || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new ContainerError(`invalid --mount "${spec}": readonly must be true or false`);
}

/** Rejects a path with a comma, which the translator's --mount value cannot carry. */
function checkNoComma(value: string, spec: string): void {
  if (value.includes(',')) {
    throw new ContainerError(`invalid mount "${spec}": the path ${value} contains a comma`);
  }
}

function checkTarget(target: string, spec: string): string {
  checkNoComma(target, spec);
  if (!path.isAbsolute(target)) {
    throw new ContainerError(`invalid mount "${spec}": the container path must be absolute`);
  }
  const normal = path.posix.normalize(target).replace(/(.)\/+$/, '$1');
  if (normal === '/') throw new ContainerError(`invalid mount "${spec}": the target cannot be /`);
  return normal;
}

/** Rejects two mounts on one container path, as Docker does. */
export function checkDuplicateTargets(requests: MountRequest[]): void {
  const seen = new Set<string>();
  for (const request of requests) {
    if (seen.has(request.target)) {
      throw new ContainerError(`duplicate mount point: ${request.target}`);
    }
    seen.add(request.target);
  }
}

/**
 * The translator's mount table for `requests`, with each tmpfs backed by the folder
 * tmpfs/N of the container folder `finalDir`.
 */
export function translatorMounts(requests: MountRequest[], finalDir: string): ContainerMount[] {
  if (finalDir.includes(',')) {
    throw new ContainerError(
      `the store path ${finalDir} contains a comma, which mounts cannot carry`,
    );
  }
  return requests.map((request, index) => ({
    type: request.type,
    source: request.type === 'tmpfs' ? path.join(finalDir, 'tmpfs', String(index)) : request.source,
    target: request.target,
    readonly: request.readonly,
    ...(request.mode === undefined ? {} : { mode: request.mode }),
  }));
}

/**
 * Empties and re-creates the folders behind the tmpfs mounts, with their modes (Docker's
 * default 1777 when none is set), because a tmpfs starts empty.
 */
export function resetTmpfsFolders(mounts: ContainerMount[]): void {
  for (const mount of mounts) {
    if (mount.type !== 'tmpfs') continue;
    fs.rmSync(mount.source, { recursive: true, force: true });
    fs.mkdirSync(mount.source, { recursive: true });
    fs.chmodSync(mount.source, mount.mode ?? 0o1777);
  }
}
