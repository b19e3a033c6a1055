import * as fs from 'node:fs';

import { expectArgs, flagSet, flagValue, parseFlags } from '../args';
import { Command } from '../context';
import { OciError, errorMessage } from '../errors';
import { Logger } from '../log';
import { ContainerDir, OciState, ociState } from '../state';

/**
 * Formats rows as Go's text/tabwriter does for runc (minimum width 12, padding 3): each
 * column is as wide as its longest cell plus 3 spaces, and at least 12.
 */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, column) =>
    Math.max(12, ...rows.map((row) => row[column].length + 3)),
  );
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]))))
    .map((cells) => `${cells.join('')}\n`)
    .join('');
}

function ownerName(uid: number): string {
  try {
    const line = fs
      .readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[2] === String(uid));
    if (line !== undefined) return line.split(':')[0];
  } catch {
    // No passwd file: fall back to the number.
  }
  return `#${uid}`;
}

/** Reads the states of every container under the root, in the order of their ids. */
function listStates(root: string, logger: Logger): Array<{ state: OciState; owner: string }> {
  let names: string[];
  try {
    names = fs.readdirSync(root).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const states: Array<{ state: OciState; owner: string }> = [];
  for (const name of names) {
    try {
      const dir = new ContainerDir(root, name);
      if (!fs.existsSync(dir.stateFile)) continue; // being created, or a failed create
      const owner = ownerName(fs.statSync(dir.stateFile).uid);
      states.push({ state: ociState(dir, dir.read()), owner });
    } catch (error) {
      // One damaged or foreign entry must not hide the other containers.
      logger.warn(`skipped ${name} in ${root}: ${errorMessage(error)}`);
    }
  }
  return states;
}

export const list: Command = {
  name: 'list',
  summary: 'list the containers (--format table|json, --quiet for ids only)',
  async run(context, argv) {
    const parsed = parseFlags(argv, [
      { name: 'format', aliases: ['f'], value: true },
      { name: 'quiet', aliases: ['q'] },
    ]);
    expectArgs('list', parsed, 0);
    const format = flagValue(parsed, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new OciError(`invalid format option: ${format}`);
    }
    const states = listStates(context.root, context.logger);
    if (flagSet(parsed, 'quiet')) {
      process.stdout.write(states.map(({ state }) => `${state.id}\n`).join(''));
    } else if (format === 'json') {
      // runc prints null, not [], when there is no container.
      const entries = states.map(({ state, owner }) => ({ ...state, owner }));
      process.stdout.write(`${JSON.stringify(entries.length === 0 ? null : entries)}\n`);
    } else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
      for (const { state, owner } of states) {
        rows.push([state.id, String(state.pid), state.status, state.bundle, state.created, owner]);
      }
      process.stdout.write(formatTable(rows));
    }
    return 0;
  },
};
