import { commandText, formatTable, humanDuration, statusText } from '../../container/format';
import { Container } from '../../container/store';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { openContainerStore } from './container-store';
import { withImageErrors } from './image-errors';

/** `noah ps`: list containers with Docker's columns. */
export const psCommand: Command = {
  name: 'ps',
  usage: '[OPTIONS]',
  summary: 'List containers',
  options: [
    { name: 'all', short: 'a', help: 'list stopped containers too' },
    { name: 'quiet', short: 'q', help: 'print container IDs only' },
    { name: 'no-trunc', help: 'print full IDs and commands' },
    { name: 'format', value: true, help: '"table" (default) or "json", one object a line' },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 0) throw new UsageError('noah ps takes no arguments');
    const format = optionValue(parsed, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') {
      throw new UsageError(`invalid --format "${format}": use "table" or "json"`);
    }
    const full = optionFlag(parsed, 'no-trunc');
    const all = await withImageErrors(async () => (await openContainerStore()).list());
    const shown = optionFlag(parsed, 'all') ? all : all.filter((c) => c.state.status === 'running');
    const id = (c: Container) => (full ? c.config.id : c.config.id.slice(0, 12));
    if (optionFlag(parsed, 'quiet')) {
      for (const container of shown) io.stdout.write(`${id(container)}\n`);
    } else if (format === 'json') {
      for (const container of shown)
        io.stdout.write(JSON.stringify(jsonRow(container, id(container))) + '\n');
    } else {
      const rows = shown.map((c) => [
        id(c),
        c.config.imageName,
        commandText(c, full),
        `${humanDuration(Date.now() - Date.parse(c.config.created))} ago`,
        statusText(c),
        '',
        c.config.name,
      ]);
      const headers = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
      io.stdout.write(formatTable(headers, rows));
    }
    return 0;
  },
};

/** One line of `ps --format json`, with the keys and string values Docker prints. */
function jsonRow(container: Container, id: string): Record<string, string> {
  return {
    Command: commandText(container, true),
    CreatedAt: container.config.created,
    ID: id,
    Image: container.config.imageName,
    Labels: '',
    LocalVolumes: '0',
    Mounts: container.config.mounts.map((m) => m.source).join(','),
    Names: container.config.name,
    Networks: 'host',
    Ports: '',
    RunningFor: `${humanDuration(Date.now() - Date.parse(container.config.created))} ago`,
    Size: '0B',
    State: container.state.status,
    Status: statusText(container),
  };
}
