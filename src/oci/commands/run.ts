import { expectArgs, flagSet, flagValue, parseFlags } from '../args';
import { Command } from '../context';
import { exitStatus, forwardSignals } from '../launch';
import { createContainer, createFlags, warnUnsupportedFlags } from './create';
import { removeContainer } from './delete';
import { startContainer } from './start';

export const run: Command = {
  name: 'run',
  summary: 'create and start a container; without --detach wait for it and delete it',
  async run(context, argv) {
    const parsed = parseFlags(argv, [
      ...createFlags,
      { name: 'detach', aliases: ['d'] },
      { name: 'keep' },
    ]);
    expectArgs('run', parsed, 1);
    warnUnsupportedFlags(parsed, context.logger);
    const id = parsed.positionals[0];
    const created = await createContainer(context, id, flagValue(parsed, 'bundle') ?? '.', {
      pidFile: flagValue(parsed, 'pid-file'),
      consoleSocket: flagValue(parsed, 'console-socket'),
      relayTerminal: !flagSet(parsed, 'detach'),
    });
    const stopForwarding = forwardSignals(created.record.pid);
    try {
      await startContainer(context, id);
    } catch (error) {
      stopForwarding();
      created.child.kill('SIGKILL');
      await exitStatus(created.child);
      await removeContainer(context, created.dir, created.record);
      throw error;
    }
    if (flagSet(parsed, 'detach')) {
      stopForwarding();
      created.child.unref();
      return 0;
    }
    const status = await exitStatus(created.child);
    stopForwarding();
    if (!flagSet(parsed, 'keep')) await removeContainer(context, created.dir, created.record);
    return status;
  },
};
