import { expectArgs, flagSet, parseFlags } from '../args';
import { Command } from '../context';
import { OciError } from '../errors';
import { parseSignal } from '../signals';
import { openContainer } from '../state';
import { signalAll } from './delete';

export const kill: Command = {
  name: 'kill',
  summary: 'send a signal (default SIGTERM) to the container process, --all to every one',
  async run(context, argv) {
    const parsed = parseFlags(argv, [{ name: 'all', aliases: ['a'] }]);
    expectArgs('kill', parsed, 1, true);
    if (parsed.positionals.length > 2) expectArgs('kill', parsed, 2);
    const signal = parseSignal(parsed.positionals[1] ?? 'SIGTERM');
    const { dir, record } = openContainer(context.root, parsed.positionals[0]);
    const all = flagSet(parsed, 'all');
    if (dir.status(record) === 'stopped') {
      // As runc 1.1: --all on a stopped container has nothing to do and succeeds.
      if (all) return 0;
      throw new OciError('container not running');
    }
    signalAll(all ? dir.processes(record) : [record.pid], signal);
    return 0;
  },
};
