/**
 * `-u` resolution against a root folder's /etc/passwd and /etc/group, including roots whose
 * files are symlinks that point outside the root or loop.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { resolveUser } from '../../src/container/user';

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
