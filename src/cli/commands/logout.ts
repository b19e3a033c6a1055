import { eraseCredentials } from '../../image/credentials';
import { parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { withImageErrors } from './image-errors';
import { loginDomain } from './login';

/** `noah logout`: removes the saved credentials of a registry. */
export const logoutCommand: Command = {
  name: 'logout',
  usage: '[SERVER]',
  summary: 'Remove the saved credentials of a registry',
  options: [],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 1) throw new UsageError('noah logout takes at most one server');
    const domain = loginDomain(parsed.positionals[0]);
    return withImageErrors(async () => {
      const removed = await eraseCredentials(domain);
      io.stdout.write(
        removed ? `Removing login credentials for ${domain}\n` : `Not logged in to ${domain}\n`,
      );
      return 0;
    });
  },
};
