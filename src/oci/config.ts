/**
 * The parts of the OCI runtime specification's config.json (version 1.x) that noah-oci reads,
 * and their validation: each error names the field, as `process.args[0]`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Rlimit } from '../runtime/limits';
import { OciError } from './errors';

export type { Rlimit } from '../runtime/limits';

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

export interface ProcessSpec {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env?: string[];
  cwd: string;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  // Accepted and not applied: a translator process has no Linux capabilities or LSM label.
  capabilities?: Record<string, string[]>;
  apparmorProfile?: string;
  selinuxLabel?: string;
  oomScoreAdj?: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number; // seconds
}

export const hookNames = [
  'prestart',
  'createRuntime',
  'createContainer',
  'startContainer',
  'poststart',
  'poststop',
] as const;
export type HookName = (typeof hookNames)[number];

export interface Spec {
  ociVersion: string;
  process?: ProcessSpec;
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: Mount[];
  hooks?: Partial<Record<HookName, Hook[]>>;
  annotations?: Record<string, string>;
  linux?: Record<string, unknown>;
}

/** The resource names setrlimit takes, as config.json spells them. */
export const rlimitNames = [
  'RLIMIT_AS',
  'RLIMIT_CORE',
  'RLIMIT_CPU',
  'RLIMIT_DATA',
  'RLIMIT_FSIZE',
  'RLIMIT_LOCKS',
  'RLIMIT_MEMLOCK',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_NOFILE',
  'RLIMIT_NPROC',
  'RLIMIT_RSS',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
  'RLIMIT_SIGPENDING',
  'RLIMIT_STACK',
];

type Json = unknown;

function invalid(field: string, expected: string): never {
  throw new OciError(`invalid config.json: ${field} must be ${expected}`);
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkObject(value: Json, field: string): Record<string, Json> {
  if (!isObject(value)) invalid(field, 'an object');
  return value;
}

function checkString(value: Json, field: string): string {
  if (typeof value !== 'string') invalid(field, 'a string');
  return value;
}

function checkOptionalString(value: Json, field: string): void {
  if (value !== undefined) checkString(value, field);
}

function checkBoolean(value: Json, field: string): void {
  if (value !== undefined && typeof value !== 'boolean') invalid(field, 'true or false');
}

/** Checks a whole number from 0 to 2^64-1 (JSON numbers above 2^53 lose precision). */
function checkCount(value: Json, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    invalid(field, 'a non-negative integer');
  }
  return value;
}

function checkStrings(value: Json, field: string): string[] {
  if (!Array.isArray(value)) invalid(field, 'an array of strings');
  value.forEach((item, index) => checkString(item, `${field}[${index}]`));
  return value as string[];
}

function checkAbsolute(value: Json, field: string): string {
  const text = checkString(value, field);
  if (!text.startsWith('/')) invalid(field, `an absolute path, not "${text}"`);
  return text;
}

function checkEnv(value: Json, field: string): void {
  if (value === undefined) return;
  checkStrings(value, field).forEach((entry, index) => {
    if (!entry.includes('=')) invalid(`${field}[${index}]`, `NAME=VALUE, not "${entry}"`);
  });
}

function checkUser(value: Json, field: string): void {
  const user = checkObject(value, field);
  checkCount(user.uid, `${field}.uid`);
  checkCount(user.gid, `${field}.gid`);
  if (user.umask !== undefined) checkCount(user.umask, `${field}.umask`);
  if (user.additionalGids !== undefined) {
    if (!Array.isArray(user.additionalGids)) invalid(`${field}.additionalGids`, 'an array');
    user.additionalGids.forEach((gid, i) => checkCount(gid, `${field}.additionalGids[${i}]`));
  }
}

function checkRlimits(value: Json, field: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) invalid(field, 'an array');
  const seen = new Set<string>();
  value.forEach((item, index) => {
    const entry = `${field}[${index}]`;
    const limit = checkObject(item, entry);
    const type = checkString(limit.type, `${entry}.type`);
    if (!rlimitNames.includes(type)) invalid(`${entry}.type`, `an RLIMIT_ name, not "${type}"`);
    if (seen.has(type)) invalid(`${entry}.type`, `unique, but "${type}" is repeated`);
    seen.add(type);
    const soft = checkCount(limit.soft, `${entry}.soft`);
    const hard = checkCount(limit.hard, `${entry}.hard`);
    if (soft > hard) invalid(`${entry}.soft`, `at most the hard limit ${hard}`);
  });
}

