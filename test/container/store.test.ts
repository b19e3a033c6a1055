/**
 * The container store without KVM: committing folders under one name, with and without a
 * generated name to fall back on, and removal.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ContainerConfig, ContainerStore, newState } from '../../src/container/store';
import { openStore } from '../../src/image/store';

let home: string;
let store: ContainerStore;

beforeEach(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'noah-container-store-'));
  store = new ContainerStore(await openStore(home));
});

afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

/** Assembles a container folder in tmp/ as create does, with only the records. */
function assemble(name: string): { folder: string; config: ContainerConfig } {
  const folder = store.images.temporaryPath('container');
  fs.mkdirSync(folder);
  const config = { id: ContainerStore.newId(), name, created: new Date().toISOString() };
  fs.writeFileSync(path.join(folder, 'container.json'), JSON.stringify(config));
  fs.writeFileSync(path.join(folder, 'state.json'), JSON.stringify(newState()));
  return { folder, config: config as ContainerConfig };
}

describe('ContainerStore.commit', () => {
  test('a taken name: status 125 and the folder stays in tmp/', async () => {
    const first = assemble('web');
    await store.commit(first.folder, first.config);
    const second = assemble('web');
    await expect(store.commit(second.folder, second.config)).rejects.toMatchObject({
      exitStatus: 125,
      message: expect.stringContaining('the container name "/web" is already in use'),
    });
    expect(await store.ids()).toEqual([first.config.id]);
    expect(fs.existsSync(second.folder)).toBe(true);
  });

  test('a taken generated name is replaced', async () => {
    const first = assemble('calm_otter');
    await store.commit(first.folder, first.config);
    const second = assemble('calm_otter');
    await store.commit(second.folder, second.config, (taken) => {
      expect(taken).toEqual(new Set(['calm_otter']));
      return 'calm_otter1';
    });
    const stored = await store.get(second.config.id);
    expect(stored.config.name).toBe('calm_otter1');
    expect((await store.get('calm_otter')).config.id).toBe(first.config.id);
  });

  test('remove deletes the folder, and a second remove is a no-op', async () => {
    const { folder, config } = assemble('gone');
    await store.commit(folder, config);
    await store.remove(config.id);
    expect(await store.ids()).toEqual([]);
    await store.remove(config.id);
    await expect(store.get('gone')).rejects.toThrow('No such container: gone');
  });

  test('an ambiguous ID prefix is an error', async () => {
    // 17 IDs among 16 hex digits: two of them share their first digit.
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) {
      const { folder, config } = assemble(`container-${i}`);
      await store.commit(folder, config);
      ids.push(config.id);
    }
    const first = ids.map((id) => id[0]);
    const shared = first.find((digit, i) => first.indexOf(digit) !== i)!;
    await expect(store.find(shared)).rejects.toThrow('multiple containers match');
    expect((await store.find(ids[0]))?.config.name).toBe('container-0');
  });
});
