/**
 * Spare container roots. After a container is created, a detached builder clones one spare
 * root of its image, and the next container takes it instead of cloning. A spare must behave as
 * a cloned root: private to the container that takes it, and removed with its image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describeKvm } from '../helpers/kvm';
import { testRegistryImage } from '../helpers/registry';
import { NoahHome, waitFor } from './noah';

let home: NoahHome;
let busybox: string;

beforeAll(() => {
  home = new NoahHome('spare', { NOAH_SPARE_ROOTS: '1' });
  busybox = testRegistryImage('busybox').reference;
  expect(home.run(['pull', busybox]).status).toBe(0);
});

afterAll(async () => {
  // A builder still running would write into the store while it is deleted.
  await waitFor(() => !home.temporariesNow().some((name) => name.includes('-spare-')));
  home.remove();
});

function treeFolder(): string {
  const [chain] = fs.readdirSync(path.join(home.dir, 'tree'));
  return path.join(home.dir, 'tree', chain);
}

function spares(): string[] {
  const dir = path.join(treeFolder(), 'spares');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => path.join(dir, name)) : [];
}

/** Waits until the builder has stored a spare and ended, and returns that spare's folder. */
async function builtSpare(): Promise<string> {
  await waitFor(
    () => spares().length === 1 && !home.temporariesNow().some((name) => name.includes('-spare-')),
  );
  return spares()[0];
}

const inode = (file: string) => fs.statSync(file).ino;
/** Returns the host folder of container `name`'s root. */
function containerRoot(name: string): string {
  const [inspected] = JSON.parse(home.run(['inspect', name]).stdout) as { Id: string }[];
  return path.join(home.dir, 'containers', inspected.Id, 'rootfs');
}

describeKvm('spare container roots', () => {
  test('next container takes the spare', async () => {
    expect(home.run(['run', '--rm', busybox, 'true']).status).toBe(0);
    const spare = await builtSpare();
    const spareBin = inode(path.join(spare, 'rootfs', 'bin'));
    expect(fs.readFileSync(path.join(spare, 'shared-inodes')).length).toBeGreaterThan(0);

    const script = 'echo taken > /etc/taken; cat /etc/taken';
    expect(home.run(['create', '--name', 'taker', busybox, 'sh', '-c', script]).status).toBe(0);
    const root = containerRoot('taker');
    // The container's folders are the spare's, moved: the same inodes.
    expect(inode(path.join(root, 'bin'))).toBe(spareBin);
    expect(fs.existsSync(spare)).toBe(false);

    const next = await builtSpare();
    expect(next).not.toBe(spare);
    const started = home.run(['start', '-a', 'taker']);
    expect(started.stdout).toBe('taken\n');
    expect(started.status).toBe(0);
    expect(fs.existsSync(path.join(root, 'etc', 'taken'))).toBe(true);
    expect(fs.existsSync(path.join(next, 'rootfs', 'etc', 'taken'))).toBe(false);
    expect(fs.existsSync(path.join(treeFolder(), 'rootfs', 'etc', 'taken'))).toBe(false);
    // A container that takes a spare copies a shared file up before writing it.
    const passwd = path.join(treeFolder(), 'rootfs', 'etc', 'passwd');
    const original = fs.readFileSync(passwd, 'utf8');
    await builtSpare();
    const appended = home.run(['run', '--rm', busybox, 'sh', '-c', 'echo x >> /etc/passwd']);
    expect(appended.status).toBe(0);
    expect(fs.readFileSync(passwd, 'utf8')).toBe(original);
    expect(home.run(['rm', 'taker']).status).toBe(0);
  });

  test('concurrent creates get different roots', async () => {
    await builtSpare();
    const results = await Promise.all([
      home.start(['create', '--name', 'first', busybox, 'true']),
      home.start(['create', '--name', 'second', busybox, 'true']),
    ]);
    expect(results.map((r) => r.status)).toEqual([0, 0]);
    const roots = ['first', 'second'].map(containerRoot);
    expect(inode(path.join(roots[0], 'bin'))).not.toBe(inode(path.join(roots[1], 'bin')));
    expect(home.run(['rm', 'first', 'second']).status).toBe(0);
  });

  test('rmi removes the spares', async () => {
    await builtSpare();
    expect(home.run(['rmi', busybox]).status).toBe(0);
    expect(fs.readdirSync(path.join(home.dir, 'tree'))).toEqual([]);
    expect(await home.temporaries()).toEqual([]);
  });
});
