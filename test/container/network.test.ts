/**
 * Containers share the host's network, as `docker run --network host` does: a server in a
 * detached container is reached from the host over TCP and over a Unix socket in its root,
 * and a host server is reached from a container. Every address is on 127.0.0.1.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome, waitFor } from './noah';

let home: NoahHome;
let busybox: string;
let debian: string;

beforeAll(() => {
  home = new NoahHome('network');
  busybox = testRegistryImage('busybox').reference;
  debian = testRegistryImage('debian').reference;
  expect(home.run(['pull', busybox]).status).toBe(0);
  expect(home.run(['pull', debian]).status).toBe(0);
});

afterAll(() => {
  home.run(['rm', '-f', ...home.containerIds()]);
  home.remove();
});

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Fetches `url` once, resolving to the body or to undefined when the connection fails. */
function fetchText(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    http
      .get(url, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve(body));
      })
      .on('error', () => resolve(undefined));
  });
}

/** Reads what a Unix socket server sends until it closes, or undefined when refused. */
function readUnixSocket(socket: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let text = '';
    net
      .connect(socket)
      .on('data', (chunk) => (text += chunk.toString()))
      .on('end', () => resolve(text))
      .on('error', () => resolve(undefined));
  });
}

describeKvm('container networking', () => {
  test('host reaches a TCP server in a container', async () => {
    const port = await freePort();
    const script = `mkdir -p /www && echo from-container > /www/index.html && httpd -f -p 127.0.0.1:${port} -h /www`;
    const run = home.run(['run', '-d', '--name', 'web', busybox, 'sh', '-c', script]);
    expect(run.status).toBe(0);
    let body: string | undefined;
    const deadline = Date.now() + 20_000;
    while (body === undefined && Date.now() < deadline) {
      body = await fetchText(`http://127.0.0.1:${port}/index.html`);
      if (body === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(body).toBe('from-container\n');
    expect(home.run(['rm', '-f', 'web']).status).toBe(0);
  });

  test('a container reaches a TCP server on the host', async () => {
    const server = http.createServer((_request, response) => response.end('from-host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
      const result = await home.start([
        'run',
        '--rm',
        busybox,
        'wget',
        '-q',
        '-O',
        '-',
        `http://127.0.0.1:${port}/`,
      ]);
      expect(result.stdout).toBe('from-host\n');
      expect(result.status).toBe(0);
    } finally {
      server.close();
    }
  });

  test('host reaches a Unix socket bound in the root', async () => {
    const script =
      'use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Local => "/tmp/app.sock", ' +
      'Listen => 1) or die $!; my $c = $s->accept; print $c "from-unix\\n"; close $c;';
    const id = home
      .run(['run', '-d', '--name', 'unix', '--entrypoint', 'perl', debian, '-e', script])
      .stdout.trim();
    // The socket's host path is longer than the 108 bytes of sun_path, so the test reaches it
    // through a short symlink to its folder.
    const folder = path.join(home.dir, 'containers', id, 'rootfs', 'tmp');
    const link = path.join(os.tmpdir(), `noah-sock-${process.pid}`);
    fs.symlinkSync(folder, link);
    const socket = path.join(link, 'app.sock');
    await waitFor(() => fs.existsSync(socket));
    // The file appears at bind, a moment before listen, so a refused connection is retried.
    let reply: string | undefined;
    const deadline = Date.now() + 20_000;
    while (reply === undefined && Date.now() < deadline) {
      reply = await readUnixSocket(socket);
      if (reply === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reply).toBe('from-unix\n');
    expect(home.run(['wait', 'unix']).stdout).toBe('0\n');
    fs.rmSync(link);
  });
});
