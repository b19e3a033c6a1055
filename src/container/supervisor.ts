/**
 * The supervisor of a detached container, started by `startDetached` as
 * `node supervisor.js ID` in a session of its own. It runs the container's command with its
 * output in the container's logs, records the exit status, and removes an --rm container.
 * Errors go to the container's stderr.log, the only output a detached container has.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noahHome } from '../home';
import { openStore } from '../image/store';
import { superviseDetached } from './lifecycle';
import { ContainerStore } from './store';

async function main(id: string): Promise<void> {
  const store = new ContainerStore(await openStore(noahHome()));
  try {
    await superviseDetached(store, id);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    fs.appendFileSync(path.join(store.dir(id), 'stderr.log'), `noah supervisor: ${message}\n`);
    process.exitCode = 125;
  }
}

const id = process.argv[2];
if (id === undefined || !/^[0-9a-f]{64}$/.test(id)) {
  process.stderr.write('usage: supervisor.js CONTAINER-ID\n');
  process.exitCode = 125;
} else {
  void main(id);
}
