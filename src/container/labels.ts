import * as fs from 'node:fs';
import { ContainerError } from './errors';

/**
 * Reads a --label-file: one KEY=VALUE a line, with blank lines and lines starting with #
 * skipped, as Docker reads it.
 */
export function readLabelFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ContainerError(`--label-file ${file}: ${(error as Error).message}`);
  }
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Builds a container's labels: the image's, then those of the label files, then the -l
 * values, each overriding the one before. A value without "=" is a key with an empty value,
 * as in Docker.
 */
export function buildLabels(
  imageLabels: Record<string, string>,
  labelFiles: string[],
  values: string[],
): Record<string, string> {
  const labels: Record<string, string> = { ...imageLabels };
  for (const entry of [...labelFiles.flatMap(readLabelFile), ...values]) {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (key === '') throw new ContainerError(`invalid label "${entry}": the key is empty`);
    labels[key] = eq < 0 ? '' : entry.slice(eq + 1);
  }
  return labels;
}

/** Returns the Labels of an image's config JSON, or {} when it has none. */
export function imageLabels(imageConfig: Buffer): Record<string, string> {
  const parsed = JSON.parse(imageConfig.toString('utf8')) as {
    config?: { Labels?: Record<string, string> | null };
  };
  return parsed.config?.Labels ?? {};
}
