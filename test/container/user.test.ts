/**
 * `-u` resolution against a root folder's /etc/passwd and /etc/group, including roots whose
 * files are symlinks that point outside the root or loop, and what a container started with
 * `-u` may read.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { resolveUser } from '../../src/container/user';
import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome } from './noah';

let base: string;
let root: string;

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-user-'));
  root = path.join(base, 'root');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(
    path.join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nbroken line\n',
  );
  fs.writeFileSync(
    path.join(root, 'etc', 'group'),
    'root:x:0:\napp:x:1000:\nstaff:x:50:app,other\naudio:x:29:app\n',
  );
});

afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

describe('resolveUser', () => {
  test('root by default', async () => {
    expect(await resolveUser(root, '')).toEqual({ uid: 0, gid: 0, groups: [], home: '/root' });
  });

  test('a name gives its ids, home and supplementary groups', async () => {
    expect(await resolveUser(root, 'app')).toEqual({
      uid: 1000,
      gid: 1000,
      groups: [50, 29],
      home: '/home/app',
    });
  });

  test('a number need not be listed', async () => {
    expect(await resolveUser(root, '4242')).toEqual({ uid: 4242, gid: 0, groups: [], home: '/' });
    expect(await resolveUser(root, '4242:77')).toMatchObject({ uid: 4242, gid: 77 });
  });

  test('a group by name replaces the primary group', async () => {
    expect(await resolveUser(root, 'app:staff')).toMatchObject({
      uid: 1000,
      gid: 50,
      groups: [29],
    });
  });

  test('unknown names and bad numbers: status 125', async () => {
    const cases: [string, string][] = [
      ['nobody', 'unable to find user nobody: no matching entries in passwd file'],
      ['app:wheel', 'unable to find group wheel: no matching entries in group file'],
      ['99999999999', 'out of range'],
      ['a:b:c', 'invalid user "a:b:c"'],
    ];
    for (const [spec, message] of cases) {
      const error = await resolveUser(root, spec).catch((e: unknown) => e);
      expect(error).toMatchObject({ exitStatus: 125 });
      expect((error as Error).message).toContain(message);
    }
  });

  test('a passwd symlink that climbs out of the root stays inside it', async () => {
    const outside = path.join(base, 'host-passwd');
    fs.writeFileSync(outside, 'intruder:x:7:7::/intruder:/bin/sh\n');
    fs.rmSync(path.join(root, 'etc', 'passwd'));
    // Relative and absolute forms: both resolve inside the root, where no such file exists.
    fs.symlinkSync('../../../../../../host-passwd', path.join(root, 'etc', 'passwd'));
    await expect(resolveUser(root, 'intruder')).rejects.toThrow('unable to find user intruder');
    fs.rmSync(path.join(root, 'etc', 'passwd'));
    fs.symlinkSync(outside, path.join(root, 'etc', 'passwd'));
    await expect(resolveUser(root, 'intruder')).rejects.toThrow('unable to find user intruder');
  });

  test('a passwd symlink inside the root is followed', async () => {
    fs.renameSync(path.join(root, 'etc', 'passwd'), path.join(root, 'etc', 'passwd.real'));
    fs.symlinkSync('/etc/./passwd.real', path.join(root, 'etc', 'passwd'));
    expect(await resolveUser(root, 'app')).toMatchObject({ uid: 1000 });
  });

  test('a symlink loop reads as no passwd file', async () => {
    fs.rmSync(path.join(root, 'etc', 'passwd'));
    fs.symlinkSync('passwd', path.join(root, 'etc', 'passwd'));
    await expect(resolveUser(root, 'app')).rejects.toThrow('unable to find user app');
    expect(await resolveUser(root, '0')).toMatchObject({ uid: 0, home: '/' });
  });
});

/** `describeKvm` for tests that need host root, where the translator checks the guest's ids. */
function describeRootKvm(name: string, body: () => void): void {
  if (process.getuid?.() === 0) {
    describeKvm(name, body);
  } else {
    describe.skip(`${name} (skipped: the translator enforces -u only as host root)`, body);
  }
}

describeRootKvm('noah run -u file access', () => {
  let home: NoahHome;
  let debian: string;

  beforeAll(() => {
    home = new NoahHome('user');
    debian = testRegistryImage('debian').reference;
    expect(home.run(['pull', debian]).status).toBe(0);
  });

  afterAll(() => home?.remove());

  test('-u 1000 cannot read /etc/shadow', () => {
    const result = home.run([
      'run',
      '--rm',
      '-u',
      '1000',
      '--entrypoint',
      'cat',
      debian,
      '/etc/shadow',
    ]);
    expect(result.stderr).toContain('cat: /etc/shadow: Permission denied');
    expect(result.stdout).toBe('');
    expect(result.status).toBe(1);
  });

  test('-u 1000 writes /tmp but not /root', () => {
    const script = 'touch /tmp/x && stat -c %u /tmp/x && touch /root/x';
    const result = home.run([
      'run',
      '--rm',
      '-u',
      '1000',
      '--entrypoint',
      'sh',
      debian,
      '-c',
      script,
    ]);
    expect(result.stdout).toBe('1000\n');
    expect(result.stderr).toContain("touch: cannot touch '/root/x': Permission denied");
    expect(result.status).toBe(1);
  });
});
