/**
 * How noah-oci rejects bad input, and the commands that start no container: features, spec,
 * list and --version. Errors are checked as runc prints them: the message on stderr and, with
 * --log, a JSON entry with level "error".
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { asanTranslator } from '../helpers/cli';
import { busyboxBundle, editConfig, makeScratch, nooci, runRuntime, setArgs } from './helpers';

describe('noah-oci without a container', () => {
  let scratch: string;
  let root: string;
  const oci = (args: string[]) => runRuntime(['--root', root, ...args]);

  beforeAll(() => {
    scratch = makeScratch('commands');
    root = path.join(scratch, 'root');
  });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test('--version names the spec', () => {
    const result = oci(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^noah-oci version \S+\nspec: 1\.\d+\.\d+\n$/);
  });

  test('features lists hooks and no namespaces', () => {
    const features = JSON.parse(oci(['features']).stdout);
    expect(features.hooks).toEqual([
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
    expect(features.linux.namespaces).toEqual([]);
    expect(features.linux.seccomp.enabled).toBe(false);
    expect(features.annotations['org.noah.oci.accepted.not.applied']).toContain('seccomp');
  });

  test('spec writes a config.json once', () => {
    const bundle = path.join(scratch, 'spec');
    fs.mkdirSync(bundle);
    expect(oci(['spec', '--bundle', bundle]).status).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    expect(config.process.args).toEqual(['sh']);
    expect(config.root.path).toBe('rootfs');
    const again = oci(['spec', '--bundle', bundle]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('exists. Remove it first');
  });

  test('list skips damaged entries', () => {
    const damagedRoot = path.join(scratch, 'damaged');
    fs.mkdirSync(path.join(damagedRoot, 'broken'), { recursive: true });
    fs.writeFileSync(path.join(damagedRoot, 'broken', 'state.json'), '{not json');
    fs.writeFileSync(path.join(damagedRoot, 'bad name'), '');
    const result = runRuntime(['--root', damagedRoot, 'list', '--format', 'json']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('null\n');
    expect(result.stderr).toContain('skipped broken');
    expect(result.stderr).toContain('skipped bad name');
  });

  test('list of an empty root', () => {
    expect(oci(['list']).stdout).toMatch(/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED\s+OWNER\n$/);
    expect(oci(['list', '--format', 'json']).stdout).toBe('null\n');
  });

  test.each([
    ['state', ['state', 'nope']],
    ['start', ['start', 'nope']],
    ['kill', ['kill', 'nope', 'KILL']],
    ['delete', ['delete', 'nope']],
    ['exec', ['exec', 'nope', 'true']],
    ['pause', ['pause', 'nope']],
    ['ps', ['ps', 'nope']],
  ])('unknown id: %s', (_name, args) => {
    const result = oci(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('msg="container does not exist"');
  });

  test('error goes to the JSON log', () => {
    const log = path.join(scratch, 'log.json');
    const result = runRuntime(['--root', root, '--log', log, '--log-format', 'json', 'state', 'x']);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('container does not exist\n');
    const entry = JSON.parse(fs.readFileSync(log, 'utf8').trim());
    expect(entry.level).toBe('error');
    expect(entry.msg).toBe('container does not exist');
    expect(Number.isNaN(Date.parse(entry.time))).toBe(false);
  });

  test.each([
    ['an unknown command', ['frobnicate'], "No help topic for 'frobnicate'"],
    ['an unknown flag', ['create', '--frob', 'x'], 'flag provided but not defined: -frob'],
    ['a missing id', ['create', '--bundle', '/'], 'requires exactly 1 argument(s), 0 given'],
    ['a bad id', ['state', '../x'], 'invalid container id format: ../x'],
    ['a bad log format', ['--log-format', 'xml', 'list'], 'invalid log-format: xml'],
  ])('rejects %s', (_name, args, message) => {
    const result = oci(args);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
  });
});

// The edits reach anywhere into config.json, whose JSON has no narrower type here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type EditableConfig = Record<string, any>;

describeKvm('noah-oci bad bundles', () => {
  let scratch: string;
  let bundle: string;
  let root: string;
  let output: string;
  // With --log the message reaches stderr as plain text, without logrus quoting.
  const oci = (args: string[]) =>
    runRuntime(['--root', root, '--log', path.join(scratch, 'log.json'), ...args]);

  beforeAll(async () => {
    scratch = makeScratch('bad-input');
    bundle = path.join(scratch, 'bundle');
    root = path.join(scratch, 'root');
    output = path.join(scratch, 'output');
    await busyboxBundle(bundle);
    setArgs(bundle, ['sleep', '60']);
  });

  afterAll(() => {
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      oci(['delete', '--force', id]);
    }
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('missing bundle', () => {
    const result = oci(['create', '--bundle', path.join(scratch, 'nowhere'), 'a']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`bundle ${path.join(scratch, 'nowhere')} not found`);
  });

  test('bundle without config.json', () => {
    const empty = path.join(scratch, 'empty');
    fs.mkdirSync(empty);
    const result = oci(['create', '--bundle', empty, 'a']);
    expect(result.stderr).toContain(`bundle ${empty} has no config.json`);
  });

  test.each([
    [
      'process.args',
      (c: EditableConfig) => (c.process.args = 'sh'),
      'process.args must be an array of strings',
    ],
    [
      'empty args',
      (c: EditableConfig) => (c.process.args = []),
      'process.args must be a non-empty array',
    ],
    [
      'process.cwd',
      (c: EditableConfig) => (c.process.cwd = 'relative'),
      'process.cwd must be an absolute path',
    ],
    [
      'process.user.uid',
      (c: EditableConfig) => (c.process.user.uid = -1),
      'process.user.uid must be a non-negative integer',
    ],
    [
      'process.env',
      (c: EditableConfig) => (c.process.env = ['NOEQUALS']),
      'process.env[0] must be NAME=VALUE',
    ],
    ['root.path', (c: EditableConfig) => delete c.root, 'root must be an object'],
    ['a missing root', (c: EditableConfig) => (c.root.path = 'nowhere'), 'root.path'],
    [
      'mounts',
      (c: EditableConfig) => (c.mounts[0].destination = 'proc'),
      'mounts[0].destination must be an absolute path',
    ],
    [
      'mount type',
      (c: EditableConfig) => c.mounts.push({ destination: '/x', type: 'nfs', source: 'a' }),
      'type "nfs" on /x is not supported',
    ],
    [
      'rlimits',
      (c: EditableConfig) => (c.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]),
      'process.rlimits[0].type must be an RLIMIT_ name',
    ],
    [
      'soft above hard',
      (c: EditableConfig) => (c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2, hard: 1 }]),
      'process.rlimits[0].soft must be at most the hard limit 1',
    ],
    [
      'hooks',
      (c: EditableConfig) => (c.hooks = { poststart: [{ path: 'rel' }] }),
      'hooks.poststart[0].path must be an absolute path',
    ],
    [
      'annotations',
      (c: EditableConfig) => (c.annotations = { a: 1 }),
      'annotations["a"] must be a string',
    ],
    ['ociVersion', (c: EditableConfig) => delete c.ociVersion, 'ociVersion must be a string'],
  ])('invalid config.json: %s', (_name, edit, message) => {
    const copy = path.join(scratch, 'copy');
    fs.rmSync(copy, { recursive: true, force: true });
    fs.mkdirSync(copy);
    fs.copyFileSync(path.join(bundle, 'config.json'), path.join(copy, 'config.json'));
    fs.symlinkSync(path.join(bundle, 'rootfs'), path.join(copy, 'rootfs'));
    editConfig(copy, edit as (config: object) => void);
    const result = oci(['create', '--bundle', copy, 'invalid']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(fs.existsSync(path.join(root, 'invalid'))).toBe(false);
  });

  test('invalid JSON', () => {
    const copy = path.join(scratch, 'json');
    fs.mkdirSync(copy);
    fs.writeFileSync(path.join(copy, 'config.json'), '{"ociVersion": ');
    const result = oci(['create', '--bundle', copy, 'a']);
    expect(result.stderr).toContain('invalid config.json: ');
  });

  test('duplicate id', () => {
    const first = runRuntime(['--root', root, 'create', '--bundle', bundle, 'dup'], {
      outputFile: output,
    });
    expect(first.status).toBe(0);
    const second = oci(['create', '--bundle', bundle, 'dup']);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain('container with given ID already exists');
    expect(JSON.parse(oci(['state', 'dup']).stdout).status).toBe('created');
  });

  test('unknown signal', () => {
    runRuntime(['--root', root, 'create', '--bundle', bundle, 'sig'], { outputFile: output });
    const result = oci(['kill', 'sig', 'SIGFOO']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('unknown signal "SIGFOO"');
    expect(oci(['kill', 'sig', '65']).stderr).toContain('unknown signal "65"');
    expect(oci(['kill', 'sig', 'usr1']).status).toBe(0);
  });

  test('kill of a stopped container', async () => {
    setArgs(bundle, ['true']);
    expect(
      runRuntime(['--root', root, 'run', '-d', '--bundle', bundle, 'done'], { outputFile: output })
        .status,
    ).toBe(0);
    const deadline = Date.now() + 10_000;
    while (JSON.parse(oci(['state', 'done']).stdout).status !== 'stopped') {
      if (Date.now() > deadline) throw new Error('container did not stop');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const result = oci(['kill', 'done', 'TERM']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('container not running');
    expect(oci(['start', 'done']).stderr).toContain('cannot start a container that has stopped');
    expect(oci(['exec', 'done', 'true']).stderr).toContain('cannot exec in a stopped container');
    expect(oci(['delete', 'done']).status).toBe(0);
    setArgs(bundle, ['sleep', '60']);
  });

  test('program not found fails create', () => {
    setArgs(bundle, ['no-such-program']);
    const result = oci(['create', '--bundle', bundle, 'notfound']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('translator exit status 127 (executable file not found)');
    expect(oci(['state', 'notfound']).stderr).toContain('container does not exist');
    setArgs(bundle, ['sleep', '60']);
  });

  test('concurrent starts run the program once', async () => {
    setArgs(bundle, ['sh', '-c', 'echo ran >>/runs; sleep 60']);
    const runs = path.join(bundle, 'rootfs', 'runs');
    fs.rmSync(runs, { force: true });
    runRuntime(['--root', root, 'create', '--bundle', bundle, 'race'], { outputFile: output });
    const starts = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<{ status: number | null; stderr: string }>((resolve) => {
            const child = spawn(nooci, ['--root', root, 'start', 'race'], {
              env: { ...process.env, NOAH_TRANSLATOR: asanTranslator() },
            });
            let stderr = '';
            child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
            child.on('close', (status) => resolve({ status, stderr }));
          }),
      ),
    );
    const succeeded = starts.filter((start) => start.status === 0);
    expect(succeeded).toHaveLength(1);
    for (const failed of starts.filter((start) => start.status !== 0)) {
      expect(failed.stderr).toContain('cannot start an already running container');
    }
    const deadline = Date.now() + 10_000;
    while (!fs.existsSync(runs) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(fs.readFileSync(runs, 'utf8')).toBe('ran\n');
    expect(oci(['delete', '--force', 'race']).status).toBe(0);
    setArgs(bundle, ['sleep', '60']);
  });

  test('start after the held process died', () => {
    runRuntime(['--root', root, 'create', '--bundle', bundle, 'died'], { outputFile: output });
    const pid = JSON.parse(oci(['state', 'died']).stdout).pid as number;
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    while (JSON.parse(oci(['state', 'died']).stdout).status !== 'stopped') {
      if (Date.now() > deadline) throw new Error('container did not stop');
    }
    expect(oci(['start', 'died']).stderr).toContain('cannot start a container that has stopped');
    expect(oci(['delete', 'died']).status).toBe(0);
  });

  test('hook timeout fails create', () => {
    editConfig(bundle, (config) => {
      config.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
    });
    try {
      const started = Date.now();
      const result = oci(['create', '--bundle', bundle, 'slowhook']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('createRuntime hook /bin/sleep failed: timed out after 1 s');
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(fs.existsSync(path.join(root, 'slowhook'))).toBe(false);
    } finally {
      editConfig(bundle, (config) => delete config.hooks);
    }
  });

  test('bind mount of a missing source', () => {
    const missing = path.join(scratch, 'no-such-source');
    editConfig(bundle, (config) => {
      config.mounts?.push({
        destination: '/data',
        type: 'bind',
        source: missing,
        options: ['rbind'],
      });
    });
    try {
      const result = oci(['create', '--bundle', bundle, 'nosource']);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`mounts\\[\\d+\\]\\.source ${missing} does not exist`),
      );
    } finally {
      editConfig(bundle, (config) => config.mounts?.pop());
    }
  });

  test('exec --process with an invalid process', () => {
    runRuntime(['--root', root, 'create', '--bundle', bundle, 'badexec'], { outputFile: output });
    const file = path.join(scratch, 'bad-process.json');
    fs.writeFileSync(
      file,
      JSON.stringify({ args: ['true'], cwd: '/', user: { uid: 'root', gid: 0 } }),
    );
    const result = oci(['exec', '--process', file, 'badexec']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('process.user.uid must be a non-negative integer');
    expect(oci(['delete', '--force', 'badexec']).status).toBe(0);
  });

  test('start twice', () => {
    runRuntime(['--root', root, 'create', '--bundle', bundle, 'twice'], { outputFile: output });
    expect(oci(['start', 'twice']).status).toBe(0);
    expect(oci(['start', 'twice']).stderr).toContain('cannot start an already running container');
  });
});
