/**
 * The supervisor of a detached container, started by `startDetached` as
 * `node supervisor.js ID` in a session of its own. It runs the container's command with its
 * output in the container's logs, reports on descriptor 3 whether the program was loaded,
 * records the exit status, and removes an --rm container.
 * Errors go to the container's stderr.log, the only output a detached container has.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { noahHome } from '../home';
import { openStore } from '../image/store';
import { StartReport, superviseDetached } from './lifecycle';
import { ContainerStore } from './store';

/** The descriptor of the pipe to `startDetached`, which waits for one StartReport line. */
const REPORT_FD = 3;

function sendReport(report: StartReport): void {
  try {
    fs.writeSync(REPORT_FD, JSON.stringify(report) + '\n');
    fs.closeSync(REPORT_FD);
  } catch {
    // The starting command has gone (killed, or its terminal closed), so no one reads this.
  }
}

async function main(id: string): Promise<void> {
  const store = new ContainerStore(await openStore(noahHome()));
  try {
    await superviseDetached(store, id, sendReport);
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
