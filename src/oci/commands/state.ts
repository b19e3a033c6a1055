import { expectArgs, parseFlags } from '../args';
import { Command } from '../context';
import { ociState, openContainer } from '../state';

export const state: Command = {
  name: 'state',
  summary: 'print the state of a container as JSON',
  async run(context, argv) {
    const parsed = parseFlags(argv, []);
    expectArgs('state', parsed, 1);
    const { dir, record } = openContainer(context.root, parsed.positionals[0]);
    process.stdout.write(`${JSON.stringify(ociState(dir, record), null, 2)}\n`);
    return 0;
  },
};
