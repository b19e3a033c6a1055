/** The results of one bench run, and their rendering as terminal tables, JSON and Markdown. */
import { Counters, formatCounters } from './counters';
import { Summary } from './statistics';

/** What one tool measured on one workload: a summary, or why it has none. */
export interface Cell {
  samples: number[];
  summary?: Summary;
  /** The tool's median over native's median from the same run. */
  ratio?: number;
  error?: string;
}

export interface WorkloadResult {
  id: string;
  title: string;
  unit: 'ms' | 'ns';
  command: string;
  cells: Record<string, Cell>;
  /** noah's counters from one extra run with NOAH_STATS=1, when --counters is given. */
  counters?: Counters;
}

export interface ToolResult {
  name: string;
  version: string;
  note?: string;
  /** Why the tool ran no workload, when it failed its start-up check. */
  error?: string;
}

export interface Machine {
  cpuModel: string;
  cores: number;
  kernel: string;
  kvmPlatform: string;
  memoryGiB: number;
}

export interface BenchResults {
  date: string;
  command: string;
  quick: boolean;
  runsPerTool: number;
  durationSeconds: number;
  machine: Machine;
  roots: Record<string, string>;
  tools: ToolResult[];
  workloads: WorkloadResult[];
}

function formatValue(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function ratioText(cell: Cell | undefined): string {
  if (cell === undefined) return '-';
  if (cell.error !== undefined) return cell.error.startsWith('timed out') ? 'timeout' : 'failed';
  if (cell.ratio === undefined) return '-';
  return `${cell.ratio >= 10 ? cell.ratio.toFixed(0) : cell.ratio.toFixed(2)}x`;
}

function absoluteText(cell: Cell | undefined, unit: string): string {
  if (cell?.summary === undefined) return ratioText(cell);
  const { median, spreadPercent } = cell.summary;
  return `${formatValue(median)} ${unit} ±${spreadPercent.toFixed(0)}%`;
}

/** Rows of cells as columns padded to their widest cell, the first column left-aligned. */
function alignColumns(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]),
      )
      .join('  ')
      .trimEnd(),
  );
}

function markdownTable(rows: string[][]): string[] {
  const [header, ...body] = rows;
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)];
}

/** The ratio table: native's median, then each tool's median over native's. */
function ratioRows(results: BenchResults): string[][] {
  const others = results.tools.filter((tool) => tool.name !== 'native');
  const rows = [['workload', 'native', ...others.map((tool) => tool.name)]];
  for (const workload of results.workloads) {
    const native = workload.cells.native;
    const nativeText =
      native?.summary !== undefined
        ? `${formatValue(native.summary.median)} ${workload.unit}`
        : ratioText(native);
    rows.push([
      workload.title,
      nativeText,
      ...others.map((tool) => ratioText(workload.cells[tool.name])),
    ]);
  }
  return rows;
}

/** The absolute table: each tool's median and relative spread. */
function absoluteRows(results: BenchResults): string[][] {
  const rows = [['workload', ...results.tools.map((tool) => tool.name)]];
  for (const workload of results.workloads) {
    rows.push([
      workload.title,
      ...results.tools.map((tool) => absoluteText(workload.cells[tool.name], workload.unit)),
    ]);
  }
  return rows;
}

/** One line per tool failure, for the notes under a table. */
function failureLines(results: BenchResults): string[] {
  const lines: string[] = [];
  for (const tool of results.tools) {
    if (tool.error !== undefined) {
      lines.push(`${tool.name}: ran no workload: ${tool.error}`);
      continue;
    }
    for (const workload of results.workloads) {
      const error = workload.cells[tool.name]?.error;
      if (error !== undefined) lines.push(`${tool.name} on ${workload.id}: ${error}`);
    }
  }
  return lines;
}

