import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import type * as Undici from 'undici';

/**
 * Loads undici on first use: requiring it takes about 85 ms here, which every noah command
 * would pay at start-up though most never reach a registry.
 */
function undici(): typeof Undici {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('undici') as typeof Undici;
}

const request: typeof Undici.request = (url, options) => undici().request(url, options);
import { Credentials, lookupCredentials } from './credentials';
import { AuthenticationError, RegistryError } from './errors';
import { registryHost } from './reference';

/**
 * An HTTP client for one registry, as the OCI distribution spec describes it: the `/v2/`
 * ping, `WWW-Authenticate` challenges (Bearer tokens per scope, reused until they expire,
 * and Basic), redirects, and retries with back-off on 429, 5xx and dropped connections.
 *
 * HTTPS is used with the system CAs plus `certs.d/HOST/*.crt` under the noah home (Docker's
 * `certs.d` layout, with `client.cert`/`client.key` for client certificates). Plain HTTP is
 * tried only for localhost, 127.0.0.0/8, ::1 and registries in the insecure list, and only
 * when the server does not speak TLS; a certificate that fails verification is an error.
 */

export interface RegistryOptions {
  home: string; // noah home, for certs.d
  insecureRegistries?: string[];
  credentials?: Credentials; // overrides config.json lookup (noah login)
  retries?: number;
  retryDelayMs?: number;
  log?: (message: string) => void;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

interface CachedToken {
  token: string;
  expires: number;
}

/** System CA bundles on common distributions; the first that exists is used. */
const SYSTEM_CA_FILES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/ssl/cert.pem',
];

const MAX_REDIRECTS = 5;

export class RegistryClient {
  readonly host: string;
  private scheme: 'https' | 'http' | undefined;
  private readonly dispatcher: Agent;
  private readonly tokens = new Map<string, CachedToken>();
  private challenge: Challenge | undefined;
  private credentials: Credentials | undefined | null = null; // null: not looked up yet

