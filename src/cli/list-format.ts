import { CliError, ExitStatus } from './errors';
import { Template, TemplateExecError, TemplateParseError } from './template';

/**
 * The --format of a listing command (`ps`, `images`) as Docker reads it: "table" or nothing
 * for the command's own table, "json" for one object a line, "table TEMPLATE" for a template
 * with a header row and aligned columns, or a bare TEMPLATE run once per row.
 */
export type ListFormat =
  { kind: 'table' } | { kind: 'json' } | { kind: 'template'; template: Template; table: boolean };

/**
 * Parses a --format value. As Docker does, the two-character sequences `\t` and `\n` in a
 * template become a tab and a newline, so a shell's single quotes can carry them.
 */
export function parseListFormat(value: string | undefined): ListFormat {
  if (value === undefined || value === '' || value === 'table') return { kind: 'table' };
  if (value === 'json') return { kind: 'json' };
  const table = value.startsWith('table');
  const text = (table ? value.slice('table'.length) : value)
    .replace(/^ +| +$/g, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  return { kind: 'template', template: parseTemplate(text), table };
}

/** Parses `text` as a template, failing as Docker does with "template parsing error". */
export function parseTemplate(text: string): Template {
  try {
    return Template.parse(text);
  } catch (error) {
    if (error instanceof TemplateParseError) {
      throw new CliError(`template parsing error: ${error.message}`, ExitStatus.failure);
    }
    throw error;
  }
}

/** Runs `template` on `data`; a field the data lacks is an error with exit status 1. */
export function executeTemplate(template: Template, data: unknown): string {
  try {
    return template.execute(data);
  } catch (error) {
    if (error instanceof TemplateExecError) {
      throw new CliError(`template parsing error: ${error.message}`, ExitStatus.failure);
    }
    throw error;
  }
}

/**
 * Formats `rows` with a template format: one line per row, and for "table" a header row from
 * `headers` (field name to column title) with the columns aligned.
 */
export function formatRows(
  format: Extract<ListFormat, { kind: 'template' }>,
  rows: object[],
  headers: Record<string, string>,
): string {
  const lines = rows.map((row) => executeTemplate(format.template, row) + '\n').join('');
  if (!format.table) return lines;
  return alignTabs(format.template.executeHeader(headers) + '\n' + lines);
}

/**
 * Aligns tab-separated cells as Go's text/tabwriter does with the settings of Docker's tables
 * (minimum cell width 10, padding 3, spaces): each tab ends a cell, and a column is as wide as
 * its widest cell plus the padding over each run of lines that have a cell in it.
 */
export function alignTabs(text: string): string {
  const lines = text.split('\n').map((line) => line.split('\t'));
  const widths = lines.map((cells) => new Array<number>(cells.length - 1).fill(0));
  sizeColumn(lines, widths, 0, lines.length, 0);
  return lines
    .map((cells, i) =>
      cells.map((cell, j) => (j < widths[i].length ? padCell(cell, widths[i][j]) : cell)).join(''),
    )
    .join('\n');
}

const MIN_WIDTH = 10;
const PADDING = 3;

function padCell(cell: string, width: number): string {
  return cell + ' '.repeat(Math.max(0, width - [...cell].length));
}

/** Sets the width of `column` for each block of lines from `start` to `end` that has it. */
function sizeColumn(
  lines: string[][],
  widths: number[][],
  start: number,
  end: number,
  column: number,
): void {
  let line = start;
  while (line < end) {
    if (column >= widths[line].length) {
      line++;
      continue;
    }
    let blockEnd = line;
    let width = MIN_WIDTH;
    while (blockEnd < end && column < widths[blockEnd].length) {
      width = Math.max(width, [...lines[blockEnd][column]].length + PADDING);
      blockEnd++;
    }
    for (let i = line; i < blockEnd; i++) widths[i][column] = width;
    sizeColumn(lines, widths, line, blockEnd, column + 1);
    line = blockEnd;
  }
}