function toolLines(results: BenchResults): string[] {
  return results.tools.map((tool) => {
    const version = tool.version === '' ? 'not installed' : tool.version;
    return tool.note === undefined
      ? `${tool.name}: ${version}`
      : `${tool.name}: ${version}; ${tool.note}`;
  });
}

/** Formats the results for the terminal. */
export function terminalReport(results: BenchResults): string {
  const out: string[] = [];
  out.push(`ratio to native (median of ${results.runsPerTool} runs each, taken interleaved):`);
  out.push(...alignColumns(ratioRows(results)));
  out.push('', 'medians and spread (half the interquartile range over the median):');
  out.push(...alignColumns(absoluteRows(results)));
  const failures = failureLines(results);
  if (failures.length > 0) out.push('', 'failures:', ...failures.map((line) => `  ${line}`));
  out.push('', 'tools:', ...toolLines(results).map((line) => `  ${line}`));
  const counted = results.workloads.filter((workload) => workload.counters !== undefined);
  if (counted.length > 0) {
    out.push('', 'noah counters (one extra run of each row with NOAH_STATS=1):');
    for (const workload of counted) {
      out.push(`  ${workload.title}:`);
      out.push(...formatCounters(workload.counters!).map((line) => `    ${line}`));
    }
  }
  out.push(
    '',
    'Absolute times compare only within one run on one machine; compare ratios across runs.',
  );
  return out.join('\n');
}

/** Formats the results as the BENCHMARKS.md page. */
export function markdownReport(results: BenchResults, reproduce: string): string {
  const { machine } = results;
  const out: string[] = [
    '# Benchmarks',
    '',
    'The latest run of `npm run bench`: every workload runs inside the same root filesystem ' +
      '(the debian test fixture, a bookworm minbase root; the build row uses the same root ' +
      'with build-essential) under each tool. Each cell is the median of the runs taken in ' +
      'this one bench run, interleaved across tools after one warm-up run each, so drift of ' +
      'the shared machine affects every tool alike.',
    '',
    '**Absolute times compare only within one run on one machine.** Compare the ratios to ' +
      'native across machines and runs.',
    '',
    `- date: ${results.date}`,
    `- machine: ${machine.cores} cores, ${machine.cpuModel}, ${machine.memoryGiB} GiB, ` +
      `Linux ${machine.kernel}; /dev/kvm is ${machine.kvmPlatform === 'pvm' ? 'PVM (kvm_pvm, paravirtual KVM inside a VM)' : machine.kvmPlatform}`,
    `- runs: ${results.runsPerTool} per tool and row after a warm-up (fewer where a slow cell ` +
      'exceeded its time budget; the run count of each cell is in the JSON)' +
      `${results.quick ? '; quick mode, with shorter loops' : ''}`,
    `- duration of the whole bench run: ${(results.durationSeconds / 60).toFixed(1)} min`,
    `- reproduce (as root, after \`npm install\`): \`${reproduce}\``,
    '',
    '## Ratio to native',
    '',
    "native is the median time; the other columns are that tool's median over native's " +
      '(lower is better, 1.00x is native speed).',
    '',
    ...markdownTable(ratioRows(results)),
    '',
    '## Medians and spread',
    '',
    'Spread is half the interquartile range over the median.',
    '',
    ...markdownTable(absoluteRows(results)),
    '',
  ];
  const failures = failureLines(results);
  if (failures.length > 0) {
    out.push('## Failures', '', ...failures.map((line) => `- ${line}`), '');
  }
  out.push('## Tools', '', ...toolLines(results).map((line) => `- ${line}`), '');
  const counted = results.workloads.filter((workload) => workload.counters !== undefined);
  if (counted.length > 0) {
    out.push(
      '## noah counters',
      '',
      'From one extra run of each row under noah with `NOAH_STATS=1`.',
      '',
    );
    for (const workload of counted) {
      out.push(`- ${workload.title}:`);
      out.push(...formatCounters(workload.counters!).map((line) => `  - ${line}`));
    }
    out.push('');
  }
  return out.join('\n');
}