/** Checks a process object: config.json's `process`, or the file of `exec --process`. */
export function checkProcess(value: Json, field: string): ProcessSpec {
  const spec = checkObject(value, field);
  checkBoolean(spec.terminal, `${field}.terminal`);
  if (spec.consoleSize !== undefined) {
    const size = checkObject(spec.consoleSize, `${field}.consoleSize`);
    checkCount(size.height, `${field}.consoleSize.height`);
    checkCount(size.width, `${field}.consoleSize.width`);
  }
  checkUser(spec.user, `${field}.user`);
  const args = checkStrings(spec.args, `${field}.args`);
  if (args.length === 0) invalid(`${field}.args`, 'a non-empty array');
  checkEnv(spec.env, `${field}.env`);
  checkAbsolute(spec.cwd, `${field}.cwd`);
  checkRlimits(spec.rlimits, `${field}.rlimits`);
  checkBoolean(spec.noNewPrivileges, `${field}.noNewPrivileges`);
  return spec as unknown as ProcessSpec;
}

function checkMounts(value: Json): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) invalid('mounts', 'an array');
  value.forEach((item, index) => {
    const field = `mounts[${index}]`;
    const mount = checkObject(item, field);
    checkAbsolute(mount.destination, `${field}.destination`);
    checkOptionalString(mount.type, `${field}.type`);
    checkOptionalString(mount.source, `${field}.source`);
    if (mount.options !== undefined) checkStrings(mount.options, `${field}.options`);
  });
}

function checkHooks(value: Json): void {
  if (value === undefined) return;
  const hooks = checkObject(value, 'hooks');
  for (const [name, list] of Object.entries(hooks)) {
    if (!(hookNames as readonly string[]).includes(name)) continue; // unknown hooks are ignored
    if (!Array.isArray(list)) invalid(`hooks.${name}`, 'an array');
    list.forEach((item, index) => {
      const field = `hooks.${name}[${index}]`;
      const hook = checkObject(item, field);
      checkAbsolute(hook.path, `${field}.path`);
      if (hook.args !== undefined) checkStrings(hook.args, `${field}.args`);
      checkEnv(hook.env, `${field}.env`);
      if (hook.timeout !== undefined) {
        const timeout = checkCount(hook.timeout, `${field}.timeout`);
        if (timeout === 0) invalid(`${field}.timeout`, 'greater than zero');
      }
    });
  }
}

function checkAnnotations(value: Json): void {
  if (value === undefined) return;
  const annotations = checkObject(value, 'annotations');
  for (const [key, entry] of Object.entries(annotations)) {
    checkString(entry, `annotations["${key}"]`);
  }
}

/** Checks a parsed config.json and returns it typed. A config without `process` is valid. */
export function checkSpec(value: Json): Spec {
  const spec = checkObject(value, 'the top level');
  checkString(spec.ociVersion, 'ociVersion');
  const root = checkObject(spec.root, 'root');
  checkString(root.path, 'root.path');
  if (root.path === '') invalid('root.path', 'a non-empty path');
  checkBoolean(root.readonly, 'root.readonly');
  if (spec.process !== undefined) checkProcess(spec.process, 'process');
  checkOptionalString(spec.hostname, 'hostname');
  checkMounts(spec.mounts);
  checkHooks(spec.hooks);
  checkAnnotations(spec.annotations);
  if (spec.linux !== undefined) checkObject(spec.linux, 'linux');
  return spec as unknown as Spec;
}

/** Reads and checks BUNDLE/config.json; returns it with the absolute bundle and root paths. */
export function loadBundle(bundle: string): { spec: Spec; bundle: string; rootfs: string } {
  const directory = path.resolve(bundle);
  if (!fs.existsSync(directory)) throw new OciError(`bundle ${directory} not found`);
  const file = path.join(directory, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OciError(`bundle ${directory} has no config.json`);
    throw new OciError(`read ${file}: ${(error as Error).message}`);
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new OciError(`invalid config.json: ${(error as Error).message}`);
  }
  const spec = checkSpec(parsed);
  const rootfs = path.resolve(directory, spec.root.path);
  if (!fs.statSync(rootfs, { throwIfNoEntry: false })?.isDirectory()) {
    throw new OciError(`invalid config.json: root.path ${rootfs} is not a directory`);
  }
  return { spec, bundle: directory, rootfs };
}
