/**
 * containerd 1.6 as a real client of noah-oci: the test starts its own containerd (own root,
 * state and socket, CRI off) and drives it with ctr, whose runc shim calls noah-oci with
 * --root, --log and --log-format json. The image comes from the test registry on 127.0.0.1.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { asanTranslator } from '../helpers/cli';
import { describeKvm } from '../helpers/kvm';
import { testRegistry } from '../helpers/registry';
import { makeScratch, nooci, OciResult, waitFor } from './helpers';

const isRoot = process.getuid?.() === 0;
const describeRoot = isRoot ? describeKvm : describe.skip;

describeRoot('containerd with noah-oci', () => {
  let scratch: string;
  let socket: string;
  let image: string;
  let containerd: ChildProcess;

  const ctr = (args: string[]): OciResult => {
    const result = spawnSync('ctr', ['--address', socket, ...args], {
      encoding: 'utf8',
      env: { ...process.env, NOAH_TRANSLATOR: asanTranslator() },
      timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const runtimeFlags = () => [
    '--runc-binary',
    nooci,
    '--runc-root',
    path.join(scratch, 'noah-oci-root'),
  ];

  beforeAll(async () => {
    scratch = makeScratch('containerd');
    socket = path.join(scratch, 'containerd.sock');
    const config = [
      'version = 2',
      `root = "${path.join(scratch, 'root')}"`,
      `state = "${path.join(scratch, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
    ].join('\n');
    fs.writeFileSync(path.join(scratch, 'config.toml'), `${config}\n`);
    const log = fs.openSync(path.join(scratch, 'containerd.log'), 'w');
    containerd = spawn('containerd', ['--config', path.join(scratch, 'config.toml')], {
      stdio: ['ignore', log, log],
      env: { ...process.env, NOAH_TRANSLATOR: asanTranslator() },
    });
    fs.closeSync(log);
    await waitFor('containerd to listen', () => fs.existsSync(socket));
    image = `${testRegistry().address}/busybox:latest`;
    const pull = ctr(['images', 'pull', '--plain-http', image]);
    if (pull.status !== 0) throw new Error(`ctr images pull ${image} failed: ${pull.stderr}`);
  });

  afterAll(async () => {
    for (const id of ctr(['containers', 'list', '--quiet']).stdout.split('\n')) {
      if (id === '') continue;
      ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]);
      ctr(['tasks', 'delete', '--force', id]);
      ctr(['containers', 'delete', id]);
    }
    containerd.kill('SIGTERM');
    await waitFor(
      'containerd to exit',
      () => containerd.exitCode !== null || containerd.signalCode !== null,
    );
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('ctr run --rm matches runc', () => {
    const command = ['sh', '-c', 'echo out; echo err >&2; cat /etc/passwd; exit 3'];
    const theirs = ctr(['run', '--rm', image, 'with-runc', ...command]);
    const ours = ctr(['run', '--rm', ...runtimeFlags(), image, 'with-noah', ...command]);
    expect(ours.stdout).toBe(theirs.stdout);
    expect(ours.status).toBe(theirs.status);
    expect(ours.status).toBe(3);
  });

  test('task exec, ps and kill', async () => {
    const id = 'detached';
    expect(ctr(['run', '-d', ...runtimeFlags(), image, id, 'sleep', '60']).status).toBe(0);
    const exec = ctr(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo in exec; exit 6']);
    expect(exec.stdout).toBe('in exec\n');
    expect(exec.status).toBe(6);

    const task = ctr(['tasks', 'list'])
      .stdout.split('\n')
      .find((line) => line.startsWith(id));
    const pid = task?.split(/\s+/)[1];
    expect(pid).toMatch(/^\d+$/);
    const ps = ctr(['tasks', 'ps', id]);
    expect(ps.status).toBe(0);
    expect(ps.stdout.split('\n').map((line) => line.split(/\s+/)[0])).toContain(pid);

    expect(ctr(['tasks', 'kill', id]).status).toBe(0);
    const status = () => ctr(['tasks', 'list']).stdout.includes('STOPPED');
    await waitFor('the task to stop', status);
    expect(ctr(['tasks', 'delete', id]).status).toBe(0);
    expect(ctr(['containers', 'delete', id]).status).toBe(0);
  });

  test('runtime errors reach ctr through the JSON log', () => {
    const result = ctr(['run', '--rm', ...runtimeFlags(), image, 'missing', 'no-such-program']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('executable file not found');
    ctr(['containers', 'delete', 'missing']);
  });
});
