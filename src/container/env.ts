import * as fs from 'node:fs';
import { ContainerError } from './errors';

/** The PATH Docker gives a container whose image sets none. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where a container's environment comes from, lowest precedence first. */
export interface EnvSources {
  hostname?: string; // sets HOSTNAME, which the image and the user may override
  home: string; // HOME when nothing else sets it
  imageEnv: string[];
  envFiles: string[]; // --env-file paths, read in order
  values: string[]; // -e values
}

/**
 * Builds the container's environment as Docker does: PATH and HOSTNAME, then the image's Env,
 * then --env-file lines, then -e values, and HOME from the user's passwd entry unless set.
 * In a file or -e, `NAME=VALUE` sets and a bare `NAME` copies the host's value when it has one.
 */
export function buildEnv(sources: EnvSources): string[] {
  const env = new Map<string, string>([['PATH', DEFAULT_PATH]]);
  if (sources.hostname !== undefined) env.set('HOSTNAME', sources.hostname);
  for (const entry of sources.imageEnv) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const userValues = [...sources.envFiles.flatMap(readEnvFile), ...sources.values];
  for (const value of userValues) applyValue(env, value);
  if (!env.has('HOME')) env.set('HOME', sources.home);
  return [...env].map(([name, value]) => `${name}=${value}`);
}

function applyValue(env: Map<string, string>, value: string): void {
  const eq = value.indexOf('=');
  if (eq === 0 || value === '') throw new ContainerError(`invalid environment variable: ${value}`);
  if (eq > 0) {
    env.set(value.slice(0, eq), value.slice(eq + 1));
  } else if (process.env[value] !== undefined) {
    env.set(value, process.env[value]!);
  }
}

/** The variables of an --env-file: one per line, with blank lines and `#` comments skipped. */
export function readEnvFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ContainerError(`--env-file ${file}: ${(error as Error).message}`);
  }
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, '').replace(/^\s+/, ''))
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** Applies exec's -e values on top of a container's environment. */
export function overrideEnv(base: string[], values: string[]): string[] {
  const env = new Map<string, string>();
  for (const entry of base) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const value of values) applyValue(env, value);
  return [...env].map(([name, value]) => `${name}=${value}`);
}
