import * as readline from 'node:readline';

import { CommandIo } from './command';
import { CliError, ExitStatus } from './errors';

/**
 * Prints `warning` and asks on the terminal whether to go on, as Docker's prune commands do.
 * Without a terminal there is no one to ask, so it raises an error that starts with `action`
 * and names --force.
 */
export async function confirmOnTerminal(
  io: CommandIo,
  warning: string,
  action: string,
): Promise<boolean> {
  if (process.stdin.isTTY !== true) {
    throw new CliError(
      `${action}, and standard input is not a terminal to confirm it: add --force to go on ` +
        'without confirmation',
      ExitStatus.usage,
    );
  }
  io.stdout.write(`${warning}\nAre you sure you want to continue? [y/N] `);
  const lines = readline.createInterface({ input: process.stdin });
  try {
    for await (const line of lines) return /^y(es)?$/i.test(line.trim());
    return false;
  } finally {
    lines.close();
  }
}
