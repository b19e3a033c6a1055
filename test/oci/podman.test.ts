/**
 * podman 4.3 as a real client of noah-oci. The same `podman run` through `--runtime runc` and
 * through noah-oci gives the same output and exit status, and a detached container takes
 * `podman exec`, `stop` and `rm`. podman runs as root with its storage in a scratch folder and pulls
 * the fixture images from the test registry on 127.0.0.1.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { testRegistry } from '../helpers/registry';
import { makeScratch, nooci, OciResult } from './helpers';

const isRoot = process.getuid?.() === 0;
const describeRoot = isRoot ? describeKvm : describe.skip;

describeRoot('podman with noah-oci', () => {
  let scratch: string;
  let image: string;

  /** podman's global flags: storage, run state and events in the scratch folder. */
  const globalFlags = () => [
    '--root',
    path.join(scratch, 'storage'),
    '--runroot',
    path.join(scratch, 'run'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
    '--events-backend',
    'file',
  ];
  const podmanEnv = () => ({ ...process.env, NOAH_TRANSLATOR: asanTranslator() });

  const podman = (args: string[], input?: string): OciResult => {
    const result = spawnSync('podman', [...globalFlags(), ...args], {
      encoding: 'utf8',
      input,
      env: podmanEnv(),
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  /** Runs podman under script(1), which gives it the terminal that -t needs. */
  // script's stdin stays open until podman ends: at end of input script sends the terminal an
  // end-of-file character, which raced with the container's output.
  const podmanOnTerminal = (
    args: string[],
  ): Promise<{ status: number | null; stdout: string; stderr: string }> => {
    const line = ['podman', ...globalFlags(), ...args].map((word) => `'${word}'`).join(' ');
    const child = spawn('script', ['-qec', line, '/dev/null'], { env: podmanEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    return new Promise((resolve) => {
      child.on('close', (status) => {
        clearTimeout(timer);
        child.stdin.destroy();
        resolve({ status, stdout, stderr });
      });
    });
  };

  // podman's default nofile limit of 1048576 needs CAP_SYS_RESOURCE, which these hosts lack.
  // No network: a translator container shares the host's, and none needs no CNI plugins.
  const runOptions = [
    '--network',
    'none',
    '--ulimit',
    'nofile=1024:1024',
    '--ulimit',
    'nproc=4096:4096',
  ];
  const runWith = (runtime: string, args: string[]) =>
    podman(['run', '--rm', '--runtime', runtime, ...runOptions, image, ...args]);

  beforeAll(() => {
    scratch = makeScratch('podman');
    const registry = testRegistry();
    image = `${registry.address}/busybox:latest`;
    const pull = podman(['pull', '--tls-verify=false', image]);
    if (pull.status !== 0) throw new Error(`podman pull ${image} failed: ${pull.stderr}`);
  });

  afterAll(() => {
    podman(['rm', '--all', '--force', '--time', '0']);
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test.each([
    ['exit status and both streams', ['sh', '-c', 'echo out; echo err >&2; exit 3']],
    ['a file of the image', ['cat', '/etc/passwd']],
    ['the environment', ['sh', '-c', 'echo $PATH; echo $HOME; pwd']],
    ['a missing program', ['no-such-program']],
  ])('run --rm matches runc: %s', (_name, command) => {
    const theirs = runWith('runc', command);
    const ours = runWith(nooci, command);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.status).toBe(theirs.status);
    if (command[0] !== 'no-such-program') expect(ours.stderr).toBe(theirs.stderr);
  });

  test('debian image with entrypoint matches runc', () => {
    const debian = testRegistry().images.debian;
    if (debian === undefined) {
      // NOAH_TEST_IMAGES left the Debian image out of this run.
      expect(process.env.NOAH_TEST_IMAGES).toBeDefined();
      return;
    }
    expect(podman(['pull', '--tls-verify=false', debian.reference]).status).toBe(0);
    const run = (runtime: string, args: string[]) =>
      podman(['run', '--rm', '--runtime', runtime, ...runOptions, debian.reference, ...args]);
    for (const args of [[], ['other-argument'], ['sh', '-c', 'pwd; ls /bin/bash; exit 6']]) {
      const theirs = run('runc', args);
      const ours = run(nooci, args);
      expect(ours.stdout).toBe(theirs.stdout);
      expect(ours.status).toBe(theirs.status);
    }
    // The pull into podman's vfs storage copies the whole Debian root, about a minute here.
  }, 300_000);

  test('run -it passes a terminal like runc', async () => {
    const command = ['sh', '-c', 'echo on-terminal; exit 4'];
    const viaTerminal = (runtime: string) =>
      podmanOnTerminal([
        'run',
        '--rm',
        '-it',
        '--runtime',
        runtime,
        ...runOptions,
        image,
        ...command,
      ]);
    const theirs = await viaTerminal('runc');
    const ours = await viaTerminal(nooci);
    // Whole results, so that a failure shows stderr too.
    expect(theirs).toMatchObject({ stdout: expect.stringContaining('on-terminal\r\n') });
    expect(ours).toMatchObject({ stdout: expect.stringContaining('on-terminal\r\n') });
    expect(ours.status).toBe(theirs.status);
    expect(ours.status).toBe(4);
  });

  test('detached container takes exec, stop and rm', async () => {
    const name = 'detached';
    const run = podman([
      'run',
      '-d',
      '--name',
      name,
      '--runtime',
      nooci,
      ...runOptions,
      image,
      'sleep',
      '60',
    ]);
    expect(run.status).toBe(0);
    const status = () => podman(['inspect', '--format', '{{.State.Status}}', name]).stdout.trim();
    expect(status()).toBe('running');

    const exec = podman(['exec', name, 'sh', '-c', 'echo from exec; exit 5']);
    expect(exec.stdout).toBe('from exec\n');
    expect(exec.status).toBe(5);

    const onTerminal = await podmanOnTerminal([
      'exec',
      '-it',
      name,
      'sh',
      '-c',
      'echo tty exec; exit 3',
    ]);
    expect(onTerminal).toMatchObject({ stdout: expect.stringContaining('tty exec\r\n') });
    expect(onTerminal.status).toBe(3);

    expect(podman(['pause', name]).status).toBe(0);
    expect(status()).toBe('paused');
    expect(podman(['unpause', name]).status).toBe(0);
    expect(status()).toBe('running');

    expect(podman(['stop', '--time', '5', name]).status).toBe(0);
    expect(status()).toBe('exited');
    expect(podman(['rm', name]).status).toBe(0);
    expect(podman(['inspect', name]).status).not.toBe(0);
  });
});
