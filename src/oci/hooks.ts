/**
 * Lifecycle hooks of config.json: each runs as a host program with the container's state as
 * JSON on its stdin, in the order listed. The runtime does not enter any namespace, since a
 * translator container has none, so createContainer and startContainer hooks also run in the
 * host's view of the file system.
 */
import { spawn } from 'node:child_process';

import { Hook, HookName } from './config';
import { OciError } from './errors';
import { OciState } from './state';

function runHook(name: HookName, hook: Hook, state: OciState): Promise<void> {
  const [argv0, ...args] = hook.args ?? [hook.path];
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, args, {
      argv0,
      env: Object.fromEntries((hook.env ?? []).map((entry) => splitEnv(entry))),
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin!.on('error', () => {}); // a hook may exit without reading the state
    child.stdin!.end(JSON.stringify(state));
    const timer =
      hook.timeout === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), hook.timeout * 1000);
    const fail = (cause: string) =>
      reject(new OciError(`${name} hook ${hook.path} failed: ${cause}${detail(stderr)}`));
    child.on('error', (error) => fail(error.message));
    child.on('exit', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (code === 0) resolve();
      else if (signal === 'SIGKILL' && hook.timeout !== undefined) {
        fail(`timed out after ${hook.timeout} s`);
      } else fail(signal !== null ? `killed by ${signal}` : `exit status ${code}`);
    });
  });
}

function detail(stderr: string): string {
  const text = stderr.trim();
  return text === '' ? '' : `: ${text}`;
}

function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return [entry.slice(0, eq), entry.slice(eq + 1)];
}

/**
 * Runs the hooks `name` one after the other. The first failure stops the rest and throws,
 * unless `warn` is given: then each failure goes to `warn` and the next hook runs, as the
 * specification requires for poststart and poststop.
 */
export async function runHooks(
  hooks: Partial<Record<HookName, Hook[]>>,
  name: HookName,
  state: OciState,
  warn?: (message: string) => void,
): Promise<void> {
  for (const hook of hooks[name] ?? []) {
    try {
      await runHook(name, hook, state);
    } catch (error) {
      if (warn === undefined) throw error;
      warn((error as Error).message);
    }
  }
}
