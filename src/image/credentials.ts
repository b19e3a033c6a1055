import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuthenticationError } from './errors';
import { DOCKER_HUB_DOMAIN } from './reference';
import { isErrno, writeFileAtomic } from './store';

/**
 * Registry credentials from Docker's client config, `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`: `auths` entries (base64 "user:password"), and the `credsStore` and
 * `credHelpers` programs `docker-credential-NAME`, spoken to over stdin and stdout as the
 * docker-credential-helpers protocol defines (`get`, `store`, `erase`).
 */

export interface Credentials {
  username: string;
  password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** The key Docker uses for Docker Hub in config.json. */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(): string {
  const dir = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

async function readDockerConfig(): Promise<DockerConfig> {
  try {
    return JSON.parse(await fsp.readFile(dockerConfigPath(), 'utf8')) as DockerConfig;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return {};
    throw new AuthenticationError(`${dockerConfigPath()}: ${(error as Error).message}`);
  }
}

/** Returns the config.json key for a registry domain. */
function configKey(domain: string): string {
  return domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_KEY : domain;
}

/** "https://host:5000/v1/" and "host:5000" both name host:5000. */
function keyDomain(key: string): string {
  if (key === DOCKER_HUB_KEY || key === 'index.docker.io' || key === 'docker.io') {
    return DOCKER_HUB_DOMAIN;
  }
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}

function helperFor(config: DockerConfig, domain: string): string | undefined {
  for (const [key, helper] of Object.entries(config.credHelpers ?? {})) {
    if (keyDomain(key) === domain) return helper;
  }
  return config.credsStore || undefined;
}

/** Runs `docker-credential-HELPER ACTION` with `input` on stdin and returns its stdout. */
function runHelper(helper: string, action: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const program = `docker-credential-${helper}`;
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) =>
      reject(new AuthenticationError(`credential helper ${program} failed: ${error.message}`)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new HelperFailure(program, (stdout + stderr).trim()));
    });
    child.stdin.end(input);
  });
}

class HelperFailure extends AuthenticationError {
  constructor(
    readonly program: string,
    readonly output: string,
  ) {
    super(`credential helper ${program} failed: ${output}`);
  }
}

/** Credentials for `domain`, or undefined when none are configured. */
export async function lookupCredentials(domain: string): Promise<Credentials | undefined> {
  const config = await readDockerConfig();
  const helper = helperFor(config, domain);
  if (helper !== undefined) {
    try {
      const output = JSON.parse(await runHelper(helper, 'get', configKey(domain))) as {
        Username?: string;
        Secret?: string;
      };
      if (output.Secret) return { username: output.Username ?? '', password: output.Secret };
    } catch (error) {
      // The protocol reports a missing entry as a failure with this text.
      if (error instanceof HelperFailure && /credentials not found/i.test(error.output)) {
        return undefined;
      }
      throw error;
    }
    return undefined;
  }
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (keyDomain(key) !== domain) continue;
    if (entry.auth) {
      const text = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon < 0) {
        throw new AuthenticationError(`${dockerConfigPath()}: invalid auth entry for ${key}`);
      }
      return { username: text.slice(0, colon), password: text.slice(colon + 1) };
    }
    if (entry.username && entry.password) {
      return { username: entry.username, password: entry.password };
    }
  }
  return undefined;
}

/** Saves credentials for `domain` through its helper, or in config.json `auths`. */
export async function saveCredentials(domain: string, credentials: Credentials): Promise<string> {
  const config = await readDockerConfig();
  const helper = helperFor(config, domain);
  if (helper !== undefined) {
    const input = JSON.stringify({
      ServerURL: configKey(domain),
      Username: credentials.username,
      Secret: credentials.password,
    });
    await runHelper(helper, 'store', input);
    return `docker-credential-${helper}`;
  }
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  config.auths = { ...(config.auths ?? {}), [configKey(domain)]: { auth } };
  await writeDockerConfig(config);
  return dockerConfigPath();
}

/** Removes saved credentials for `domain`; returns whether there were any. */
export async function eraseCredentials(domain: string): Promise<boolean> {
  const config = await readDockerConfig();
  const helper = helperFor(config, domain);
  if (helper !== undefined) {
    try {
      await runHelper(helper, 'erase', configKey(domain));
      return true;
    } catch (error) {
      if (error instanceof HelperFailure && /not found/i.test(error.output)) return false;
      throw error;
    }
  }
  const keys = Object.keys(config.auths ?? {}).filter((key) => keyDomain(key) === domain);
  if (keys.length === 0) return false;
  for (const key of keys) delete config.auths![key];
  await writeDockerConfig(config);
  return true;
}

async function writeDockerConfig(config: DockerConfig): Promise<void> {
  const file = dockerConfigPath();
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFileAtomic(file, JSON.stringify(config, null, '\t') + '\n', temporary, 0o600);
}
