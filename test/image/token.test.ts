import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { runNoah } from '../helpers/cli';
import { testRegistryImage } from '../helpers/registry';
import { temporaryDir } from './layers';

/**
 * Bearer token authentication against docker-registry with `auth.token`: the test runs the
 * token server, which signs RS256 JWTs with a self-signed certificate the registry trusts.
 */

let work: string;
let registry: ChildProcess | undefined;
let tokenServer: ChildProcess | undefined;
let requestsFile: string;

/**
 * The token server, run as its own node process because the tests call noah and skopeo
 * synchronously, which would block a server in the jest process. It appends each request's
 * URL to REQUESTS_FILE and prints its port.
 */
const TOKEN_SERVER = `
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const key = fs.readFileSync(process.env.KEY_FILE);
const certificate = new crypto.X509Certificate(fs.readFileSync(process.env.CERT_FILE));
const b64 = (data) => Buffer.from(data).toString('base64url');
const server = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  fs.appendFileSync(process.env.REQUESTS_FILE, url.search + '\\n');
  const basic = 'Basic ' + Buffer.from('alice:s3cret').toString('base64');
  const authenticated = request.headers.authorization === basic;
  if (request.headers.authorization !== undefined && !authenticated) {
    response.writeHead(401).end('{"details":"invalid credentials"}');
    return;
  }
  // Only alice gets access; anonymous clients get a token without any.
  const access = authenticated
    ? url.searchParams.getAll('scope').map((scope) => {
        const [type, name, actions] = scope.split(':');
        return { type, name, actions: actions.split(',') };
      })
    : [];
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5c: [certificate.raw.toString('base64')] };
  const claims = {
    iss: 'noah-test-issuer', sub: authenticated ? 'alice' : '', aud: 'noah-test-registry',
    exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomBytes(8).toString('hex'), access,
  };
  const unsigned = b64(JSON.stringify(header)) + '.' + b64(JSON.stringify(claims));
  const signature = crypto.createSign('RSA-SHA256').update(unsigned).sign(key);
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ token: unsigned + '.' + b64(signature), expires_in: 300 }));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  execFileSync('npx', ['tsc', '-p', '.'], { cwd: path.resolve(__dirname, '..', '..') });
  work = temporaryDir('token');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'token.key',
      '-out',
      'token.crt',
    ].concat(['-days', '2', '-subj', '/CN=noah token issuer']),
    { cwd: work, stdio: 'pipe' },
  );
  requestsFile = path.join(work, 'token-requests');
  fs.writeFileSync(requestsFile, '');
  tokenServer = spawn(process.execPath, ['-e', TOKEN_SERVER], {
    env: {
      ...process.env,
      KEY_FILE: path.join(work, 'token.key'),
      CERT_FILE: path.join(work, 'token.crt'),
      REQUESTS_FILE: requestsFile,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tokenPort = await new Promise<number>((resolve) =>
    tokenServer!.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
  );

  const port = await freePort();
  const config = {
    version: '0.1',
    log: { level: 'error' },
    storage: { filesystem: { rootdirectory: path.join(work, 'storage') } },
    http: { addr: `127.0.0.1:${port}`, secret: 'noah-test' },
    auth: {
      token: {
        realm: `http://127.0.0.1:${tokenPort}/token`,
        service: 'noah-test-registry',
        issuer: 'noah-test-issuer',
        rootcertbundle: path.join(work, 'token.crt'),
      },
    },
  };
  fs.writeFileSync(path.join(work, 'config.yml'), JSON.stringify(config));
  registry = spawn('docker-registry', ['serve', path.join(work, 'config.yml')], {
    stdio: 'ignore',
  });
  for (let tries = 0; tries < 100; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(socket.destroy() !== undefined));
      socket.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  process.env.NOAH_TEST_TOKEN_REGISTRY = `127.0.0.1:${port}`;
  execFileSync('skopeo', [
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    '--dest-creds=alice:s3cret',
    '--preserve-digests',
    `oci:${testRegistryImage('busybox').layout}:latest`,
    `docker://127.0.0.1:${port}/busybox:latest`,
  ]);
});

afterAll(async () => {
  registry?.kill('SIGKILL');
  tokenServer?.kill('SIGKILL');
  fs.rmSync(work, { recursive: true, force: true });
});

describe('Bearer token authentication', () => {
  const noah = (args: string[]) =>
    runNoah(args, {
      env: { NOAH_HOME: path.join(work, 'home'), DOCKER_CONFIG: path.join(work, 'docker') },
    });

  test('anonymous token without access fails', () => {
    const address = process.env.NOAH_TEST_TOKEN_REGISTRY!;
    const result = noah(['pull', `${address}/busybox`]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`run "noah login ${address}"`);
  });

  test('wrong password is rejected by the token server', () => {
    const address = process.env.NOAH_TEST_TOKEN_REGISTRY!;
    const result = noah(['login', '-u', 'alice', '-p', 'wrong', address]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('rejected the credentials');
  });

  test('credentials get a scoped token, reused for blobs', () => {
    const address = process.env.NOAH_TEST_TOKEN_REGISTRY!;
    expect(noah(['login', '-u', 'alice', '-p', 's3cret', address]).status).toBe(0);
    fs.writeFileSync(requestsFile, '');
    const result = noah(['pull', `${address}/busybox`]);
    const tokenRequests = fs
      .readFileSync(requestsFile, 'utf8')
      .trim()
      .split('\n')
      .map((search) => new URL(`http://127.0.0.1/token${search}`));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0].searchParams.get('service')).toBe('noah-test-registry');
    expect(tokenRequests[0].searchParams.getAll('scope')).toEqual(['repository:busybox:pull']);
    expect(tokenRequests[0].searchParams.get('account')).toBe('alice');
  });
});
