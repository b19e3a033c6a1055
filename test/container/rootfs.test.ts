/**
 * Container roots through the CLI: writes persist in a container across starts, stay out of
 * other containers and the image, and `noah diff` lists them as Docker does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome } from './noah';

let home: NoahHome;
let debian: string;

beforeAll(() => {
  home = new NoahHome('rootfs');
  debian = testRegistryImage('debian').reference;
  expect(home.run(['pull', debian]).status).toBe(0);
});

afterAll(() => home.remove());

const sh = (options: string[], script: string) =>
  home.run(['run', ...options, '--entrypoint', 'sh', debian, '-c', script]);

/** The host path of `guestPath` in the image's unpacked tree. */
function imageFile(guestPath: string): string {
  const tree = path.join(home.dir, 'tree');
  const [chain] = fs.readdirSync(tree);
  return path.join(tree, chain, 'rootfs', guestPath);
}

describeKvm('container roots', () => {
  test('writes of two containers stay apart and out of the image', () => {
    const original = fs.readFileSync(imageFile('etc/issue'), 'utf8');
    expect(sh(['--name', 'writer-a'], 'echo a > /etc/issue; echo a > /root/mine').status).toBe(0);
    expect(sh(['--name', 'writer-b'], 'echo b > /etc/issue').status).toBe(0);
    expect(home.run(['start', '-a', 'writer-a']).status).toBe(0);

    const fresh = sh(['--rm'], 'cat /etc/issue; ls /root');
    expect(fresh.stdout).toBe(original);
    expect(fs.readFileSync(imageFile('etc/issue'), 'utf8')).toBe(original);
    expect(fs.existsSync(imageFile('root/mine'))).toBe(false);

    const a = home.run(['exec', debian, 'true']); // a throwaway container changes nothing
    expect(a.status).toBe(0);
    expect(fs.readFileSync(imageFile('etc/issue'), 'utf8')).toBe(original);
  });

  test('a container keeps its changes across starts until rm', () => {
    const created = home.run([
      'create',
      '--name',
      'counter',
      '--entrypoint',
      'sh',
      debian,
      '-c',
      'echo x >> /var/count; wc -l < /var/count',
    ]);
    expect(created.status).toBe(0);
    expect(home.run(['start', '-a', 'counter']).stdout).toBe('1\n');
    expect(home.run(['start', '-a', 'counter']).stdout).toBe('2\n');
    expect(home.run(['rm', 'counter']).status).toBe(0);
    expect(fs.existsSync(imageFile('var/count'))).toBe(false);
  });

  test('diff lists added, changed and deleted paths with their parents', () => {
    const script =
      'echo changed > /etc/issue; echo new > /root/added; mkdir /opt/dir; ' +
      'touch /opt/dir/inner; rm /usr/local/share/fixture/original';
    expect(sh(['--name', 'differ'], script).status).toBe(0);
    const result = home.run(['diff', 'differ']);
    expect(result.stdout).toBe(
      [
        'C /etc',
        'C /etc/issue',
        'C /opt',
        'A /opt/dir',
        'A /opt/dir/inner',
        'C /root',
        'A /root/added',
        'C /usr',
        'C /usr/local',
        'C /usr/local/share',
        'C /usr/local/share/fixture',
        'D /usr/local/share/fixture/original',
        '',
      ].join('\n'),
    );
    expect(result.status).toBe(0);
  });

  test('diff of an unchanged container is empty', () => {
    expect(sh(['--name', 'reader'], 'cat /etc/issue /etc/hosts > /dev/null').status).toBe(0);
    const result = home.run(['diff', 'reader']);
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });

  test('--read-only makes the root read-only', () => {
    const result = sh(['--rm', '--read-only'], 'echo x > /etc/noah-test');
    expect(result.stderr).toContain('Read-only file system');
    expect(result.status).toBe(2);
  });
});
