import { referencesOf } from '../../image/images';
import { shortId, shortReference } from '../../image/manage';
import { ImageRecord } from '../../image/store';
import { optionFlag, optionValue, parseArgs } from '../args';
import { Command } from '../command';
import { UsageError } from '../errors';
import { formatRows, parseListFormat } from '../list-format';
import { openHomeStore, withImageErrors } from './image-errors';

/** One line of `noah images`. */
interface ImageRow {
  Repository: string;
  Tag: string;
  Digest: string;
  ID: string;
  CreatedAt: string;
  CreatedSince: string;
  Size: string;
}

/** The column titles of an `images --format "table ..."` header, by field. */
const HEADERS: Record<string, string> = {
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  CreatedAt: 'CREATED AT',
  CreatedSince: 'CREATED',
  Size: 'SIZE',
};

/** `noah images`: the stored images, one line per tag, as `docker images` lists them. */
export const imagesCommand: Command = {
  name: 'images',
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  summary: 'List images',
  options: [
    { name: 'quiet', short: 'q', help: 'print image IDs only' },
    { name: 'digests', help: 'show digests' },
    { name: 'all', short: 'a', help: 'show all images (noah keeps no intermediate ones)' },
    { name: 'no-trunc', help: 'print full image IDs' },
    {
      name: 'format',
      value: true,
      help: '"table" (default), "json" (one object a line), or a Go template such as "{{.Repository}}:{{.Tag}}"',
    },
  ],
  async run(argv, io) {
    const parsed = parseArgs(argv, this.options);
    const format = parseListFormat(optionValue(parsed, 'format'));
    if (parsed.positionals.length > 1) {
      throw new UsageError(
        `noah images takes at most one REPOSITORY[:TAG] argument, but got ${parsed.positionals.length}`,
      );
    }
    const filter = parsed.positionals[0];
    const noTrunc = optionFlag(parsed, 'no-trunc');
    return withImageErrors(async () => {
      const store = await openHomeStore();
      const repositories = await store.readRepositories();
      const records = (await store.listImages()).sort((a, b) =>
        (b.created ?? '').localeCompare(a.created ?? ''),
      );
      const rows: ImageRow[] = [];
      for (const record of records) {
        const refs = referencesOf(repositories, record.id);
        const digest = refs.digests[0]?.split('@')[1] ?? '<none>';
        const names = refs.tags.length > 0 ? refs.tags.map(shortReference) : ['<none>:<none>'];
        for (const name of names) {
          const colon = name.lastIndexOf(':');
          const row = makeRow(record, name.slice(0, colon), name.slice(colon + 1), digest, noTrunc);
          if (filter === undefined || matchesFilter(filter, row)) rows.push(row);
        }
      }
      if (optionFlag(parsed, 'quiet')) {
        const ids = [...new Set(rows.map((r) => r.ID))];
        io.stdout.write(ids.map((id) => id + '\n').join(''));
        return 0;
      }
      if (format.kind === 'json') {
        io.stdout.write(rows.map((row) => JSON.stringify(row) + '\n').join(''));
        return 0;
      }
      if (format.kind === 'template') {
        io.stdout.write(formatRows(format, rows, HEADERS));
        return 0;
      }
      const digests = optionFlag(parsed, 'digests');
      const header = [
        'REPOSITORY',
        'TAG',
        ...(digests ? ['DIGEST'] : []),
        'IMAGE ID',
        'CREATED',
        'SIZE',
      ];
      const table = rows.map((r) => [
        r.Repository,
        r.Tag,
        ...(digests ? [r.Digest] : []),
        r.ID,
        r.CreatedSince,
        r.Size,
      ]);
      io.stdout.write(formatTable([header, ...table]));
      return 0;
    });
  },
};

function makeRow(
  record: ImageRecord,
  repository: string,
  tag: string,
  digest: string,
  noTrunc: boolean,
): ImageRow {
  return {
    Repository: repository,
    Tag: tag,
    Digest: digest,
    ID: noTrunc ? record.id : shortId(record.id),
    CreatedAt: record.created ?? '',
    CreatedSince: record.created ? timeSince(new Date(record.created)) : 'N/A',
    Size: humanSize(record.size),
  };
}

function matchesFilter(filter: string, row: ImageRow): boolean {
  const colon = filter.lastIndexOf(':');
  if (colon > filter.lastIndexOf('/')) {
    return row.Repository === filter.slice(0, colon) && row.Tag === filter.slice(colon + 1);
  }
  return row.Repository === filter;
}

/** Pads columns three spaces apart, as Docker's tables are. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join(''),
    )
    .join('\n')
    .concat('\n');
}

/** Bytes in decimal units with three significant digits, as Docker prints sizes ("74.8MB"). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}

/** "3 days ago", in the coarse units Docker uses. */
export function timeSince(date: Date, now = new Date()): string {
  const seconds = Math.max(0, (now.getTime() - date.getTime()) / 1000);
  const steps: [number, string][] = [
    [365 * 86400, 'year'],
    [30 * 86400, 'month'],
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of steps) {
    const count = Math.floor(seconds / size);
    if (count >= 1) return `${count} ${name}${count > 1 ? 's' : ''} ago`;
  }
  return 'Less than a minute ago';
}
