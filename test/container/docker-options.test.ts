/**
 * Docker `run` options that noah accepts for compatibility: --net, -v and --mount options
 * without effect here, labels, --add-host and --restart, through the CLI on the fixture
 * images.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome } from './noah';

let home: NoahHome;
let debian: string;

beforeAll(() => {
  home = new NoahHome('docker-options');
  debian = testRegistryImage('debian').reference;
  expect(home.run(['pull', debian]).status).toBe(0);
});

afterAll(() => home.remove());

const sh = (script: string, ...options: string[]) =>
  home.run(['run', '--rm', ...options, '--entrypoint', 'sh', debian, '-c', script]);

describeKvm('noah run Docker compatibility options', () => {
  test('--net is the old name of --network', () => {
    const host = sh('echo shared', '--net=host');
    expect(host.stdout).toBe('shared\n');
    expect(host.status).toBe(0);
    const bridge = sh('true', '--net', 'bridge');
    expect(bridge.status).toBe(125);
    expect(bridge.stderr).toContain('--net bridge is not supported');
  });

  test('-v accepts SELinux and macOS options', () => {
    const folder = path.join(home.dir, 'shared');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'file'), 'host\n');
    for (const options of ['z', 'Z', 'cached', 'delegated', 'consistent', 'rw,z', 'rprivate']) {
      const result = sh('cat /data/file', '-v', `${folder}:/data:${options}`);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe('host\n');
    }
    const readOnly = sh('touch /data/new', '-v', `${folder}:/data:ro,z`);
    expect(readOnly.status).not.toBe(0);
    expect(fs.existsSync(path.join(folder, 'new'))).toBe(false);
  });

  test('--mount bind-propagation and tmpfs options', () => {
    const folder = path.join(home.dir, 'propagation');
    fs.mkdirSync(folder);
    const bind = sh(
      'echo ok > /data/out',
      '--mount',
      `type=bind,source=${folder},target=/data,bind-propagation=rprivate`,
    );
    expect(bind.stderr).toBe('');
    expect(fs.readFileSync(path.join(folder, 'out'), 'utf8')).toBe('ok\n');
    const tmpfs = sh(
      'stat -c %a /scratch; echo x > /scratch/f && cat /scratch/f',
      '--mount',
      'type=tmpfs,target=/scratch,tmpfs-size=64m,tmpfs-mode=770',
    );
    expect(tmpfs.stderr).toBe('');
    expect(tmpfs.stdout).toBe('770\nx\n');
    expect(sh('stat -c %a /t', '--tmpfs', '/t:size=1m,mode=700').stdout).toBe('700\n');
    expect(sh('stat -c %a /t', '--tmpfs', '/t').stdout).toBe('1777\n');
  });

  test('invalid -v and --mount options give 125', () => {
    const cases: [string[], string][] = [
      [['-v', '/tmp:/data:zz'], 'invalid volume option "zz"'],
      [['--mount', 'type=bind,source=/tmp,target=/a,bind-propagation=up'], 'bind-propagation'],
      [['--mount', 'type=tmpfs,target=/a,tmpfs-size=big'], 'tmpfs-size "big"'],
      [['--mount', 'type=tmpfs,target=/a,tmpfs-mode=999'], 'the mode "999"'],
      [['--mount', 'type=bind,source=/tmp,target=/a,tmpfs-mode=700'], 'are for type=tmpfs'],
      [['--mount', 'type=tmpfs,target=/a,bind-propagation=rprivate'], 'is for type=bind'],
    ];
    for (const [options, message] of cases) {
      const result = sh('true', ...options);
      expect(result.stderr).toContain(message);
      expect(result.status).toBe(125);
    }
  });

  test('-l and --label-file set Config.Labels', () => {
    const file = path.join(home.dir, 'labels');
    fs.writeFileSync(file, '# a comment\n\nteam=db\nowner=file\n');
    const created = home.run([
      'create',
      '--name',
      'labelled',
      '--label-file',
      file,
      '-l',
      'owner=cli',
      '--label',
      'empty',
      debian,
    ]);
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    const labels = home.run(['inspect', '-f', '{{json .Config.Labels}}', 'labelled']);
    expect(JSON.parse(labels.stdout)).toEqual({ team: 'db', owner: 'cli', empty: '' });
    const one = home.run(['inspect', '-f', '{{index .Config.Labels "team"}}', 'labelled']);
    expect(one.stdout).toBe('db\n');
    expect(home.run(['rm', 'labelled']).status).toBe(0);
  });

  test('inspect shows Labels, OOMKilled and NetworkSettings', () => {
    expect(home.run(['create', '--name', 'plain', debian]).status).toBe(0);
    const [document] = JSON.parse(home.run(['inspect', 'plain']).stdout);
    expect(document.Config.Labels).toEqual({});
    expect(document.State.OOMKilled).toBe(false);
    expect(document.NetworkSettings.Networks).toEqual({
      host: { IPAddress: '', Gateway: '', MacAddress: '' },
    });
    expect(document.HostConfig.RestartPolicy).toEqual({ Name: 'no', MaximumRetryCount: 0 });
    expect(document.HostConfig.ExtraHosts).toBeNull();
    expect(home.run(['rm', 'plain']).status).toBe(0);
  });

  test('--add-host appends to /etc/hosts', () => {
    const result = sh(
      'tail -n 3 /etc/hosts',
      '--add-host',
      'db:10.0.0.5',
      '--add-host=host.docker.internal:host-gateway',
      '--add-host',
      'v6=[::1]',
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('10.0.0.5\tdb\n127.0.0.1\thost.docker.internal\n::1\tv6\n');
  });

  test('--restart no only', () => {
    expect(sh('echo once', '--restart', 'no').stdout).toBe('once\n');
    for (const policy of ['always', 'unless-stopped', 'on-failure', 'on-failure:3']) {
      const result = sh('true', '--restart', policy);
      expect(result.stderr).toContain('noah has no daemon to restart containers');
      expect(result.status).toBe(125);
    }
    const bad = sh('true', '--restart', 'sometimes');
    expect(bad.stderr).toContain('invalid --restart "sometimes"');
    expect(bad.status).toBe(125);
  });

  test('invalid labels and hosts give 125', () => {
    const cases: [string[], string][] = [
      [['-l', '=value'], 'invalid label "=value"'],
      [['--label-file', path.join(home.dir, 'missing')], '--label-file'],
      [['--add-host', 'db'], 'invalid --add-host "db"'],
      [['--add-host', 'db:not-an-ip'], 'invalid --add-host "db:not-an-ip"'],
    ];
    for (const [options, message] of cases) {
      const result = sh('true', ...options);
      expect(result.stderr).toContain(message);
      expect(result.status).toBe(125);
    }
  });
});
