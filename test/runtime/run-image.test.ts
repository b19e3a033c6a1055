/**
 * `noah run IMAGE` through the CLI against images pulled from the test registry: Entrypoint and
 * Cmd merging, the image's Env and WorkingDir, -e and -w, --entrypoint, --pull, and a root
 * whose changes stay in the container.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { runNoah } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';

let home: string;
let debian: string;
let busybox: string;

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-run-image-'));
  debian = testRegistryImage('debian').reference;
  busybox = testRegistryImage('busybox').reference;
});

afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

const noah = (args: string[]) => runNoah(args, { env: { NOAH_HOME: home } });

describeKvm('noah run IMAGE', () => {
  test('pulls a missing image and runs its entrypoint with Cmd', () => {
    const result = noah(['run', debian]);
    expect(result.stderr).toContain(`Unable to find image '${debian}' locally`);
    expect(result.stdout).toBe(
      'entrypoint: from-cmd\nNOAH_FIXTURE=debian\n/usr/local/share/fixture\n',
    );
    expect(result.status).toBe(0);
  });

  test('arguments replace Cmd and keep the entrypoint', () => {
    const result = noah(['run', debian, 'one', 'two']);
    expect(result.stdout).toBe(
      'entrypoint: one two\nNOAH_FIXTURE=debian\n/usr/local/share/fixture\n',
    );
    expect(result.stderr).toBe('');
  });

  test('-e and -w override the image', () => {
    const result = noah(['run', '-e', 'NOAH_FIXTURE=changed', '-w', '/etc', debian]);
    expect(result.stdout).toBe('entrypoint: from-cmd\nNOAH_FIXTURE=changed\n/etc\n');
  });

  test('--entrypoint replaces the entrypoint and drops Cmd', () => {
    const result = noah(['run', '--entrypoint', 'cat', debian, '/etc/debian_version']);
    expect(result.stdout).toMatch(/^12\.\d+\n$/);
    expect(result.status).toBe(0);
  });

  test('an image without an entrypoint runs its Cmd or the given command', () => {
    const result = noah(['run', busybox, 'echo', 'from busybox']);
    expect(result.stdout).toBe('from busybox\n');
    const shell = noah(['run', busybox]);
    expect(shell.status).toBe(0);
  });

  test('a write stays in its container and out of the image', () => {
    const result = noah(['run', '--entrypoint', 'sh', debian, '-c', 'echo x > /etc/noah-test']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const check = noah(['run', '--rm', '--entrypoint', 'ls', debian, '/etc/noah-test']);
    expect(check.status).not.toBe(0);
  });

  test('exit statuses 125 and 127 as docker run gives them', () => {
    const missing = noah(['run', '--pull', 'never', '127.0.0.1:1/no-such-image']);
    expect(missing.status).toBe(125);
    expect(missing.stderr).toContain('No such image');
    const notFound = noah(['run', '--entrypoint', 'no-such-command', debian]);
    expect(notFound.status).toBe(127);
    const status = noah(['run', '--entrypoint', 'sh', debian, '-c', 'exit 7']);
    expect(status.status).toBe(7);
  });
});
