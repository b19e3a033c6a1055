import { commandText, formatTable, humanDuration, statusText } from '../../container/format';
import { Container } from '../../container/store';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { formatRows, parseListFormat } from '../list-format';
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
    {
      name: 'format',
      value: true,
      help: '"table" (default), "json" (one object a line), or a Go template such as "table {{.ID}}\\t{{.Names}}"',
    },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    if (parsed.positionals.length > 0) throw new UsageError('noah ps takes no arguments');
    const format = parseListFormat(optionValue(parsed, 'format'));
    const full = optionFlag(parsed, 'no-trunc');
    const all = await withImageErrors(async () => (await openContainerStore()).list());
    const shown = optionFlag(parsed, 'all') ? all : all.filter((c) => c.state.status === 'running');
    const id = (c: Container) => (full ? c.config.id : c.config.id.slice(0, 12));
    if (optionFlag(parsed, 'quiet')) {
      for (const container of shown) io.stdout.write(`${id(container)}\n`);
    } else if (format.kind === 'json') {
      for (const container of shown)
        io.stdout.write(JSON.stringify(jsonRow(container, id(container), full)) + '\n');
    } else if (format.kind === 'template') {
      const rows = shown.map((container) => jsonRow(container, id(container), full));
      io.stdout.write(formatRows(format, rows, HEADERS));
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

/** The column titles of a `ps --format "table ..."` header, by field. */
const HEADERS: Record<string, string> = {
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Labels: 'LABELS',
  LocalVolumes: 'LOCAL VOLUMES',
  Mounts: 'MOUNTS',
  Names: 'NAMES',
  Networks: 'NETWORKS',
  Ports: 'PORTS',
  RunningFor: 'CREATED',
  Size: 'SIZE',
  State: 'STATE',
  Status: 'STATUS',
};

/**
 * One container as `ps --format` reads it, with the keys and string values Docker prints. The
 * command is cut to 20 characters unless `full` (--no-trunc).
 */
function jsonRow(container: Container, id: string, full: boolean): Record<string, string> {
  return {
    Command: commandText(container, full),
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
