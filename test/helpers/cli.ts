import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** The result of one `noah` command run as a child process. */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/noah ARGS...` as a user would, with the sanitizer build of the translator. */
export function runNoah(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): CliResult {
  const result = spawnSync(path.join(repoRoot, 'bin', 'noah'), args, {
    encoding: 'utf8',
    input: options.input,
    env: { ...noahEnv(), ...options.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Returns the environment of a noah command in tests: the AddressSanitizer translator, and no
 * spare container roots, whose detached builders would outlive a test's store (test/container/
 * spare.test.ts turns them on).
 */
export function noahEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NOAH_TRANSLATOR: asanTranslator(), NOAH_SPARE_ROOTS: '0' };
}

/** The AddressSanitizer build that `npm test` makes before jest starts. */
export function asanTranslator(): string {
  return path.join(repoRoot, 'build', 'asan', 'noah-translator');
}
