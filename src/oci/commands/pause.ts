import * as fs from 'node:fs';

import { expectArgs, parseFlags } from '../args';
import { Command } from '../context';
import { OciError } from '../errors';
import { openContainer } from '../state';
import { signalAll } from './delete';

/*
 * A container is paused by SIGSTOP to each of its host processes, which stops every vCPU
 * thread of each translator, and resumed by SIGCONT. The marker file beside state.json records
 * it. NOTE: unlike the cgroup freezer runc uses, a guest parent waiting with WUNTRACED is
 * notified when its children stop and continue.
 */

export const pause: Command = {
  name: 'pause',
  summary: 'stop every process of a container',
  async run(context, argv) {
    const parsed = parseFlags(argv, []);
    expectArgs('pause', parsed, 1);
    const { dir, record } = openContainer(context.root, parsed.positionals[0]);
    if (dir.status(record) !== 'running') throw new OciError('container not running');
    fs.writeFileSync(dir.pausedMarker, '');
    signalAll(dir.processes(record), 'SIGSTOP');
    return 0;
  },
};

export const resume: Command = {
  name: 'resume',
  summary: 'continue every process of a paused container',
  async run(context, argv) {
    const parsed = parseFlags(argv, []);
    expectArgs('resume', parsed, 1);
    const { dir, record } = openContainer(context.root, parsed.positionals[0]);
    if (dir.status(record) !== 'paused') throw new OciError('container not paused');
    signalAll(dir.processes(record), 'SIGCONT');
    fs.rmSync(dir.pausedMarker, { force: true });
    return 0;
  },
};
