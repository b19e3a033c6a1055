import { spawnSync } from 'node:child_process';

import { expectArgs, flagValue, parseFlags } from '../args';
import { Command } from '../context';
import { OciError } from '../errors';
import { openContainer } from '../state';

/**
 * Prints the lines of `ps ARGS` whose PID column is one of `pids`, under the header.
 * NOTE: the host's ps shows each process as its translator's command line, not the guest's.
 */
function printTable(pids: number[], psArgs: string[]): void {
  const result = spawnSync('ps', psArgs, { encoding: 'utf8' });
  if (result.error !== undefined) throw new OciError(`run ps: ${result.error.message}`);
  if (result.status !== 0) throw new OciError(`ps ${psArgs.join(' ')}: ${result.stderr.trim()}`);
  const [header, ...lines] = result.stdout.split('\n');
  const column = header.trim().split(/\s+/).indexOf('PID');
  if (column < 0) throw new OciError(`ps ${psArgs.join(' ')} printed no PID column`);
  const wanted = new Set(pids.map(String));
  const rows = lines.filter((line) => wanted.has(line.trim().split(/\s+/)[column]));
  process.stdout.write([header, ...rows].map((line) => `${line}\n`).join(''));
}

export const ps: Command = {
  name: 'ps',
  summary: "list a container's processes (--format table|json; more arguments go to ps)",
  async run(context, argv) {
    const parsed = parseFlags(argv, [{ name: 'format', aliases: ['f'], value: true }]);
    expectArgs('ps', parsed, 1, true);
    const format = flagValue(parsed, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new OciError(`invalid format option: ${format}`);
    }
    const { dir, record } = openContainer(context.root, parsed.positionals[0]);
    const pids = dir.processes(record);
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(pids)}\n`);
      return 0;
    }
    const psArgs = parsed.positionals.slice(1);
    printTable(pids, psArgs.length === 0 ? ['-ef'] : psArgs);
    return 0;
  },
};