  constructor(
    readonly domain: string,
    private readonly options: RegistryOptions,
  ) {
    this.host = registryHost(domain);
    if (options.credentials !== undefined) this.credentials = options.credentials;
    this.dispatcher = new (undici().Agent)({ connect: tlsOptions(options.home, this.host) });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** Returns whether plain HTTP is allowed for this registry. */
  private allowsHttp(): boolean {
    const hostname = this.host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (hostname === 'localhost' || hostname === '::1') return true;
    if (net.isIPv4(hostname) && hostname.startsWith('127.')) return true;
    return (this.options.insecureRegistries ?? []).includes(this.host);
  }

  /** GET /v2/: finds the scheme and the authentication challenge. */
  async ping(): Promise<void> {
    const response = await this.send('GET', '/v2/', {}, undefined);
    await response.body.dump();
    if (response.status !== 200 && response.status !== 401) {
      throw new RegistryError(
        `registry ${this.host} returned HTTP ${response.status} for /v2/: check that it is an OCI registry`,
        response.status,
      );
    }
  }

  /**
   * Sends an authenticated request for repository `repository` (pull scope), following
   * redirects and retrying as described above. The caller consumes or dumps the body.
   */
  async fetch(
    method: 'GET' | 'HEAD',
    pathname: string,
    repository: string | undefined,
    headers: Record<string, string> = {},
  ): Promise<RegistryResponse> {
    const scope = repository === undefined ? undefined : `repository:${repository}:pull`;
    let response = await this.send(method, pathname, headers, scope);
    if (response.status === 401) {
      await response.body.dump();
      this.challenge = parseChallenge(headerText(response.headers['www-authenticate']));
      if (scope !== undefined) this.tokens.delete(scope);
      response = await this.send(method, pathname, headers, scope, true);
      if (response.status === 401) {
        await response.body.dump();
        const credentials = await this.lookupCredentials();
        throw new AuthenticationError(
          credentials === undefined
            ? `registry ${this.host} needs authentication for ${repository ?? '/v2/'}: ` +
                `run "noah login ${this.domain}"`
            : `registry ${this.host} rejected the credentials for ${repository ?? '/v2/'} ` +
                `(access denied or repository not found): check them with "noah login ${this.domain}"`,
          401,
        );
      }
    }
    return response;
  }

  private async lookupCredentials(): Promise<Credentials | undefined> {
    if (this.credentials === null) this.credentials = await lookupCredentials(this.domain);
    return this.credentials;
  }

  /** Builds the Authorization header for the known challenge, fetching a token when needed. */
  private async authorization(scope: string | undefined): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = await this.lookupCredentials();
      if (credentials === undefined) return undefined;
      return 'Basic ' + basicToken(credentials);
    }
    if (challenge.scheme !== 'bearer') {
      throw new AuthenticationError(
        `registry ${this.host} asks for unsupported authentication "${challenge.scheme}"`,
      );
    }
    const key = scope ?? '';
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expires > Date.now()) return `Bearer ${cached.token}`;
    const token = await this.requestToken(challenge, scope);
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  /** Gets a Bearer token from the challenge's realm for `scope`, with credentials if any. */
  private async requestToken(
    challenge: Challenge,
    scope: string | undefined,
  ): Promise<CachedToken> {
    const realm = challenge.params.realm;
    if (realm === undefined) {
      throw new AuthenticationError(`registry ${this.host} sent a Bearer challenge without realm`);
    }
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const scopes = new Set<string>();
    if (challenge.params.scope) scopes.add(challenge.params.scope);
    if (scope !== undefined) scopes.add(scope);
    for (const value of scopes) url.searchParams.append('scope', value);
    const credentials = await this.lookupCredentials();
    const headers: Record<string, string> = {};
    if (credentials !== undefined) {
      headers.authorization = 'Basic ' + basicToken(credentials);
      url.searchParams.set('account', credentials.username);
    }
    const started = Date.now();
    const response = await this.retrying(`token from ${url.origin}`, () =>
      request(url, { method: 'GET', headers, dispatcher: this.dispatcher }),
    );
    const text = await response.body.text();
    if (response.statusCode === 401 || response.statusCode === 403) {
      throw new AuthenticationError(
        `token server ${url.origin} rejected the credentials for ${this.host} ` +
          `(HTTP ${response.statusCode}): check them with "noah login ${this.domain}"`,
        response.statusCode,
      );
    }
    if (response.statusCode !== 200) {
      throw new AuthenticationError(
        `token server ${url.origin} returned HTTP ${response.statusCode}: ${text.slice(0, 200)}`,
        response.statusCode,
      );
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new AuthenticationError(`token server ${url.origin} sent invalid JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new AuthenticationError(`token server ${url.origin} sent no token`);
    // The distribution spec says a token without expires_in lasts 60 seconds.
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 60;
    return { token, expires: started + Math.max(lifetime - 10, 1) * 1000 };
  }

  /** One request with authorization, redirects and retries; `forceAuth` after a challenge. */
  private async send(
    method: 'GET' | 'HEAD',
    pathname: string,
    headers: Record<string, string>,
    scope: string | undefined,
    forceAuth = false,
  ): Promise<RegistryResponse> {
    const requestHeaders: Record<string, string> = { ...headers };
    if (this.challenge !== undefined || forceAuth) {
      const authorization = await this.authorization(scope);
      if (authorization !== undefined) requestHeaders.authorization = authorization;
    }
    let url = new URL(pathname, `${await this.resolveScheme()}://${this.host}`);
    for (let redirects = 0; ; redirects++) {
      const response = await this.retrying(`${method} ${url}`, () =>
        request(url, { method, headers: requestHeaders, dispatcher: this.dispatcher }),
      );
      const location = headerText(response.headers.location);
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        await response.body.dump();
        if (redirects >= MAX_REDIRECTS) {
          throw new RegistryError(`${method} ${pathname}: more than ${MAX_REDIRECTS} redirects`);
        }
        const next = new URL(location, url);
        // Credentials for the registry are not sent to blob storage on another host.
        if (next.host !== url.host) delete requestHeaders.authorization;
        url = next;
        continue;
      }
      return { status: response.statusCode, headers: response.headers, body: response.body };
    }
  }

  /** Picks https, or http for a registry that allows it and does not speak TLS. */
  private async resolveScheme(): Promise<'https' | 'http'> {
    if (this.scheme !== undefined) return this.scheme;
    if (!this.allowsHttp()) return (this.scheme = 'https');
    try {
      const response = await request(`https://${this.host}/v2/`, { dispatcher: this.dispatcher });
      await response.body.dump();
      this.scheme = 'https';
    } catch (error) {
      if (isCertificateError(error)) throw this.describeError(error, 'https');
      this.scheme = 'http';
    }
    return this.scheme;
  }

  /**
   * Runs `attempt`, retrying 429, 5xx and connection failures with exponential back-off. A
   * host name that does not resolve fails at once, because a retry within seconds rarely
   * fixes DNS and a mistyped image name would otherwise wait for every back-off.
   */
  async retrying(
    what: string,
    attempt: () => Promise<Dispatcher.ResponseData>,
  ): Promise<Dispatcher.ResponseData> {
    const retries = this.options.retries ?? 4;
    const baseDelay = this.options.retryDelayMs ?? 250;
    for (let attemptNumber = 0; ; attemptNumber++) {
      let response: Dispatcher.ResponseData | undefined;
      let failure: unknown;
      try {
        response = await attempt();
      } catch (error) {
        if (isCertificateError(error)) throw this.describeError(error, this.scheme);
        if (isLookupError(error)) throw this.describeError(error, this.scheme, what);
        failure = error;
      }
      const retryable =
        response === undefined || response.statusCode === 429 || response.statusCode >= 500;
      if (!retryable) return response!;
      if (attemptNumber >= retries) {
        if (response !== undefined) return response;
        throw this.describeError(failure, this.scheme, what);
      }
      let delay = baseDelay * 2 ** attemptNumber;
      if (response !== undefined) {
        const retryAfter = Number(headerText(response.headers['retry-after']));
        if (Number.isFinite(retryAfter) && retryAfter > 0)
          delay = Math.min(retryAfter * 1000, 10_000);
        await response.body.dump();
      }
      this.options.log?.(
        `${what}: ${response ? `HTTP ${response.statusCode}` : errorText(failure)}; ` +
          `retrying in ${delay} ms (${attemptNumber + 1} of ${retries})`,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  describeError(error: unknown, scheme: string | undefined, what?: string): RegistryError {
    if (error instanceof RegistryError) return error;
    const text = errorText(error);
    if (isCertificateError(error)) {
      const certs = path.join(this.options.home, 'certs.d', this.host, 'ca.crt');
      return new RegistryError(
        `TLS certificate of registry ${this.host} failed verification (${text}): put the ` +
          `certificate of the CA that signed it in ${certs}`,
      );
    }
    if (isLookupError(error)) {
      return new RegistryError(
        `cannot resolve registry host ${this.host} (${text}): check the image name, or the ` +
          "machine's DNS settings if the name is right",
      );
    }
    return new RegistryError(
      `cannot reach registry ${this.host}${scheme ? ` over ${scheme}` : ''}` +
        `${what ? ` (${what})` : ''}: ${text}`,
    );
  }
}

/** TLS settings for `host`: system and bundled CAs, certs.d CAs and client certificates. */
function tlsOptions(home: string, host: string): tls.ConnectionOptions {
  const ca: string[] = [...tls.rootCertificates];
  const bundle = [process.env.SSL_CERT_FILE, ...SYSTEM_CA_FILES].find(
    (file) => file !== undefined && file !== '' && fs.existsSync(file),
  );
  if (bundle !== undefined) ca.push(fs.readFileSync(bundle, 'utf8'));
  const options: tls.ConnectionOptions = { ca };
  const dir = path.join(home, 'certs.d', host.replace(/^\[|\]$/g, ''));
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return options;
  }
  for (const name of names) {
    if (name.endsWith('.crt')) ca.push(fs.readFileSync(path.join(dir, name), 'utf8'));
    if (name.endsWith('.cert')) {
      const key = path.join(dir, name.replace(/\.cert$/, '.key'));
      if (fs.existsSync(key)) {
        options.cert = fs.readFileSync(path.join(dir, name));
        options.key = fs.readFileSync(key);
      }
    }
  }
  return options;
}

/** Parses the first challenge of a `WWW-Authenticate` header. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (match === null) return undefined;
  const params: Record<string, string> = {};
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (let found = pattern.exec(match[2]); found !== null; found = pattern.exec(match[2])) {
    params[found[1].toLowerCase()] = (found[2] ?? found[3]).replace(/\\(.)/g, '$1');
  }
  return { scheme: match[1].toLowerCase(), params };
}

function basicToken(credentials: Credentials): string {
  return Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
}

export function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const { message, code, cause } = error as { message?: string; code?: string; cause?: unknown };
  const inner = cause === undefined ? '' : `: ${errorText(cause)}`;
  return `${message ?? String(error)}${code && !String(message).includes(code) ? ` (${code})` : ''}${inner}`;
}

/**
 * Returns whether `error`, or an error in its cause chain, is a failed DNS lookup: ENOTFOUND
 * (no such name) or EAI_AGAIN (no answer, as on a machine without a DNS server).
 */
export function isLookupError(error: unknown): boolean {
  for (let current = error; typeof current === 'object' && current !== null;) {
    const code = String((current as { code?: unknown }).code ?? '');
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

function isCertificateError(error: unknown): boolean {
  for (let current = error; typeof current === 'object' && current !== null;) {
    const code = String((current as { code?: unknown }).code ?? '');
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME/.test(code)) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
